package dev.samplenorm.kernels;

/** The shape of a float32 NCHW blob. Every extent is >= 1. */
public record BlobShape(int n, int c, int h, int w) {

    public BlobShape {
        if (n < 1 || c < 1 || h < 1 || w < 1) {
            throw new IllegalArgumentException(
                    "expected a blob shape with N, C, H, W >= 1, got [" + n + ", " + c + ", " + h + ", " + w + "]");
        }
        if ((long) n * c * h * w > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("blob " + this + " has more than 2^31 - 9 elements");
        }
    }

    /** N * C * H * W. */
    public int elements() {
        return n * c * h * w;
    }

    /** H * W. */
    public int planeSize() {
        return h * w;
    }

    @Override
    public String toString() {
        return "[" + n + ", " + c + ", " + h + ", " + w + "]";
    }
}
