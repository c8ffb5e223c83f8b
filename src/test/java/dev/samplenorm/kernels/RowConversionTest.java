package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Rect;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The 8-bit <-> float conversions give exactly the values of their single-rounding definition
 * (float arithmetic, as Java computes it), at every pixel of rows of every width: the vector paths
 * cover whole blocks of 8, 16 or 32 pixels and the portable path the rest of each row, so widths
 * around the block sizes check both and the seam between them. Outputs are ROIs of wider Mats, so
 * rows have a step and any write past a row's end shows in the guard bytes around it.
 */
class RowConversionTest {

    static List<Arguments> rows() {
        List<Arguments> args = new ArrayList<>();
        for (int w : new int[] {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 63, 65, 256, 259}) {
            for (int cn : new int[] {1, 3, 4}) {
                for (boolean swap : new boolean[] {false, true}) args.add(Arguments.of(w, cn, swap));
            }
        }
        return args;
    }

    @ParameterizedTest(name = "w={0} cn={1} swap={2}")
    @MethodSource("rows")
    void postprocessingRoundsEveryPixelAsItsDefinitionSays(int w, int cn, boolean swap) {
        int n = 2, h = 3;
        SplittableRandom r = new SplittableRandom(w * 31L + cn * 7L + (swap ? 1 : 0));
        float[] x = new float[n * cn * h * w];
        for (int i = 0; i < x.length; i++) {
            // Mostly in and around [-1, 1] (in range, saturating below and above), some exact halves
            // of the identity channel, some non-finite values.
            int kind = r.nextInt(20);
            x[i] = kind == 0 ? Float.NaN : kind == 1 ? Float.POSITIVE_INFINITY : kind == 2 ? Float.NEGATIVE_INFINITY
                    : kind < 8 ? r.nextInt(-20, 540) / 2.0f : (float) r.nextDouble(-1.6, 1.6);
        }
        // Per-sample statistics in pixel units; channel 1 of sample 0 is the identity (scale 1, var 1).
        double scale = 1 / 127.5, eps = 1e-5;
        ChannelStats stats = randomSampleStats(r, n, cn);
        double[] mean = stats.means(), var = stats.variances();
        try (Mat blob = new Mat(new int[] {n, cn, h, w}, CV_32F)) {
            new FloatPointer(blob.data()).put(x);
            List<Mat> parents = new ArrayList<>(), images = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Mat parent = new Mat(h, w + 3, CV_8UC(cn));
                fill(parent, (byte) 0x5a);
                parents.add(parent);
                images.add(new Mat(parent, new Rect(1, 0, w, h)));
            }
            HostKernels.blobToImages(blob, images, stats, swap, scale, eps);
            for (int i = 0; i < n; i++) {
                BytePointer row = parents.get(i).data();
                long step = parents.get(i).step();
                for (int y = 0; y < h; y++) {
                    for (int j = 0; j < cn; j++) {
                        assertEquals(0x5a, row.get(y * step + j) & 0xff, "guard before row " + y);
                        assertEquals(0x5a, row.get(y * step + (long) (w + 1) * cn + j) & 0xff, "guard after row " + y);
                    }
                    for (int px = 0; px < w; px++) {
                        for (int j = 0; j < cn; j++) {
                            int k = Reference.sourceChannel(j, cn, swap), idx = i * cn + j;
                            float factor = (float) (Math.sqrt(var[idx] * scale * scale + eps) / scale);
                            float v = x[((i * cn + k) * h + y) * w + px] * factor + (float) mean[idx];
                            v = v > 0f ? v : 0f;
                            v = v < 255f ? v : 255f;
                            int expected = (int) Math.rint(v);
                            int actual = row.get(y * step + (long) (px + 1) * cn + j) & 0xff;
                            assertEquals(expected, actual, "sample " + i + " y " + y + " x " + px + " channel " + j);
                        }
                    }
                }
            }
            for (Mat m : images) m.close();
            for (Mat m : parents) m.close();
        }
    }

    @ParameterizedTest(name = "w={0} cn={1} swap={2}")
    @MethodSource("rows")
    void preprocessingConvertsEveryPixelAsItsDefinitionSays(int w, int cn, boolean swap) {
        int n = 2, h = 3;
        List<Mat> images = TestData.images(n, h, w, cn, 5, w * 17L + cn);
        SplittableRandom r = new SplittableRandom(w * 13L + cn);
        double scale = 1 / 127.5, eps = 1e-5;
        ChannelStats stats = randomSampleStats(r, n, cn);
        double[] mean = stats.means(), var = stats.variances();
        try (Mat blob = new Mat()) {
            HostKernels.imagesToBlob(images, blob, stats, swap, scale, eps);
            float[] out = new float[n * cn * h * w];
            new FloatPointer(blob.data()).get(out);
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < cn; k++) {
                    int j = Reference.sourceChannel(k, cn, swap), idx = i * cn + j;
                    float shift = (float) mean[idx];
                    float factor = (float) (scale / Math.sqrt(var[idx] * scale * scale + eps));
                    for (int y = 0; y < h; y++) {
                        for (int px = 0; px < w; px++) {
                            float expected = (Reference.pixel(images, i, y, px, j) - shift) * factor;
                            assertEquals(expected, out[((i * cn + k) * h + y) * w + px],
                                    "sample " + i + " y " + y + " x " + px + " channel " + k);
                        }
                    }
                }
            }
        }
        for (Mat m : images) m.close();
    }

    private static void fill(Mat m, byte value) {
        BytePointer p = m.data();
        long bytes = m.step() * m.rows();
        for (long b = 0; b < bytes; b++) p.put(b, value);
    }

    /** Per-sample statistics in pixel units: means in [20, 230), variances in [10, 5000). */
    private static ChannelStats randomSampleStats(SplittableRandom r, int n, int cn) {
        double[] mean = new double[n * cn], var = new double[n * cn];
        for (int i = 0; i < mean.length; i++) {
            mean[i] = r.nextDouble(20, 230);
            var[i] = r.nextDouble(10, 5000);
        }
        return new ChannelStats(StatsScope.SAMPLE, n, cn, mean, var);
    }
}
