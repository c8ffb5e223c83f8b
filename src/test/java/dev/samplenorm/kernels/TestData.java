package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

/** Random inputs for the kernel tests. */
final class TestData {

    private TestData() {}

    static float[] gaussian(BlobShape s, long seed, double mean, double std) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[s.elements()];
        for (int i = 0; i < x.length; i++) {
            // Box-Muller; a different offset per channel makes channel mix-ups visible.
            int c = (i / s.planeSize()) % s.c();
            double u1 = r.nextDouble(1e-12, 1.0), u2 = r.nextDouble();
            x[i] = (float) (mean + 0.5 * c + std * (1 + 0.1 * c) * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return x;
    }

    /** N random images; with padding > 0 each is a ROI of a wider Mat, so its step exceeds W * channels. */
    static List<Mat> images(int n, int h, int w, int cn, int padding, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Mat> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Mat full = new Mat(h, w + padding, CV_8UC(cn));
            BytePointer p = full.data();
            long bytes = full.step() * h;
            for (long b = 0; b < bytes; b++) {
                // Channel-dependent ranges so that channels differ in mean and variance.
                int j = (int) ((b % full.step()) % cn);
                p.put(b, (byte) r.nextInt(16 * j, 256 - 8 * j));
            }
            out.add(padding == 0 ? full : full.colRange(0, w));
        }
        return out;
    }
}
