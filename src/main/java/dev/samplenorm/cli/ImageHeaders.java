package dev.samplenorm.cli;

import dev.samplenorm.imaging.ImageDecoder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The width and height an image file declares, read from its header without decoding the pixels,
 * so that an oversized image (a decompression bomb) is refused before OpenCV allocates for it.
 * PNG and JPEG headers are read by {@link ImageDecoder#readHeader}; BMP, TIFF, PNM and WebP here.
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
        if (head.length >= 26 && head[0] == 'B' && head[1] == 'M') return bmp(head);
        if (head.length >= 8 && (ascii(head, 0, 4).equals("II*\0") || ascii(head, 0, 4).equals("MM\0*"))) {
            return tiff(Files.readAllBytes(image));
        }
        if (ImageDecoder.isPngOrJpeg(head)) {
            // A JPEG's frame header may follow large metadata segments: read the whole file.
            ImageDecoder.Header h = ImageDecoder.readHeader(Files.readAllBytes(image));
            return new Size(h.width(), h.height());
        }
        return null;
    }

    /** BMP: BITMAPINFOHEADER (or later) width and height, little-endian int32; a negative height means top-down rows. */
    private static Size bmp(byte[] h) {
        long w = le32(h, 18), hh = le32(h, 22);
        if (le32(h, 14) == 12) { // BITMAPCOREHEADER: 16-bit extents
            w = (h[18] & 0xff) | (h[19] & 0xff) << 8;
            hh = (h[20] & 0xff) | (h[21] & 0xff) << 8;
        }
        return new Size(Math.abs(w), Math.abs(hh));
    }

    /** TIFF: the first image file directory's ImageWidth (256) and ImageLength (257) entries, SHORT or LONG. */
    private static Size tiff(byte[] b) {
        boolean le = b[0] == 'I';
        long ifd = u32(b, 4, le);
        if (ifd < 8 || ifd + 2 > b.length) return null;
        int entries = u16(b, (int) ifd, le);
        long w = -1, h = -1;
        for (int i = 0; i < entries; i++) {
            int e = (int) ifd + 2 + 12 * i;
            if (e + 12 > b.length) break;
            int tag = u16(b, e, le), type = u16(b, e + 2, le);
            long value = type == 3 ? u16(b, e + 8, le) : type == 4 ? u32(b, e + 8, le) : -1;
            if (tag == 256) w = value;
            if (tag == 257) h = value;
        }
        return w < 0 || h < 0 ? null : new Size(w, h);
    }

    private static long le32(byte[] h, int at) {
        return (int) ((h[at] & 0xff) | (h[at + 1] & 0xff) << 8 | (h[at + 2] & 0xff) << 16 | (h[at + 3] & 0xff) << 24);
    }

    private static int u16(byte[] b, int at, boolean le) {
        return le ? (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 : (b[at] & 0xff) << 8 | (b[at + 1] & 0xff);
    }

    private static long u32(byte[] b, int at, boolean le) {
        return le ? (long) u16(b, at, true) | (long) u16(b, at + 2, true) << 16 : (long) u16(b, at, false) << 16 | u16(b, at + 2, false);
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
