package dev.samplenorm.imaging;

import static org.bytedeco.opencv.global.opencv_core.CV_8U;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;

import java.util.Objects;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Decodes PNG and JPEG bytes handed over by users (files, HTTP request bodies) into 8-bit BGR
 * Mats, within limits checked in Java before OpenCV sees a byte: the encoded size, the format (PNG
 * or JPEG only, recognised by signature), and the width and height read from the PNG {@code IHDR}
 * chunk or the JPEG frame header. An image over the pixel limit is refused before it is
 * decompressed, so a small file that claims a huge image cannot make OpenCV allocate gigabytes.
 *
 * <p>Immutable and thread-safe. Every refusal is an {@link IllegalArgumentException} whose message
 * says what was expected.
 */
public final class ImageDecoder {

    /** Default pixel limit: 2^26 (67 M) pixels, e.g. 8192 x 8192; OpenCV's own limit is 2^30. */
    public static final long DEFAULT_MAX_PIXELS = 1L << 26;

    /** Default limit on the encoded size: 256 MiB. */
    public static final int DEFAULT_MAX_BYTES = 256 << 20;

    /** The formats decoded. */
    public enum Format {
        PNG, JPEG
    }

    /** What the header says: format, width and height in pixels. */
    public record Header(Format format, int width, int height) {
        public long pixels() {
            return (long) width * height;
        }
    }

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    private static final ImageDecoder DEFAULTS = new ImageDecoder(DEFAULT_MAX_PIXELS, DEFAULT_MAX_BYTES);

    private final long maxPixels;
    private final int maxBytes;

    private ImageDecoder(long maxPixels, int maxBytes) {
        this.maxPixels = maxPixels;
        this.maxBytes = maxBytes;
    }

    /** {@link #DEFAULT_MAX_PIXELS} and {@link #DEFAULT_MAX_BYTES}. */
    public static ImageDecoder defaults() {
        return DEFAULTS;
    }

    /**
     * A decoder with its own limits.
     *
     * @param maxPixels most pixels (width x height) of an image, 1 to 2^30 (OpenCV's own ceiling)
     * @param maxBytes most bytes of an encoded image, at least 1
     */
    public static ImageDecoder withLimits(long maxPixels, int maxBytes) {
        if (maxPixels < 1 || maxPixels > 1L << 30) {
            throw new IllegalArgumentException("maxPixels: expected 1 to 2^30 (OpenCV's own limit), got " + maxPixels);
        }
        if (maxBytes < 1) throw new IllegalArgumentException("maxBytes: expected at least 1, got " + maxBytes);
        return new ImageDecoder(maxPixels, maxBytes);
    }

    public long maxPixels() {
        return maxPixels;
    }

    public int maxBytes() {
        return maxBytes;
    }

    /**
     * Reads format, width and height from the header, without decoding, and checks them against
     * the limits.
     *
     * @throws IllegalArgumentException if the bytes are not a PNG or JPEG within the limits
     */
    public Header header(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        if (bytes.length == 0) throw new IllegalArgumentException("image: expected PNG or JPEG bytes, got none");
        if (bytes.length > maxBytes) {
            throw new IllegalArgumentException("image: " + bytes.length + " bytes; expected at most " + maxBytes);
        }
        Header h = readHeader(bytes);
        if (h.pixels() > maxPixels) {
            throw new IllegalArgumentException("image: " + h.format() + " of " + h.width() + " x " + h.height() + " = " + h.pixels()
                    + " pixels; expected at most " + maxPixels);
        }
        return h;
    }

    /**
     * Reads format, width and height from the header of PNG or JPEG bytes, without decoding and
     * without limits: the one header reader of the project (the CLI, the serving runtime and
     * {@link #header} use it).
     *
     * @throws IllegalArgumentException if the bytes are not a PNG or JPEG with a readable header
     */
    public static Header readHeader(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        if (startsWith(bytes, PNG_SIGNATURE)) return png(bytes);
        if (isJpeg(bytes)) return jpeg(bytes);
        throw new IllegalArgumentException("image: expected a PNG or JPEG file, the bytes start with neither signature");
    }

    /** Whether the bytes start with a PNG or JPEG signature. */
    public static boolean isPngOrJpeg(byte[] bytes) {
        return startsWith(bytes, PNG_SIGNATURE) || isJpeg(bytes);
    }

    private static boolean isJpeg(byte[] b) {
        return b.length >= 3 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8 && (b[2] & 0xff) == 0xff;
    }

