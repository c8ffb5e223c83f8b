package dev.samplenorm.imaging;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.testing.Golden;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.junit.jupiter.api.Test;

/** Decoding PNG and JPEG bytes within limits read from the header before OpenCV decodes anything. */
class ImageDecoderTest {

    private static byte[] sketch() throws IOException {
        return Files.readAllBytes(Golden.MODELS.resolve("samples/sketch_01.png"));
    }

    private static byte[] encode(String ext, int w, int h) {
        try (Mat m = new Mat(h, w, CV_8UC3, new Scalar(10, 200, 30, 0)); BytePointer buf = new BytePointer()) {
            assertTrue(imencode(ext, m, buf));
            byte[] b = new byte[(int) buf.limit()];
            buf.get(b);
            return b;
        }
    }

    /** A PNG whose IHDR claims {@code w x h}; the rest of the file is the sketch's. */
    private static byte[] pngClaiming(long w, long h) throws IOException {
        byte[] b = sketch();
        ByteBuffer.wrap(b).putInt(16, (int) w).putInt(20, (int) h);
        return b;
    }

    @Test
    void aPngIsDecodedToEightBitBgrOfTheSizeItsHeaderStates() throws IOException {
        byte[] png = sketch();
        ImageDecoder.Header h = ImageDecoder.defaults().header(png);
        assertEquals(ImageDecoder.Format.PNG, h.format());
        try (Mat m = ImageDecoder.defaults().decode(png)) {
            assertEquals(CV_8UC3, m.type());
            assertEquals(h.width(), m.cols());
            assertEquals(h.height(), m.rows());
        }
    }

    @Test
    void aJpegsSizeIsReadFromItsFrameHeader() {
        for (String ext : new String[] {".jpg", ".png"}) {
            byte[] b = encode(ext, 37, 21);
            ImageDecoder.Header h = ImageDecoder.defaults().header(b);
            assertEquals(37, h.width(), ext);
            assertEquals(21, h.height(), ext);
            try (Mat m = ImageDecoder.defaults().decode(b)) {
                assertEquals(37, m.cols());
                assertEquals(21, m.rows());
            }
        }
    }

    @Test
    void anImageOverThePixelLimitIsRefusedBeforeDecoding() throws IOException {
        // 100000 x 100000 claimed by a 600-byte file: OpenCV would try to allocate 30 GB.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageDecoder.defaults().decode(pngClaiming(100_000, 100_000)));
        assertTrue(e.getMessage().contains("PNG of 100000 x 100000 = 10000000000 pixels; expected at most "
                + ImageDecoder.DEFAULT_MAX_PIXELS), e.getMessage());
        ImageDecoder small = ImageDecoder.withLimits(20 * 20, 1 << 20);
        e = assertThrows(IllegalArgumentException.class, () -> small.decode(encode(".jpg", 21, 20)));
        assertTrue(e.getMessage().contains("JPEG of 21 x 20 = 420 pixels; expected at most 400"), e.getMessage());
        try (Mat ok = small.decode(encode(".jpg", 20, 20))) {
            assertEquals(400, ok.total());
        }
    }

    @Test
    void aPngHeaderWithAZeroOrNegativeExtentIsRefused() throws IOException {
        for (long[] wh : new long[][] {{0, 5}, {5, 0}, {0x80000000L, 1}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ImageDecoder.defaults().header(pngClaiming(wh[0], wh[1])));
            assertTrue(e.getMessage().contains("expected extents from 1 to 2^31 - 1"), e.getMessage());
        }
    }

    @Test
    void bytesThatAreNeitherPngNorJpegAreRefusedNamingWhatWasExpected() {
        for (byte[] b : new byte[][] {"hello".getBytes(), encode(".bmp", 4, 4), {(byte) 0x89, 'P', 'N'}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageDecoder.defaults().decode(b));
            assertTrue(e.getMessage().contains("expected a PNG or JPEG file"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageDecoder.defaults().decode(new byte[0]));
        assertTrue(e.getMessage().contains("got none"), e.getMessage());
    }

    @Test
    void truncatedAndDamagedFilesAreRefusedWithoutACrash() throws IOException {
        byte[] png = sketch(), jpg = encode(".jpg", 16, 16);
        for (byte[] b : new byte[][] {Arrays.copyOf(png, 20), Arrays.copyOf(png, png.length / 2), Arrays.copyOf(jpg, 4),
            Arrays.copyOf(jpg, jpg.length / 2)}) {
            try (Mat m = ImageDecoder.defaults().decode(b)) {
                // libjpeg decodes a truncated scan with gray fill; what comes back still honours the limits.
                assertEquals(CV_8UC3, m.type());
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage().startsWith("image: "), expected.getMessage());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> ImageDecoder.defaults().decode(Arrays.copyOf(png, 20)),
                "a PNG cut inside its IHDR chunk");
    }

    @Test
    void aFileOverTheByteLimitIsRefusedAndLimitsAreValidated() throws IOException {
        ImageDecoder tiny = ImageDecoder.withLimits(1 << 20, 100);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tiny.decode(sketch()));
        assertTrue(e.getMessage().contains("bytes; expected at most 100"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ImageDecoder.withLimits(0, 10));
        assertThrows(IllegalArgumentException.class, () -> ImageDecoder.withLimits((1L << 30) + 1, 10));
        assertThrows(IllegalArgumentException.class, () -> ImageDecoder.withLimits(10, 0));
        assertThrows(NullPointerException.class, () -> ImageDecoder.defaults().decode(null));
    }
}
