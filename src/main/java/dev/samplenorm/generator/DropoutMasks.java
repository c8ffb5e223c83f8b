package dev.samplenorm.generator;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;

import dev.samplenorm.onnx.StatisticsRewrite.DropoutMask;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;

/** The mask stream of test-time dropout: SplitMix64, as {@link GeneratorOptions.Builder#dropout(long)} documents it. */
final class DropoutMasks {

    private long state;

    DropoutMasks(long seed) {
        this.state = seed;
    }

    long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1). */
    double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** The next mask for a batch of {@code n}: a new CV_32F Mat [n, C, H, W], owned by the caller. */
    Mat next(DropoutMask mask, int n) {
        int[] s = mask.shape();
        long count = (long) n * s[1] * s[2] * s[3];
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a dropout mask of " + count + " elements is too large");
        }
        double p = mask.ratio();
        float keep = (float) (1.0 / (1.0 - p));
        float[] v = new float[(int) count];
        for (int i = 0; i < v.length; i++) v[i] = nextDouble() >= p ? keep : 0f;
        Mat m = new Mat(new int[] {n, s[1], s[2], s[3]}, CV_32F);
        new FloatPointer(m.data()).put(v);
        return m;
    }
}