    /**
     * Decodes the image as 8-bit, 3-channel BGR (OpenCV's {@code IMREAD_COLOR}: gray is expanded,
     * alpha dropped, 16-bit scaled, EXIF orientation applied).
     *
     * @return a new Mat owned by the caller
     * @throws IllegalArgumentException if the bytes are not a PNG or JPEG within the limits, or
     *     OpenCV cannot decode them
     */
    public Mat decode(byte[] bytes) {
        Header h = header(bytes);
        Mat image;
        try (BytePointer data = new BytePointer(bytes); Mat buffer = new Mat(1, bytes.length, CV_8U, data)) {
            image = imdecode(buffer, IMREAD_COLOR);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("image: OpenCV cannot decode this " + h.format() + " (" + h.width() + " x "
                    + h.height() + "): " + oneLine(e.getMessage()), e);
        }
        if (image == null || image.isNull() || image.empty()) {
            if (image != null) image.close();
            throw new IllegalArgumentException("image: OpenCV cannot decode this " + h.format() + " (" + h.width() + " x "
                    + h.height() + "); the file is damaged or uses a feature the decoder lacks");
        }
        if ((long) image.rows() * image.cols() > maxPixels) {
            // Only if the header scan and the decoder disagree; never leave such a Mat to the caller.
            long px = (long) image.rows() * image.cols();
            image.close();
            throw new IllegalArgumentException("image: decoded to " + px + " pixels; expected at most " + maxPixels);
        }
        return image;
    }

    private static Header png(byte[] b) {
        // Signature, then the IHDR chunk: length 13, "IHDR", width, height (big-endian, 1 to 2^31 - 1).
        if (b.length < 8 + 8 + 13) {
            throw new IllegalArgumentException("image: truncated PNG, " + b.length + " bytes; expected at least a complete IHDR chunk");
        }
        if (int32(b, 8) != 13 || b[12] != 'I' || b[13] != 'H' || b[14] != 'D' || b[15] != 'R') {
            throw new IllegalArgumentException("image: PNG without an IHDR chunk of 13 bytes first; expected one, as every PNG has");
        }
        long w = int32(b, 16) & 0xffffffffL, h = int32(b, 20) & 0xffffffffL;
        if (w < 1 || h < 1 || w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("image: PNG header says " + w + " x " + h + "; expected extents from 1 to 2^31 - 1");
        }
        return new Header(Format.PNG, (int) w, (int) h);
    }

    private static Header jpeg(byte[] b) {
        int p = 2;
        while (p + 4 <= b.length) {
            if ((b[p] & 0xff) != 0xff) {
                throw new IllegalArgumentException("image: damaged JPEG, no marker at byte " + p + "; expected 0xFF there");
            }
            int marker = b[p + 1] & 0xff;
            if (marker == 0xff) { // fill byte
                p++;
                continue;
            }
            if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { // standalone markers
                p += 2;
                continue;
            }
            if (marker == 0xd9 || marker == 0xda) {
                throw new IllegalArgumentException("image: JPEG without a frame header before its scan data; expected an SOF marker");
            }
            int length = ((b[p + 2] & 0xff) << 8) | (b[p + 3] & 0xff);
            if (length < 2) throw new IllegalArgumentException("image: damaged JPEG, segment length " + length + " at byte " + p);
            boolean sof = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
            if (sof) {
                if (length < 8 || p + 9 > b.length) {
                    throw new IllegalArgumentException("image: truncated JPEG frame header at byte " + p);
                }
                int h = ((b[p + 5] & 0xff) << 8) | (b[p + 6] & 0xff), w = ((b[p + 7] & 0xff) << 8) | (b[p + 8] & 0xff);
                if (w < 1 || h < 1) {
                    throw new IllegalArgumentException("image: JPEG frame header says " + w + " x " + h
                            + "; expected both extents from 1 to 65535 (a height given later by a DNL marker is not supported)");
                }
                return new Header(Format.JPEG, w, h);
            }
            p += 2 + length;
        }
        throw new IllegalArgumentException("image: truncated JPEG, " + b.length + " bytes without a frame header; expected an SOF"
                + " marker");
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        if (b.length < prefix.length) return false;
        for (int i = 0; i < prefix.length; i++) if (b[i] != prefix[i]) return false;
        return true;
    }

    private static int int32(byte[] b, int at) {
        return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
    }

    private static String oneLine(String s) {
        return String.valueOf(s).replaceAll("\\s*\\n\\s*", " | ").strip();
    }

    @Override
    public String toString() {
        return "ImageDecoder{maxPixels=" + maxPixels + ", maxBytes=" + maxBytes + "}";
    }
}
