package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.global.samplenorm;
import dev.samplenorm.testing.GpuTest;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.GpuMat;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Stream;
import org.junit.jupiter.api.Test;

/**
 * The CUDA kernels against the host kernels, on a GPU host (with OpenCV's CUDA build, -Pgpu): the
 * cases of benchmarks/gpu/kernel_check.cu as JUnit tests. Statistics must be bit-identical to the
 * CPU (both follow one canonical reduction), as must normalization and image conversion (the same
 * float operations in the same order). Without a GPU every test is reported as skipped, with the
 * reason ({@link GpuTest}); with -Dsamplenorm.requireGpu=true it fails instead.
 */
@GpuTest
class CudaKernelsTest {

    /** The kernel check's blob shapes, plus tiny planes with many channels and multi-level merges. */
    static final BlobShape[] BLOB_SHAPES = {
        new BlobShape(1, 1, 1, 1), new BlobShape(4, 3, 1, 1), new BlobShape(16, 64, 1, 1), new BlobShape(1, 3, 255, 257),
        new BlobShape(4, 3, 255, 257), new BlobShape(4, 64, 17, 13), new BlobShape(16, 3, 64, 64), new BlobShape(16, 1, 3, 1030),
        new BlobShape(1, 1, 1, 4099), new BlobShape(4, 1, 4099, 1),
        // Tiny planes, many channels: one thread per plane, one warp per plane.
        new BlobShape(16, 512, 2, 2), new BlobShape(8, 256, 4, 4), new BlobShape(2, 1024, 1, 3), new BlobShape(16, 512, 5, 5),
        new BlobShape(4, 128, 32, 32), new BlobShape(2, 4, 33, 33),
        // Many chunks per channel: two merge levels under batch scope.
        new BlobShape(5, 1, 1024, 1000)};

    /** The kernel check's image shapes (N, H, W, CN), plus tiny images. */
    static final int[][] IMAGE_SHAPES = {
        {1, 1, 1, 1}, {1, 1, 1, 3}, {4, 1, 1, 4}, {1, 255, 257, 1}, {1, 255, 257, 3}, {4, 255, 257, 4}, {16, 32, 33, 3},
        {16, 64, 64, 1}, {4, 3, 1030, 3}, {2, 1031, 5, 4}, {64, 2, 2, 3}};

    // --- helpers ------------------------------------------------------------------------------

    /** A device blob; with roi, a view one column into a wider GpuMat (base misaligned by 4 bytes, pitched rows). */
    static GpuMat uploadBlob(float[] x, BlobShape s, boolean roi, List<AutoCloseable> owned) {
        try (Mat host = new Mat(s.n() * s.c() * s.h(), s.w(), CV_32F)) {
            new FloatPointer(host.data()).put(x);
            GpuMat g;
            if (roi) {
                GpuMat wide = new GpuMat(s.n() * s.c() * s.h(), s.w() + 1, CV_32F);
                owned.add(wide);
                g = wide.colRange(1, s.w() + 1);
            } else {
                g = new GpuMat();
            }
            owned.add(g);
            g.upload(host);
            return g;
        }
    }

    static float[] downloadBlob(GpuMat g) {
        try (Mat host = new Mat()) {
            g.download(host);
            float[] out = new float[(int) host.total()];
            new FloatPointer(host.data()).get(out);
            return out;
        }
    }

    static GpuMat vector(float[] v, List<AutoCloseable> owned) {
        try (Mat host = new Mat(1, v.length, CV_32F)) {
            new FloatPointer(host.data()).put(v);
            GpuMat g = new GpuMat();
            owned.add(g);
            g.upload(host);
            return g;
        }
    }

    /** Device copies of host images; with roi each is a view one pixel into a wider GpuMat. */
    static List<GpuMat> uploadImages(List<Mat> images, boolean roi, List<AutoCloseable> owned) {
        List<GpuMat> out = new ArrayList<>();
        for (Mat m : images) {
            GpuMat g;
            if (roi) {
                GpuMat wide = new GpuMat(m.rows(), m.cols() + 1, m.type());
                owned.add(wide);
                g = wide.colRange(1, m.cols() + 1);
            } else {
                g = new GpuMat();
            }
            owned.add(g);
            g.upload(m);
            out.add(g);
        }
        return out;
    }

