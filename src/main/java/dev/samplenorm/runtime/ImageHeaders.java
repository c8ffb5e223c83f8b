package dev.samplenorm.runtime;

/**
 * Reads the width and height that a PNG or JPEG file declares, from its header alone, so that an image
 * too large to decode (a decompression bomb: a few kilobytes claiming 100000 x 100000 pixels) is
 * refused before any decoder allocates for it.
 */
public final class ImageHeaders {

    /** The format and declared size of an encoded image. */
    public record Info(String format, int width, int height) {
        public long pixels() {
            return (long) width * height;
        }
    }

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private ImageHeaders() {}

    /**
     * The declared format and size.
     *
     * @throws IllegalArgumentException when the bytes are neither a PNG nor a JPEG with a readable
     *     size (too short, another format, no frame header before the image data)
     */
    public static Info read(byte[] data) {
        if (data == null || data.length < 4) {
            throw new IllegalArgumentException("expected a PNG or JPEG image, got " + (data == null ? "nothing" : data.length + " bytes"));
        }
        if (startsWith(data, PNG_SIGNATURE)) return png(data);
        if ((data[0] & 0xff) == 0xFF && (data[1] & 0xff) == 0xD8) return jpeg(data);
        throw new IllegalArgumentException("expected a PNG or JPEG image (signature 89 50 4E 47 or FF D8), got bytes starting "
                + String.format("%02X %02X %02X %02X", data[0], data[1], data[2], data[3]));
    }

    /**
     * Checks that the image declares at most {@code maxPixels} pixels and at most {@code maxSide} in
     * either direction.
     *
     * @throws ImageTooLargeException when it declares more
     * @throws IllegalArgumentException when the header cannot be read
     */
    public static Info check(byte[] data, int maxSide, long maxPixels) {
        Info info = read(data);
        if (!complete(data, info.format())) {
            throw new IllegalArgumentException("expected a complete " + info.format() + " image, got one that is truncated (no "
                    + (info.format().equals("PNG") ? "IEND chunk" : "end-of-image marker FF D9") + " at its end)");
        }
        if (info.width() > maxSide || info.height() > maxSide || info.pixels() > maxPixels) {
            throw new ImageTooLargeException("the " + info.format() + " image declares " + info.width() + "x" + info.height()
                    + " pixels; expected at most " + maxSide + " per side and " + maxPixels + " in all");
        }
        return info;
    }

    /** Whether the file ends as a complete one does: PNG with its IEND chunk, JPEG with EOI (trailing zero padding allowed). */
    private static boolean complete(byte[] d, String format) {
        int end = d.length;
        if (format.equals("PNG")) {
            return end >= 12 && d[end - 8] == 'I' && d[end - 7] == 'E' && d[end - 6] == 'N' && d[end - 5] == 'D';
        }
        while (end > 2 && d[end - 1] == 0) end--;
        return end >= 4 && (d[end - 2] & 0xff) == 0xFF && (d[end - 1] & 0xff) == 0xD9;
    }

    private static Info png(byte[] d) {
        // Signature (8), then the first chunk must be IHDR: length (4), type (4), width (4), height (4).
        if (d.length < 24 || d[12] != 'I' || d[13] != 'H' || d[14] != 'D' || d[15] != 'R') {
            throw new IllegalArgumentException("expected a PNG image with an IHDR header chunk, got a truncated or malformed PNG");
        }
        long w = u32(d, 16), h = u32(d, 20);
        if (w == 0 || h == 0 || w > Integer.MAX_VALUE || h > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("expected a PNG image of positive size, its header declares " + w + "x" + h);
        }
        return new Info("PNG", (int) w, (int) h);
    }

    private static Info jpeg(byte[] d) {
        int i = 2;
        while (i + 3 < d.length) {
            if ((d[i] & 0xff) != 0xFF) break;
            int marker = d[i + 1] & 0xff;
            if (marker == 0xFF) { // fill byte
                i++;
                continue;
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { // markers without a length
                i += 2;
                continue;
            }
            if (marker == 0xD9 || marker == 0xDA) break; // end of image or start of scan before any frame header
            int length = u16(d, i + 2);
            if (length < 2) break;
            boolean frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (frame) {
                if (i + 9 > d.length) break;
                int h = u16(d, i + 5), w = u16(d, i + 7);
                if (w == 0 || h == 0) {
                    throw new IllegalArgumentException("expected a JPEG image of positive size, its frame header declares " + w + "x" + h);
                }
                return new Info("JPEG", w, h);
            }
            i += 2 + length;
        }
        throw new IllegalArgumentException("expected a JPEG image with a frame header (SOF), got a truncated or malformed JPEG");
    }

    private static boolean startsWith(byte[] d, byte[] prefix) {
        if (d.length < prefix.length) return false;
        for (int i = 0; i < prefix.length; i++) {
            if (d[i] != prefix[i]) return false;
        }
        return true;
    }

    private static long u32(byte[] d, int i) {
        return ((long) (d[i] & 0xff) << 24) | ((d[i + 1] & 0xff) << 16) | ((d[i + 2] & 0xff) << 8) | (d[i + 3] & 0xff);
    }

    private static int u16(byte[] d, int i) {
        return ((d[i] & 0xff) << 8) | (d[i + 1] & 0xff);
    }
}
