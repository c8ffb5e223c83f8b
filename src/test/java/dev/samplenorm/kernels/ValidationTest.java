package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_32FC3;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC2;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every bad argument is refused in Java, before any native call, with a message naming what was expected. */
class ValidationTest {

    private static final BlobShape SHAPE = new BlobShape(1, 3, 4, 4);

    static void assertRejected(String expectedFragment, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expectedFragment), "message '" + e.getMessage() + "' should mention '" + expectedFragment + "'");
    }

    @Test
    void imagesOfTheWrongDepthOrChannelCountAreRejected() {
        assertRejected("8-bit with 1, 3 or 4 channels", () -> HostKernels.imageStatistics(List.of(new Mat(4, 4, CV_32FC3)), StatsScope.BATCH));
        assertRejected("got CV_8UC2", () -> HostKernels.imageStatistics(List.of(new Mat(4, 4, CV_8UC2)), StatsScope.BATCH));
    }

    @Test
    void anEmptyBatchOrAnEmptyImageIsRejected() {
        assertRejected("expected at least one image", () -> HostKernels.imageStatistics(List.of(), StatsScope.BATCH));
        assertRejected("image 1 is empty", () -> HostKernels.imageStatistics(List.of(new Mat(2, 2, CV_8UC3), new Mat()), StatsScope.BATCH));
    }

    @Test
    void imagesOfDifferentSizesInOneBatchAreRejected() {
        assertRejected("same size and type", () -> HostKernels.imagesToNormalizedBlob(
                List.of(new Mat(4, 4, CV_8UC3), new Mat(4, 5, CV_8UC3)), new Mat(), StatsScope.BATCH, false, 1, 1e-5));
    }

    @Test
    void nonPositiveOrNonFiniteEpsIsRejected() {
        float[] x = new float[SHAPE.elements()];
        ChannelStats stats = HostKernels.statistics(x, SHAPE, StatsScope.BATCH);
        for (double eps : new double[] {0, -1e-5, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertRejected("eps must be a finite number > 0", () -> HostKernels.normalize(x, x, SHAPE, stats, null, null, eps));
        }
        assertRejected("eps must be a finite number >= 0", () -> HostKernels.imagesToNormalizedBlob(
                List.of(new Mat(4, 4, CV_8UC3)), new Mat(), StatsScope.BATCH, false, 1, -1));
    }

    @Test
    void nullArgumentsAreRejectedWithTheirName() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> HostKernels.statistics((Mat) null, StatsScope.BATCH));
        assertTrue(e.getMessage().contains("blob"));
        assertThrows(NullPointerException.class, () -> HostKernels.statistics(new float[48], SHAPE, null));
        assertRejected("image 0 is null", () -> HostKernels.imageStatistics(Arrays.asList((Mat) null), StatsScope.BATCH));
    }

    @Test
    void blobsThatAreNotFourDimensionalFloatAreRejected() {
        assertRejected("4-D float32 NCHW blob", () -> HostKernels.statistics(new Mat(4, 4, CV_32F), StatsScope.BATCH));
        assertRejected("empty Mat", () -> HostKernels.statistics(new Mat(), StatsScope.BATCH));
        assertRejected("expected 48 floats", () -> HostKernels.statistics(new float[47], SHAPE, StatsScope.BATCH));
        assertRejected("N, C, H, W >= 1", () -> new BlobShape(0, 3, 4, 4));
    }

    @Test
    void statisticsThatDoNotFitTheBlobAreRejected() {
        float[] x = new float[SHAPE.elements()];
        ChannelStats twoChannels = new ChannelStats(StatsScope.BATCH, 1, 2, new double[2], new double[] {1, 1});
        assertRejected("statistics for 3 channels", () -> HostKernels.normalize(x, x, SHAPE, twoChannels, null, null, 1e-5));
        ChannelStats stats = HostKernels.statistics(x, SHAPE, StatsScope.BATCH);
        assertRejected("one per channel", () -> HostKernels.normalize(x, x, SHAPE, stats, new float[2], null, 1e-5));
        assertRejected("expected 3 means and variances", () -> new ChannelStats(StatsScope.SAMPLE, 1, 3, new double[2], new double[2]));
    }

    @Test
    void zeroVarianceWithZeroEpsIsRejectedInsteadOfDividingByZero() {
        Mat flat = new Mat(4, 4, CV_8UC3, new Scalar(7, 7, 7, 0));
        assertRejected("divide by zero", () -> HostKernels.imagesToNormalizedBlob(List.of(flat), new Mat(), StatsScope.BATCH, false, 1, 0));
    }

    @Test
    void postprocessingNeedsOneImagePerSampleAndImageChannelCounts() {
        Mat blob = new Mat(new int[] {2, 2, 4, 4}, CV_32F);
        ChannelStats stats = new ChannelStats(StatsScope.BATCH, 2, 2, new double[2], new double[] {1, 1});
        assertRejected("1, 3 or 4 channels", () -> HostKernels.blobToImages(blob, List.of(new Mat(), new Mat()), stats, false, 1, 0));
        Mat blob3 = new Mat(new int[] {2, 3, 4, 4}, CV_32F);
        assertRejected("expected 2 Mats", () -> HostKernels.blobToImages(blob3, List.of(new Mat()), PixelMapping.symmetric(), false));
    }

    @Test
    void pixelMappingsNeedPositiveStandardDeviations() {
        assertRejected("std values must be finite and > 0", () -> new PixelMapping(1, new double[] {0}, new double[] {0}));
        assertRejected("scale must be finite and non-zero", () -> new PixelMapping(0, new double[] {0}, new double[] {1}));
    }
}
