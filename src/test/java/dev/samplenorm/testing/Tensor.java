package dev.samplenorm.testing;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;

import dev.samplenorm.StatisticsMode;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;

/** An NCHW tensor in double precision and the reference layers of the tests, written plainly. */
public record Tensor(int n, int c, int h, int w, double[] data) {

    public Tensor {
        if (data.length != n * c * h * w) throw new IllegalArgumentException("data length " + data.length + " for " + n + "x" + c + "x" + h + "x" + w);
    }

    public static Tensor zeros(int n, int c, int h, int w) {
        return new Tensor(n, c, h, w, new double[n * c * h * w]);
    }

    /** Gaussian values rounded to float32 (so that the float32 blob and the reference see the same input), a different offset per channel. */
    public static Tensor random(int n, int c, int h, int w, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = zeros(n, c, h, w);
        for (int i = 0; i < t.data.length; i++) {
            int ch = (i / (h * w)) % c;
            double g = Math.sqrt(-2 * Math.log(r.nextDouble(1e-12, 1))) * Math.cos(2 * Math.PI * r.nextDouble());
            t.data[i] = (float) (0.3 * ch - 0.2 + (0.6 + 0.2 * ch) * g);
        }
        return t;
    }

    /** The first {@code k} samples. */
    public Tensor head(int k) {
        double[] d = new double[k * c * h * w];
        System.arraycopy(data, 0, d, 0, d.length);
        return new Tensor(k, c, h, w, d);
    }

    public double at(int ni, int ci, int y, int x) {
        return data[((ni * c + ci) * h + y) * w + x];
    }

    private int index(int ni, int ci, int y, int x) {
        return ((ni * c + ci) * h + y) * w + x;
    }

    public interface ChannelOp {
        double apply(int channel, double v);
    }

    public Tensor map(ChannelOp f) {
        double[] d = new double[data.length];
        for (int i = 0; i < d.length; i++) d[i] = f.apply((i / (h * w)) % c, data[i]);
        return new Tensor(n, c, h, w, d);
    }

    /** {mean[c], biased var[c]} over (N, H, W), two-pass. */
    public double[][] channelStats() {
        double[] m = new double[c], v = new double[c];
        double count = (double) n * h * w;
        for (int ni = 0; ni < n; ni++) for (int ci = 0; ci < c; ci++) for (int i = 0; i < h * w; i++) m[ci] += data[(ni * c + ci) * h * w + i];
        for (int ci = 0; ci < c; ci++) m[ci] /= count;
        for (int ni = 0; ni < n; ni++) for (int ci = 0; ci < c; ci++) for (int i = 0; i < h * w; i++) {
            double d = data[(ni * c + ci) * h * w + i] - m[ci];
            v[ci] += d * d;
        }
        for (int ci = 0; ci < c; ci++) v[ci] /= count;
        return new double[][] {m, v};
    }

    static Tensor conv(Tensor x, float[] wt, float[] b, int out, int k, int s, int p) {
        int oh = (x.h + 2 * p - k) / s + 1, ow = (x.w + 2 * p - k) / s + 1;
        Tensor y = zeros(x.n, out, oh, ow);
        for (int ni = 0; ni < x.n; ni++) for (int o = 0; o < out; o++) for (int yy = 0; yy < oh; yy++) for (int xx = 0; xx < ow; xx++) {
            double acc = b == null ? 0 : b[o];
            for (int ci = 0; ci < x.c; ci++) for (int ky = 0; ky < k; ky++) for (int kx = 0; kx < k; kx++) {
                int iy = yy * s - p + ky, ix = xx * s - p + kx;
                if (iy < 0 || iy >= x.h || ix < 0 || ix >= x.w) continue;
                acc += wt[((o * x.c + ci) * k + ky) * k + kx] * x.at(ni, ci, iy, ix);
            }
            y.data[y.index(ni, o, yy, xx)] = acc;
        }
        return y;
    }

