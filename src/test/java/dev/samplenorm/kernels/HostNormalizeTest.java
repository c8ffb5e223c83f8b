package dev.samplenorm.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class HostNormalizeTest {

    @ParameterizedTest(name = "N={0} C={1} {2}x{3} {4} affine={5}")
    @CsvSource({
        "1, 1, 1, 1, SAMPLE, false", "1, 3, 7, 13, BATCH, true", "4, 3, 33, 17, SAMPLE, true", "4, 64, 9, 11, BATCH, false",
        "2, 3, 256, 255, BATCH, true", "3, 1, 1, 1001, SAMPLE, false"})
    void normalizeMatchesTheReference(int n, int c, int h, int w, StatsScope scope, boolean affine) {
        BlobShape s = new BlobShape(n, c, h, w);
        float[] x = TestData.gaussian(s, n * 1000L + c, -2, 3);
        float[] gamma = affine ? new float[c] : null, beta = affine ? new float[c] : null;
        for (int i = 0; affine && i < c; i++) {
            gamma[i] = 0.5f + i;
            beta[i] = -1f + 0.25f * i;
        }
        double eps = 1e-5;
        ChannelStats stats = HostKernels.statistics(x, s, scope);
        float[] y = new float[x.length];
        HostKernels.normalize(x, y, s, stats, gamma, beta, eps);
        double[][] ref = Reference.stats(x, s, scope);
        double[] expected = Reference.normalize(x, s, ref[0], ref[1], scope, gamma, beta, eps);
        double maxErr = 0;
        for (int i = 0; i < y.length; i++) maxErr = Math.max(maxErr, Math.abs(y[i] - expected[i]) / (1 + Math.abs(expected[i])));
        assertTrue(maxErr < 2e-6, "max relative error " + maxErr);
    }

    @Test
    void normalizingInPlaceEqualsNormalizingIntoAnotherBuffer() {
        BlobShape s = new BlobShape(2, 3, 21, 23);
        float[] x = TestData.gaussian(s, 9, 1, 2);
        ChannelStats stats = HostKernels.statistics(x, s, StatsScope.SAMPLE);
        float[] y = new float[x.length];
        HostKernels.normalize(x, y, s, stats, null, null, 1e-5);
        HostKernels.normalize(x, x, s, stats, null, null, 1e-5);
        for (int i = 0; i < x.length; i++) assertEquals(Float.floatToRawIntBits(y[i]), Float.floatToRawIntBits(x[i]));
    }

    @Test
    void normalizedMatHasZeroMeanAndUnitVariance() {
        BlobShape s = new BlobShape(3, 3, 64, 48);
        float[] x = TestData.gaussian(s, 1, 50, 9);
        try (Mat blob = new Mat(new int[] {3, 3, 64, 48}, opencv_core.CV_32F); Mat out = new Mat()) {
            new FloatPointer(blob.data()).put(x);
            ChannelStats stats = HostKernels.statistics(blob, StatsScope.BATCH);
            HostKernels.normalize(blob, out, stats, null, null, 1e-5);
            ChannelStats after = HostKernels.statistics(out, StatsScope.BATCH);
            for (int c = 0; c < 3; c++) {
                assertEquals(0.0, after.mean(0, c), 1e-5);
                assertEquals(1.0, after.variance(0, c), 1e-4);
            }
        }
    }

    @Test
    void largeOffsetDataNormalizesAccurately() {
        BlobShape s = new BlobShape(1, 1, 512, 512);
        float[] x = new float[s.elements()];
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        for (int i = 0; i < x.length; i++) x[i] = (float) (1000.0 + r.nextDouble(-0.01, 0.01));
        ChannelStats stats = HostKernels.statistics(x, s, StatsScope.BATCH);
        float[] y = new float[x.length];
        HostKernels.normalize(x, y, s, stats, null, null, 1e-12);
        double[] expected = Reference.normalize(x, s, stats.means(), stats.variances(), StatsScope.BATCH, null, null, 1e-12);
        double maxErr = 0;
        for (int i = 0; i < y.length; i++) maxErr = Math.max(maxErr, Math.abs(y[i] - expected[i]));
        // Values are O(1); one float ulp of the data (6e-5) over the spread (0.0058) would be ~1e-2.
        assertTrue(maxErr < 1e-5, "max abs error " + maxErr);
    }
}
