package dev.samplenorm.runtime;

import dev.samplenorm.imaging.ImageDecoder;

/**
 * Checks the width and height that a PNG or JPEG file declares (read by {@link ImageDecoder#readHeader}),
 * and that the file is complete, so that an image
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
        if (!ImageDecoder.isPngOrJpeg(data)) {
            throw new IllegalArgumentException("expected a PNG or JPEG image (signature 89 50 4E 47 or FF D8), got bytes starting "
                    + String.format("%02X %02X %02X %02X", data[0], data[1], data[2], data[3]));
        }
        ImageDecoder.Header h = ImageDecoder.readHeader(data);
        return new Info(h.format().name(), h.width(), h.height());
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
}
