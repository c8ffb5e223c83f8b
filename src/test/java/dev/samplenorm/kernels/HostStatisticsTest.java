package dev.samplenorm.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.stream.Stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class HostStatisticsTest {

    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> b = Stream.builder();
        int[][] planes = {{1, 1}, {1, 7}, {7, 13}, {33, 65}, {128, 129}, {3, 40000}};
        for (int n : new int[] {1, 3}) {
            for (int c : new int[] {1, 3, 64}) {
                for (int[] hw : planes) {
                    if (c == 64 && hw[0] * hw[1] > 20000) continue;
                    for (StatsScope scope : StatsScope.values()) b.add(Arguments.of(new BlobShape(n, c, hw[0], hw[1]), scope));
                }
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("shapes")
    void statisticsMatchTheDoublePrecisionReference(BlobShape shape, StatsScope scope) {
        float[] x = TestData.gaussian(shape, shape.hashCode() * 31L + scope.ordinal(), 3.0, 2.0);
        ChannelStats stats = HostKernels.statistics(x, shape, scope);
        double[][] ref = Reference.stats(x, shape, scope);
        assertEquals(ref[0].length, stats.size());
        for (int i = 0; i < stats.size(); i++) {
            assertEquals(ref[0][i], stats.means()[i], 1e-12 * (1 + Math.abs(ref[0][i])), "mean " + i);
            assertEquals(ref[1][i], stats.variances()[i], 1e-10 * (1 + ref[1][i]), "variance " + i);
        }
    }

    @Test
    void matAndArrayInputsGiveIdenticalStatistics() {
        BlobShape s = new BlobShape(2, 3, 17, 31);
        float[] x = TestData.gaussian(s, 7, 0, 1);
        try (Mat blob = new Mat(new int[] {2, 3, 17, 31}, opencv_core.CV_32F)) {
            new FloatPointer(blob.data()).put(x);
            for (StatsScope scope : StatsScope.values()) {
                ChannelStats a = HostKernels.statistics(blob, scope), b = HostKernels.statistics(x, s, scope);
                assertArrayEquals(b.means(), a.means());
                assertArrayEquals(b.variances(), a.variances());
            }
        }
    }

    @Test
    void largeCommonOffsetKeepsRelativeAccuracyBelowOneMillionth() {
        // 1e8 values 1000 +- 0.01: the naive E[x^2] - E[x]^2 in double would lose the variance entirely.
        BlobShape s = new BlobShape(1, 1, 10_000, 10_000);
        float[] x = new float[s.elements()];
        java.util.SplittableRandom r = new java.util.SplittableRandom(42);
        for (int i = 0; i < x.length; i++) x[i] = (float) (1000.0 + r.nextDouble(-0.01, 0.01));
        ChannelStats stats = HostKernels.statistics(x, s, StatsScope.BATCH);
        double[][] ref = Reference.stats(x, s, StatsScope.BATCH);
        assertTrue(Reference.relError(stats.mean(0, 0), ref[0][0]) <= 1e-6, "mean " + stats.mean(0, 0) + " vs " + ref[0][0]);
        assertTrue(Reference.relError(stats.variance(0, 0), ref[1][0]) <= 1e-6,
                "variance " + stats.variance(0, 0) + " vs " + ref[1][0]);
    }

    @Test
    void zeroVarianceChannelHasExactlyZeroVarianceAndNormalizesToBeta() {
        BlobShape s = new BlobShape(2, 2, 5, 9);
        float[] x = TestData.gaussian(s, 3, 0, 1);
        for (int n = 0; n < 2; n++) Arrays.fill(x, (n * 2 + 1) * 45, (n * 2 + 2) * 45, 4.25f);
        ChannelStats stats = HostKernels.statistics(x, s, StatsScope.BATCH);
        assertEquals(4.25, stats.mean(0, 1));
        assertEquals(0.0, stats.variance(0, 1));
        float[] y = new float[x.length];
        HostKernels.normalize(x, y, s, stats, null, new float[] {0f, 0.5f}, 1e-5);
        for (int n = 0; n < 2; n++) {
            for (int i = (n * 2 + 1) * 45; i < (n * 2 + 2) * 45; i++) assertEquals(0.5f, y[i]);
        }
    }

    @Test
    void resultsAreBitIdenticalRunAfterRun() {
        BlobShape s = new BlobShape(4, 3, 300, 301);
        float[] x = TestData.gaussian(s, 11, 100, 5);
        for (StatsScope scope : StatsScope.values()) {
            ChannelStats first = HostKernels.statistics(x, s, scope);
            for (int run = 0; run < 3; run++) {
                ChannelStats again = HostKernels.statistics(x, s, scope);
                for (int i = 0; i < first.size(); i++) {
                    assertEquals(Double.doubleToRawLongBits(first.means()[i]), Double.doubleToRawLongBits(again.means()[i]));
                    assertEquals(Double.doubleToRawLongBits(first.variances()[i]), Double.doubleToRawLongBits(again.variances()[i]));
                }
            }
        }
    }

    @Test
    void nonFiniteValuesPropagateToTheirChannelOnly() {
        BlobShape s = new BlobShape(1, 3, 4, 4);
        float[] x = TestData.gaussian(s, 5, 0, 1);
        x[16 + 5] = Float.NaN;
        x[32 + 2] = Float.POSITIVE_INFINITY;
        ChannelStats stats = HostKernels.statistics(x, s, StatsScope.BATCH);
        assertTrue(Double.isFinite(stats.mean(0, 0)) && Double.isFinite(stats.variance(0, 0)));
        assertTrue(Double.isNaN(stats.mean(0, 1)) && Double.isNaN(stats.variance(0, 1)));
        assertFalse(Double.isFinite(stats.mean(0, 2)));
        assertFalse(Double.isFinite(stats.variance(0, 2)));
        float[] y = new float[x.length];
        HostKernels.normalize(x, y, s, stats, null, null, 1e-5);
        for (int i = 16; i < 32; i++) assertTrue(Float.isNaN(y[i]), "channel 1 is NaN after normalization");
        for (int i = 0; i < 16; i++) assertTrue(Float.isFinite(y[i]), "channel 0 stays finite");
    }
}