    static void closeAll(List<AutoCloseable> owned) throws Exception {
        for (int i = owned.size() - 1; i >= 0; i--) owned.get(i).close();
    }

    static float[] floats(Mat blob) {
        float[] out = new float[(int) blob.total()];
        new FloatPointer(blob.data()).get(out);
        return out;
    }

    static byte[] bytes(Mat image) {
        try (Mat c = image.clone()) {
            byte[] out = new byte[(int) (c.total() * c.channels())];
            c.data().get(out);
            return out;
        }
    }

    // --- statistics ---------------------------------------------------------------------------

    @Test
    void blobStatisticsAreBitIdenticalToTheCpu() throws Exception {
        for (BlobShape s : BLOB_SHAPES) {
            float[] x = TestData.gaussian(s, s.hashCode(), 0.25, 2.0);
            for (boolean roi : new boolean[] {false, true}) {
                List<AutoCloseable> owned = new ArrayList<>();
                try (Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream)) {
                    GpuMat g = uploadBlob(x, s, roi, owned);
                    for (StatsScope scope : StatsScope.values()) {
                        ChannelStats cpu = HostKernels.statistics(x, s, scope);
                        try (DeviceChannelStats d = k.statistics(g, s, scope)) {
                            ChannelStats gpu = d.download(stream);
                            String what = s + " " + scope + (roi ? " roi" : "");
                            assertArrayEquals(cpu.means(), gpu.means(), what + " means");
                            assertArrayEquals(cpu.variances(), gpu.variances(), what + " variances");
                        }
                    }
                } finally {
                    closeAll(owned);
                }
            }
        }
    }

    @Test
    void blobStatisticsWithALargeCommonOffsetAndNaNMatchTheCpu() throws Exception {
        BlobShape s = new BlobShape(2, 3, 1000, 1000);
        float[] x = TestData.gaussian(s, 4242, 1000.0, 0.01);
        x[s.planeSize() * 4 + 77] = Float.NaN;  // sample 1, channel 1
        List<AutoCloseable> owned = new ArrayList<>();
        try (Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream)) {
            GpuMat g = uploadBlob(x, s, false, owned);
            for (StatsScope scope : StatsScope.values()) {
                ChannelStats cpu = HostKernels.statistics(x, s, scope);
                try (DeviceChannelStats d = k.statistics(g, s, scope)) {
                    ChannelStats gpu = d.download(stream);
                    assertArrayEquals(cpu.means(), gpu.means(), scope + " means");
                    assertArrayEquals(cpu.variances(), gpu.variances(), scope + " variances");
                    assertTrue(Double.isNaN(gpu.variance(1, 1)));
                }
            }
        } finally {
            closeAll(owned);
        }
    }

    @Test
    void imageStatisticsAreBitIdenticalToTheCpu() throws Exception {
        for (int[] sh : IMAGE_SHAPES) {
            List<Mat> images = TestData.images(sh[0], sh[1], sh[2], sh[3], 3, sh[0] * 131L + sh[2]);
            for (boolean roi : new boolean[] {false, true}) {
                List<AutoCloseable> owned = new ArrayList<>();
                try (Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream)) {
                    List<GpuMat> g = uploadImages(images, roi, owned);
                    for (StatsScope scope : StatsScope.values()) {
                        ChannelStats cpu = HostKernels.imageStatistics(images, scope);
                        try (DeviceChannelStats d = k.imageStatistics(g, scope)) {
                            ChannelStats gpu = d.download(stream);
                            String what = java.util.Arrays.toString(sh) + " " + scope + (roi ? " roi" : "");
                            assertArrayEquals(cpu.means(), gpu.means(), what);
                            assertArrayEquals(cpu.variances(), gpu.variances(), what);
                        }
                    }
                } finally {
                    closeAll(owned);
                }
            }
        }
    }

    // --- normalization ------------------------------------------------------------------------

    @Test
    void normalizeWithGammaAndBetaAndInPlaceIsBitIdenticalToTheCpu() throws Exception {
        for (BlobShape s : new BlobShape[] {new BlobShape(4, 3, 255, 257), new BlobShape(16, 512, 2, 2), new BlobShape(4, 64, 17, 13),
                new BlobShape(1, 4, 3, 1030)}) {
            float[] x = TestData.gaussian(s, s.hashCode() + 5, 1000.0, 0.5);
            SplittableRandom r = new SplittableRandom(s.hashCode());
            float[] gamma = new float[s.c()], beta = new float[s.c()];
            for (int i = 0; i < s.c(); i++) {
                gamma[i] = (float) r.nextDouble(0.5, 2.0);
                beta[i] = (float) r.nextDouble(-0.75, 0.75);
            }
            for (StatsScope scope : StatsScope.values()) {
                ChannelStats stats = HostKernels.statistics(x, s, scope);
                for (boolean affine : new boolean[] {false, true}) {
                    float[] want = new float[x.length];
                    HostKernels.normalize(x, want, s, stats, affine ? gamma : null, affine ? beta : null, 1e-5);
                    for (boolean roi : new boolean[] {false, true}) {
                        List<AutoCloseable> owned = new ArrayList<>();
                        try (Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream);
                                DeviceChannelStats d = DeviceChannelStats.upload(stats, stream)) {
                            GpuMat src = uploadBlob(x, s, roi, owned);
                            GpuMat g = affine ? vector(gamma, owned) : null, b = affine ? vector(beta, owned) : null;
                            GpuMat out = new GpuMat();
                            owned.add(out);
                            k.normalize(src, out, s, d, g, b, 1e-5);
                            String what = s + " " + scope + " affine=" + affine + " roi=" + roi;
                            assertArrayEquals(want, downloadBlob(out), what);
                            k.normalize(src, src, s, d, g, b, 1e-5);  // in place
                            assertArrayEquals(want, downloadBlob(src), what + " in place");
                        } finally {
                            closeAll(owned);
                        }
                    }
                }
            }
        }
    }

    @Test
    void statisticsThenNormalizeOnTheDeviceMatchTheCpuPipeline() throws Exception {
        BlobShape s = new BlobShape(16, 3, 64, 64);
        float[] x = TestData.gaussian(s, 9, 3.0, 2.0);
        List<AutoCloseable> owned = new ArrayList<>();
        try (Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream)) {
            GpuMat g = uploadBlob(x, s, true, owned);
            for (StatsScope scope : StatsScope.values()) {
                float[] want = new float[x.length];
                HostKernels.normalize(x, want, s, HostKernels.statistics(x, s, scope), null, null, 1e-5);
                GpuMat out = new GpuMat();
                owned.add(out);
                try (DeviceChannelStats d = k.statistics(g, s, scope)) {
                    k.normalize(g, out, s, d, null, null, 1e-5);
                }
                assertArrayEquals(want, downloadBlob(out), scope.toString());
            }
        } finally {
            closeAll(owned);
        }
    }

    // --- pre- and post-processing -------------------------------------------------------------

    @Test
    void preAndPostProcessingAreBitIdenticalToTheCpu() throws Exception {
        for (int[] sh : IMAGE_SHAPES) {
            int n = sh[0], h = sh[1], w = sh[2], cn = sh[3];
            List<Mat> images = TestData.images(n, h, w, cn, 2, n * 7L + w);
            for (StatsScope scope : StatsScope.values()) {
                for (boolean swap : cn == 1 ? new boolean[] {false} : new boolean[] {false, true}) {
                    List<AutoCloseable> owned = new ArrayList<>();
                    try (Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream); Mat hostBlob = new Mat()) {
                        String what = java.util.Arrays.toString(sh) + " " + scope + " swap=" + swap;
                        ChannelStats cpu = HostKernels.imagesToNormalizedBlob(images, hostBlob, scope, swap, 1 / 127.5, 1e-5);
                        List<GpuMat> g = uploadImages(images, true, owned);
                        GpuMat blob = new GpuMat();
                        owned.add(blob);
                        try (DeviceChannelStats d = k.imagesToNormalizedBlob(g, blob, scope, swap, 1 / 127.5, 1e-5)) {
                            assertArrayEquals(cpu.means(), d.download(stream).means(), what);
                            assertArrayEquals(floats(hostBlob), downloadBlob(blob), what + " blob");
                            // Post-processing of a perturbed blob: same bytes as the CPU, saturation included.
                            float[] y = floats(hostBlob);
                            SplittableRandom r = new SplittableRandom(y.length);
                            for (int i = 0; i < y.length; i++) y[i] += (float) r.nextDouble(-3, 3);
                            BlobShape bs = new BlobShape(n, cn, h, w);
                            List<Mat> wantImages = new ArrayList<>();
                            for (int i = 0; i < n; i++) wantImages.add(new Mat());
                            try (Mat yHost = new Mat(new int[] {n, cn, h, w}, CV_32F)) {
                                new FloatPointer(yHost.data()).put(y);
                                HostKernels.blobToImages(yHost, wantImages, cpu, swap, 1 / 127.5, 1e-5);
                            }
                            GpuMat yDev = uploadBlob(y, bs, true, owned);
                            List<GpuMat> back = new ArrayList<>();
                            for (int i = 0; i < n; i++) {
                                GpuMat b = new GpuMat();
                                owned.add(b);
                                back.add(b);
                            }
                            k.blobToImages(yDev, bs, back, d, swap, 1 / 127.5, 1e-5);
                            for (int i = 0; i < n; i++) {
                                try (Mat m = new Mat()) {
                                    back.get(i).download(m);
                                    assertArrayEquals(bytes(wantImages.get(i)), bytes(m), what + " image " + i);
                                }
                                wantImages.get(i).close();
                            }
                        }
                    } finally {
                        closeAll(owned);
                    }
                }
            }
        }
    }

    // --- stream ordering, ownership, workspaces -----------------------------------------------

    @Test
    void aConsumerOnAnotherStreamWaitsForTheProducer() throws Exception {
        BlobShape s = new BlobShape(16, 3, 512, 512);  // heavy enough that an unordered read would race
        float[] x = TestData.gaussian(s, 31, -2.0, 3.0);
        ChannelStats cpu = HostKernels.statistics(x, s, StatsScope.BATCH);
        float[] want = new float[x.length];
        HostKernels.normalize(x, want, s, cpu, null, null, 1e-5);
        List<AutoCloseable> owned = new ArrayList<>();
        try (Stream producer = new Stream(); Stream consumer = new Stream(); CudaKernels kp = CudaKernels.on(producer);
                CudaKernels kc = CudaKernels.on(consumer)) {
            GpuMat g = uploadBlob(x, s, false, owned);
            GpuMat out = new GpuMat();
            owned.add(out);
            for (int rep = 0; rep < 3; rep++) {
                DeviceChannelStats d = kp.statistics(g, s, StatsScope.BATCH);
                kc.normalize(g, out, s, d, null, null, 1e-5);
                d.close();  // freed on the producer stream after the consumer's read
                consumer.waitForCompletion();
                assertArrayEquals(want, downloadBlob(out), "rep " + rep);
            }
            // Downloading on the consumer stream waits for the producer as well.
            try (DeviceChannelStats d = kp.statistics(g, s, StatsScope.SAMPLE)) {
                assertArrayEquals(HostKernels.statistics(x, s, StatsScope.SAMPLE).variances(), d.download(consumer).variances());
            }
        } finally {
            closeAll(owned);
        }
    }

    @Test
    void deviceStatisticsSurviveTheCallersPointerScopeAndRefuseUseAfterClose() throws Exception {
        BlobShape s = new BlobShape(2, 3, 17, 19);
        float[] x = TestData.gaussian(s, 3, 0, 1);
        List<AutoCloseable> owned = new ArrayList<>();
        try (Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream)) {
            GpuMat g = uploadBlob(x, s, false, owned);
            DeviceChannelStats d;
            try (PointerScope scope = new PointerScope()) {
                d = k.statistics(g, s, StatsScope.SAMPLE);
                new DoublePointer(16).put(1.0);  // something the scope does own
            }
            assertArrayEquals(HostKernels.statistics(x, s, StatsScope.SAMPLE).means(), d.download(stream).means());
            d.close();
            d.close();
            assertThrows(IllegalStateException.class, () -> d.download(stream));
            GpuMat out = new GpuMat();
            owned.add(out);
            assertThrows(IllegalStateException.class, () -> k.normalize(g, out, s, d, null, null, 1e-5));
        } finally {
            closeAll(owned);
        }
        CudaKernels closed;
        try (Stream stream = new Stream()) {
            closed = CudaKernels.on(stream);
            closed.close();
            closed.close();
        }
        assertThrows(IllegalStateException.class, () -> closed.statistics(new GpuMat(1, 1, CV_32F), new BlobShape(1, 1, 1, 1), StatsScope.BATCH));
    }

    @Test
    void repeatedCallsWithTheSameShapesDoNotReallocateScratch() throws Exception {
        BlobShape s = new BlobShape(8, 3, 300, 301);
        float[] x = TestData.gaussian(s, 12, 0, 1);
        List<AutoCloseable> owned = new ArrayList<>();
        try (Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream)) {
            GpuMat g = uploadBlob(x, s, false, owned);
            GpuMat out = new GpuMat();
            owned.add(out);
            List<Mat> images = TestData.images(4, 40, 50, 3, 0, 5);
            List<GpuMat> gi = uploadImages(images, false, owned);
            Runnable round = () -> {
                try (DeviceChannelStats d = k.statistics(g, s, StatsScope.BATCH);
                        DeviceChannelStats di = k.imageStatistics(gi, StatsScope.SAMPLE)) {
                    k.normalize(g, out, s, d, null, null, 1e-5);
                }
            };
            round.run();
            long workspaces = k.workspaceAllocations();
            long nativeAllocations = NativeKernels.cudaAllocationCount();
            for (int i = 0; i < 5; i++) round.run();
            stream.waitForCompletion();
            assertEquals(workspaces, k.workspaceAllocations(), "workspace reallocated for the same shapes");
            // Only the two results of each round are allocated (stream-ordered, from the pool).
            assertEquals(nativeAllocations + 5 * 2, NativeKernels.cudaAllocationCount());
        } finally {
            closeAll(owned);
        }
    }

    @Test
    void hostMemoryIsRefusedAsDeviceMemory() {
        try (Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream); Mat host = new Mat(4, 4, CV_32F);
                DoublePointer m = new DoublePointer(4); DoublePointer v = new DoublePointer(4)) {
            int status = samplenorm.blob_stats_cuda(host.data(), host.step(), 1, 1, 4, 4, 0, m, v, null, 0, null);
            assertEquals(samplenorm.SN_INVALID_ARGUMENT, status);
            assertTrue(samplenorm.last_error_message().getString().contains("not CUDA device memory"));
            assertEquals(0, k.workspaceAllocations());
        }
    }

    @Test
    void debugSyncModeReportsNothingForCorrectCallsAndKeepsResults() throws Exception {
        BlobShape s = new BlobShape(4, 3, 65, 67);
        float[] x = TestData.gaussian(s, 21, 1, 1);
        boolean before = NativeKernels.cudaDebugSync();
        List<AutoCloseable> owned = new ArrayList<>();
        NativeKernels.setCudaDebugSync(true);
        try (Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream)) {
            GpuMat g = uploadBlob(x, s, true, owned);
            try (DeviceChannelStats d = k.statistics(g, s, StatsScope.SAMPLE)) {
                assertArrayEquals(HostKernels.statistics(x, s, StatsScope.SAMPLE).means(), d.download(stream).means());
            }
        } finally {
            NativeKernels.setCudaDebugSync(before);
            closeAll(owned);
        }
    }
}
