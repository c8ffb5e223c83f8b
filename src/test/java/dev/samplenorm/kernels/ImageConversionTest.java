package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ImageConversionTest {

    @ParameterizedTest(name = "N={0} {1}x{2}x{3} pad={4} {5}")
    @CsvSource({
        "1, 1, 1, 3, 0, BATCH", "1, 7, 13, 3, 5, SAMPLE", "4, 31, 17, 3, 0, BATCH", "4, 31, 17, 3, 3, SAMPLE",
        "2, 64, 65, 1, 1, BATCH", "3, 9, 250, 4, 2, SAMPLE", "16, 32, 33, 3, 0, BATCH",
        // Many vector blocks per row and per span: lane sums are flushed mid-row and mid-span.
        "1, 300, 1000, 3, 7, BATCH", "2, 517, 700, 4, 0, SAMPLE", "1, 200, 4100, 1, 3, BATCH"})
    void imageStatisticsAreExact(int n, int h, int w, int cn, int pad, StatsScope scope) {
        List<Mat> images = TestData.images(n, h, w, cn, pad, n * 7L + w);
        ChannelStats stats = HostKernels.imageStatistics(images, scope);
        double[][] ref = Reference.imageStats(images, scope);
        for (int i = 0; i < ref[0].length; i++) {
            assertEquals(ref[0][i], stats.means()[i], 1e-12 * ref[0][i] + 1e-12, "mean " + i);
            assertEquals(ref[1][i], stats.variances()[i], 1e-10 * ref[1][i] + 1e-12, "variance " + i);
        }
    }

    @ParameterizedTest(name = "N={0} {1}x{2}x{3} pad={4} {5} swap={6}")
    @CsvSource({
        "1, 1, 1, 3, 0, BATCH, false", "1, 7, 13, 3, 5, SAMPLE, true", "4, 31, 17, 3, 3, BATCH, true", "2, 64, 65, 1, 1, SAMPLE, false",
        "3, 9, 250, 4, 2, BATCH, true", "16, 64, 64, 3, 0, SAMPLE, true"})
    void fusedPreprocessingMatchesTheReference(int n, int h, int w, int cn, int pad, StatsScope scope, boolean swap) {
        List<Mat> images = TestData.images(n, h, w, cn, pad, n * 13L + h);
        double scale = 1 / 127.5, eps = 1e-5;
        try (Mat blob = new Mat()) {
            ChannelStats stats = HostKernels.imagesToNormalizedBlob(images, blob, scope, swap, scale, eps);
            assertEquals(4, blob.dims());
            assertArrayEquals(new int[] {n, cn, h, w}, new int[] {blob.size(0), blob.size(1), blob.size(2), blob.size(3)});
            double[][] ref = Reference.imageStats(images, scope);
            float[] out = new float[n * cn * h * w];
            new FloatPointer(blob.data()).get(out);
            double maxErr = 0;
            for (int i = 0; i < n; i++) for (int k = 0; k < cn; k++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
                int j = Reference.sourceChannel(k, cn, swap);
                int idx = (scope == StatsScope.SAMPLE ? i * cn : 0) + j;
                double p = Reference.pixel(images, i, y, x, j);
                double expected = (p * scale - ref[0][idx] * scale) / Math.sqrt(ref[1][idx] * scale * scale + eps);
                double actual = out[((i * cn + k) * h + y) * w + x];
                maxErr = Math.max(maxErr, Math.abs(actual - expected) / (1 + Math.abs(expected)));
            }
            assertTrue(maxErr < 1e-5, "max relative error " + maxErr);
            assertEquals(ref[0][0], stats.mean(0, 0), 1e-9);
        }
    }

    @ParameterizedTest(name = "{0}x{1}x{2} swap={3}")
    @CsvSource({"1, 1, 3, false", "17, 23, 3, true", "40, 41, 1, false", "8, 300, 4, true"})
    void preprocessingThenPostprocessingReturnsTheOriginalPixels(int h, int w, int cn, boolean swap) {
        List<Mat> images = TestData.images(3, h, w, cn, 2, h * 31L + w);
        try (Mat blob = new Mat()) {
            ChannelStats stats = HostKernels.imagesToNormalizedBlob(images, blob, StatsScope.SAMPLE, swap, 1 / 255.0, 1e-5);
            List<Mat> back = newMats(3);
            HostKernels.blobToImages(blob, back, stats, swap, 1 / 255.0, 1e-5);
            for (int i = 0; i < 3; i++) assertImagesEqual(images.get(i), back.get(i));

            HostKernels.imagesToBlob(images, blob, PixelMapping.symmetric(), swap);
            HostKernels.blobToImages(blob, back, PixelMapping.symmetric(), swap);
            for (int i = 0; i < 3; i++) assertImagesEqual(images.get(i), back.get(i));
        }
    }

    @Test
    void symmetricMappingSendsPixelsToMinusOneToOne() {
        List<Mat> images = TestData.images(1, 2, 2, 3, 0, 1);
        images.get(0).data().put(0, (byte) 0).put(1, (byte) 255).put(2, (byte) 51);
        try (Mat blob = new Mat()) {
            HostKernels.imagesToBlob(images, blob, PixelMapping.symmetric(), true);
            FloatPointer f = new FloatPointer(blob.data());
            // swapRB: blob channel 0 reads image channel 2.
            assertEquals(51 / 127.5 - 1, f.get(0), 1e-6);
            assertEquals(1.0, f.get(4), 1e-6);
            assertEquals(-1.0, f.get(8), 1e-6);
        }
    }

    @Test
    void postprocessingRoundsHalfToEvenSaturatesAndMapsNanToZero() {
        float[] values = {0.5f, 1.5f, 2.5f, 254.5f, -3f, 300f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 127.49f};
        int[] expected = {0, 2, 2, 254, 0, 255, 0, 255, 0, 127};
        try (Mat blob = new Mat(new int[] {1, 1, 1, values.length}, CV_32F)) {
            new FloatPointer(blob.data()).put(values);
            List<Mat> out = newMats(1);
            // Identity mapping: mean 0, std 1, scale 1.
            HostKernels.blobToImages(blob, out, new PixelMapping(1.0, new double[] {0}, new double[] {1}), false);
            for (int x = 0; x < values.length; x++) {
                assertEquals(expected[x], out.get(0).ptr(0).get(x) & 0xff, "value " + values[x]);
            }
        }
    }

    @Test
    void batchStatisticsPoolAllImagesAndSampleStatisticsDoNot() {
        List<Mat> images = new ArrayList<>();
        for (int v : new int[] {10, 30}) {
            images.add(new Mat(4, 4, CV_8UC3, new Scalar(v, v, v, 0)));
        }
        ChannelStats batch = HostKernels.imageStatistics(images, StatsScope.BATCH);
        ChannelStats sample = HostKernels.imageStatistics(images, StatsScope.SAMPLE);
        assertEquals(20.0, batch.mean(0, 1));
        assertEquals(100.0, batch.variance(0, 1));
        assertEquals(10.0, sample.mean(0, 2));
        assertEquals(30.0, sample.mean(1, 0));
        assertEquals(0.0, sample.variance(1, 0));
    }

    static List<Mat> newMats(int n) {
        List<Mat> l = new ArrayList<>();
        for (int i = 0; i < n; i++) l.add(new Mat());
        return l;
    }

    static void assertImagesEqual(Mat a, Mat b) {
        assertEquals(a.rows(), b.rows());
        assertEquals(a.cols(), b.cols());
        assertEquals(a.type(), b.type());
        int rowBytes = a.cols() * a.channels();
        for (int y = 0; y < a.rows(); y++) {
            byte[] ra = new byte[rowBytes], rb = new byte[rowBytes];
            a.ptr(y).get(ra);
            b.ptr(y).get(rb);
            assertArrayEquals(ra, rb, "row " + y);
        }
    }
}
