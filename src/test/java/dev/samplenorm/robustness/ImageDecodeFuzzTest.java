package dev.samplenorm.robustness;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.samplenorm.imaging.ImageDecoder;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Fuzzes image decoding with limits: any bytes give an 8-bit BGR image within the pixel limit, or
 * an {@link IllegalArgumentException}. The limit here (2^20 pixels) keeps each execution fast;
 * the header checks are the same at any limit.
 *
 * <p>Regression inputs: {@code ImageDecodeFuzzTestInputs/imageBytesAreRefusedOrDecoded/} (the
 * sample sketches, a JPEG, and every finding).
 */
class ImageDecodeFuzzTest {

    private static final ImageDecoder DECODER = ImageDecoder.withLimits(1 << 20, 16 << 20);

    @FuzzTest(maxDuration = "10m")
    void imageBytesAreRefusedOrDecoded(byte[] bytes) {
        FuzzSupport.recordInput(bytes);
        ImageDecoder.Header header;
        try {
            header = DECODER.header(bytes);
        } catch (IllegalArgumentException e) {
            return;
        }
        assertTrue(header.pixels() <= DECODER.maxPixels(), header.toString());
        Mat image;
        try {
            image = DECODER.decode(bytes);
        } catch (IllegalArgumentException e) {
            return;
        }
        try (image) {
            assertEquals(CV_8UC3, image.type());
            assertTrue((long) image.rows() * image.cols() <= DECODER.maxPixels(), image.rows() + " x " + image.cols());
        }
    }
}
