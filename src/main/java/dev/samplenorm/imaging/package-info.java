/**
 * Decoding images handed over by users within limits checked in Java before OpenCV sees them:
 * {@link dev.samplenorm.imaging.ImageDecoder} reads width and height from the PNG or JPEG header
 * and refuses anything over a pixel limit before it is decompressed.
 *
 * <p>This package depends on OpenCV only; nothing in samplenorm's other packages is needed.
 */
package dev.samplenorm.imaging;
