package dev.samplenorm.kernels;

import java.util.List;
import org.bytedeco.opencv.opencv_core.Mat;

/** Independent double-precision reference implementations (two-pass, no shared code with the kernels). */
final class Reference {

    private Reference() {}

    /** {mean[], var[]} of an NCHW array, two-pass in double. */
    static double[][] stats(float[] x, BlobShape s, StatsScope scope) {
        int k = scope == StatsScope.BATCH ? s.c() : s.n() * s.c();
        double[] mean = new double[k], var = new double[k];
        int plane = s.planeSize();
        for (int o = 0; o < k; o++) {
            int[] planes = planesOf(o, s, scope);
            double sum = 0;
            for (int p : planes) for (int i = 0; i < plane; i++) sum += x[p * plane + i];
            double m = sum / ((double) planes.length * plane);
            double sq = 0;
            for (int p : planes) for (int i = 0; i < plane; i++) {
                double d = x[p * plane + i] - m;
                sq += d * d;
            }
            mean[o] = m;
            var[o] = sq / ((double) planes.length * plane);
        }
        return new double[][] {mean, var};
    }

    private static int[] planesOf(int o, BlobShape s, StatsScope scope) {
        if (scope == StatsScope.SAMPLE) return new int[] {o};
        int[] p = new int[s.n()];
        for (int n = 0; n < s.n(); n++) p[n] = n * s.c() + o;
        return p;
    }

    static double[] normalize(float[] x, BlobShape s, double[] mean, double[] var, StatsScope scope, float[] gamma, float[] beta,
            double eps) {
        double[] y = new double[x.length];
        int plane = s.planeSize();
        for (int n = 0; n < s.n(); n++) {
            for (int c = 0; c < s.c(); c++) {
                int k = scope == StatsScope.BATCH ? c : n * s.c() + c;
                double g = gamma == null ? 1 : gamma[c], b = beta == null ? 0 : beta[c];
                int base = (n * s.c() + c) * plane;
                for (int i = 0; i < plane; i++) y[base + i] = (x[base + i] - mean[k]) / Math.sqrt(var[k] + eps) * g + b;
            }
        }
        return y;
    }

    /** Pixel (n, y, x, j) of an image batch. */
    static int pixel(List<Mat> images, int n, int y, int x, int j) {
        Mat m = images.get(n);
        return m.ptr(y).get((long) x * m.channels() + j) & 0xff;
    }

    /** {mean[], var[]} of 8-bit images, from exact long sums. */
    static double[][] imageStats(List<Mat> images, StatsScope scope) {
        int n = images.size(), h = images.get(0).rows(), w = images.get(0).cols(), cn = images.get(0).channels();
        int groups = scope == StatsScope.SAMPLE ? n : 1;
        double[] mean = new double[groups * cn], var = new double[groups * cn];
        for (int g = 0; g < groups; g++) {
            for (int j = 0; j < cn; j++) {
                long s = 0, count = 0;
                double sq = 0;
                int from = scope == StatsScope.SAMPLE ? g : 0, to = scope == StatsScope.SAMPLE ? g + 1 : n;
                for (int i = from; i < to; i++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
                    s += pixel(images, i, y, x, j);
                    count++;
                }
                double m = (double) s / count;
                for (int i = from; i < to; i++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
                    double d = pixel(images, i, y, x, j) - m;
                    sq += d * d;
                }
                mean[g * cn + j] = m;
                var[g * cn + j] = sq / count;
            }
        }
        return new double[][] {mean, var};
    }

    static int sourceChannel(int k, int cn, boolean swapRB) {
        return swapRB && cn >= 3 && (k == 0 || k == 2) ? 2 - k : k;
    }

    static double relError(double actual, double expected) {
        double denom = Math.max(Math.abs(expected), 1e-300);
        return Math.abs(actual - expected) / denom;
    }
}