    static Tensor convTranspose(Tensor x, float[] wt, float[] b, int out, int k, int s, int p, int op) {
        int oh = (x.h - 1) * s - 2 * p + k + op, ow = (x.w - 1) * s - 2 * p + k + op;
        Tensor y = zeros(x.n, out, oh, ow);
        for (int ni = 0; ni < x.n; ni++) {
            for (int o = 0; o < out; o++) for (int i = 0; i < oh * ow; i++) y.data[(ni * out + o) * oh * ow + i] = b == null ? 0 : b[o];
            for (int ci = 0; ci < x.c; ci++) for (int iy = 0; iy < x.h; iy++) for (int ix = 0; ix < x.w; ix++) {
                double v = x.at(ni, ci, iy, ix);
                for (int o = 0; o < out; o++) for (int ky = 0; ky < k; ky++) for (int kx = 0; kx < k; kx++) {
                    int yy = iy * s - p + ky, xx = ix * s - p + kx;
                    if (yy < 0 || yy >= oh || xx < 0 || xx >= ow) continue;
                    y.data[y.index(ni, o, yy, xx)] += v * wt[((ci * out + o) * k + ky) * k + kx];
                }
            }
        }
        return y;
    }

    static Tensor batchNorm(Tensor x, float[] g, float[] b, float[] rm, float[] rv, float eps, StatisticsMode mode) {
        Tensor y = zeros(x.n, x.c, x.h, x.w);
        int plane = x.h * x.w;
        for (int ci = 0; ci < x.c; ci++) {
            for (int ni = 0; ni < x.n; ni++) {
                double m, v;
                if (mode == StatisticsMode.RUNNING) {
                    m = rm[ci];
                    v = rv[ci];
                } else {
                    int from = mode == StatisticsMode.SAMPLE ? ni : 0, to = mode == StatisticsMode.SAMPLE ? ni + 1 : x.n;
                    double sum = 0;
                    for (int k = from; k < to; k++) for (int i = 0; i < plane; i++) sum += x.data[(k * x.c + ci) * plane + i];
                    m = sum / ((double) (to - from) * plane);
                    double sq = 0;
                    for (int k = from; k < to; k++) for (int i = 0; i < plane; i++) {
                        double d = x.data[(k * x.c + ci) * plane + i] - m;
                        sq += d * d;
                    }
                    v = sq / ((double) (to - from) * plane);
                }
                double inv = 1 / Math.sqrt(v + (double) eps);
                for (int i = 0; i < plane; i++) {
                    int j = (ni * x.c + ci) * plane + i;
                    y.data[j] = (x.data[j] - m) * inv * g[ci] + b[ci];
                }
            }
        }
        return y;
    }

    /** A new float32 NCHW Mat (owned by the caller). */
    public Mat toMat() {
        Mat m = new Mat(new int[] {n, c, h, w}, CV_32F);
        FloatPointer p = new FloatPointer(m.data());
        for (int i = 0; i < data.length; i++) p.put(i, (float) data[i]);
        return m;
    }

    public static Tensor of(Mat m) {
        if (m.dims() != 4 || m.type() != CV_32F) throw new IllegalArgumentException("expected a 4-D CV_32F Mat, got dims " + m.dims());
        Mat src = m.isContinuous() ? m : m.clone();
        try {
            Tensor t = zeros(m.size(0), m.size(1), m.size(2), m.size(3));
            FloatPointer p = new FloatPointer(src.data());
            for (int i = 0; i < t.data.length; i++) t.data[i] = p.get(i);
            return t;
        } finally {
            if (src != m) src.close();
        }
    }

    /** ||this - ref|| / ||ref||; shapes must agree. */
    public double relativeL2(Tensor ref) {
        if (n != ref.n || c != ref.c || h != ref.h || w != ref.w) {
            throw new AssertionError("shape [" + n + ", " + c + ", " + h + ", " + w + "] differs from the reference's [" + ref.n + ", "
                    + ref.c + ", " + ref.h + ", " + ref.w + "]");
        }
        return relativeL2(data, ref.data);
    }

    public static double relativeL2(double[] a, double[] ref) {
        if (a.length != ref.length) throw new AssertionError("lengths " + a.length + " and " + ref.length + " differ");
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    /** As {@link #relativeL2(double[], double[])} for float outputs, accumulated in double. */
    public static double relativeL2(float[] a, float[] ref) {
        if (a.length != ref.length) throw new AssertionError("lengths " + a.length + " and " + ref.length + " differ");
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }
}
