package dev.samplenorm.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;

/**
 * The width and height an image file declares, read from its header without decoding the pixels,
 * so that an oversized image (a decompression bomb) is refused before OpenCV allocates for it.
 * PNG, JPEG, BMP and TIFF headers are read by the JDK's image readers; PNM and WebP here.
 */
final class ImageHeaders {

    /**
     * Largest image samplenorm translates: 2^26 pixels (8192 x 8192). A generator needs far more
     * memory per pixel than the image itself, and OpenCV's own limit (2^30 pixels) is past what a
     * 16 GB machine can translate.
     */
    static final long MAX_PIXELS = 1L << 26;

    /** Width and height in pixels. */
    record Size(long width, long height) {
        long pixels() {
            return width * height;
        }
    }

    private ImageHeaders() {}

    /**
     * Refuses an image whose header declares more than {@link #MAX_PIXELS} pixels. An unreadable
     * header passes: OpenCV then reports the file as undecodable (and applies its own limits).
     */
    static void checkSize(Path image) {
        Size s;
        try {
            s = read(image);
        } catch (IOException | RuntimeException e) {
            return;
        }
        if (s != null && (s.width() > MAX_PIXELS || s.height() > MAX_PIXELS || s.pixels() > MAX_PIXELS)) {
            throw new UserError("image " + image + " declares " + s.width() + "x" + s.height() + " pixels; samplenorm translates images"
                    + " of at most " + MAX_PIXELS + " pixels (8192x8192)");
        }
    }

    /** The declared size, or null when the format is not recognised. */
    static Size read(Path image) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(image)) {
            head = in.readNBytes(64);
        }
        if (head.length >= 2 && head[0] == 'P' && head[1] >= '1' && head[1] <= '7') return pnm(image);
        if (head.length >= 30 && ascii(head, 0, 4).equals("RIFF") && ascii(head, 8, 4).equals("WEBP")) return webp(head);
        try (ImageInputStream in = new FileImageInputStream(image.toFile())) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) return null;
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                return new Size(reader.getWidth(0), reader.getHeight(0));
            } finally {
                reader.dispose();
            }
        }
    }

    /** PNM (PBM/PGM/PPM): magic, then width and height as decimal tokens, with '#' comments. */
    private static Size pnm(Path image) throws IOException {
        try (InputStream in = Files.newInputStream(image)) {
            in.skipNBytes(2);
            long[] dims = new long[2];
            for (int i = 0; i < 2; i++) {
                int c = in.read();
                while (c == '#' || Character.isWhitespace(c)) {
                    if (c == '#') while (c != '\n' && c != -1) c = in.read();
                    c = in.read();
                }
                long v = 0;
                int digits = 0;
                while (c >= '0' && c <= '9' && digits < 12) {
                    v = v * 10 + (c - '0');
                    digits++;
                    c = in.read();
                }
                if (digits == 0) return null;
                dims[i] = v;
            }
            return new Size(dims[0], dims[1]);
        }
    }

    /** WebP: the first chunk after the RIFF header is VP8X (extended), VP8L (lossless) or "VP8 " (lossy). */
    private static Size webp(byte[] h) {
        String chunk = ascii(h, 12, 4);
        switch (chunk) {
            case "VP8X":
                return new Size(1 + u24(h, 24), 1 + u24(h, 27));
            case "VP8L": {
                long bits = (h[21] & 0xffL) | (h[22] & 0xffL) << 8 | (h[23] & 0xffL) << 16 | (h[24] & 0xffL) << 24;
                return new Size(1 + (bits & 0x3fff), 1 + ((bits >> 14) & 0x3fff));
            }
            case "VP8 ":
                return new Size((h[26] & 0xff | (h[27] & 0xff) << 8) & 0x3fff, (h[28] & 0xff | (h[29] & 0xff) << 8) & 0x3fff);
            default:
                return null;
        }
    }

    private static long u24(byte[] h, int at) {
        return (h[at] & 0xffL) | (h[at + 1] & 0xffL) << 8 | (h[at + 2] & 0xffL) << 16;
    }

    private static String ascii(byte[] h, int at, int len) {
        return new String(h, at, len, StandardCharsets.ISO_8859_1);
    }
}
