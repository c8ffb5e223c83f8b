package dev.samplenorm.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.global.samplenorm;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.Buffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.junit.jupiter.api.Test;

/**
 * The native contract as far as it can be checked without a GPU: status codes and how Java maps
 * them (by code, never by message text), the shape of the raw CUDA bindings, the debug-mode switch,
 * the workspace reuse policy, the workspace plan of the statistics reduction, and the canonical
 * reduction order that the CPU kernel (and, on a GPU host, the CUDA kernel) must follow bit for bit.
 */
class NativeContractTest {

    // --- status codes -------------------------------------------------------------------------

    @Test
    void everyFailureStatusMapsToItsOwnExceptionByCode() {
        assertInstanceOf(IllegalArgumentException.class, NativeKernels.exceptionFor(samplenorm.SN_INVALID_ARGUMENT, "bad"));
        assertEquals(SampleNormException.Code.BUILT_WITHOUT_CUDA, code(samplenorm.SN_BUILT_WITHOUT_CUDA));
        assertEquals(SampleNormException.Code.NO_CUDA_DEVICE, code(samplenorm.SN_NO_CUDA_DEVICE));
        assertEquals(SampleNormException.Code.CUDA_ERROR, code(samplenorm.SN_CUDA_ERROR));
        assertEquals(SampleNormException.Code.OUT_OF_MEMORY, code(samplenorm.SN_OUT_OF_MEMORY));
        assertEquals(SampleNormException.Code.NATIVE_ERROR, code(samplenorm.SN_INTERNAL));
        // The code decides, not the text: a message that reads like another failure changes nothing.
        assertEquals(SampleNormException.Code.CUDA_ERROR,
                ((SampleNormException) NativeKernels.exceptionFor(samplenorm.SN_CUDA_ERROR, "samplenorm: no CUDA device, built without CUDA")).code());
        RuntimeException unknown = NativeKernels.exceptionFor(99, "odd");
        assertEquals(SampleNormException.Code.NATIVE_ERROR, ((SampleNormException) unknown).code());
        assertTrue(unknown.getMessage().contains("unknown status 99"), unknown.getMessage());
        // Every native value round-trips through the Java enum.
        for (NativeKernels.Status s : NativeKernels.Status.values()) assertEquals(s, NativeKernels.Status.of(s.nativeValue));
        assertEquals(7, Set.of(samplenorm.SN_OK, samplenorm.SN_INVALID_ARGUMENT, samplenorm.SN_BUILT_WITHOUT_CUDA, samplenorm.SN_NO_CUDA_DEVICE,
                samplenorm.SN_CUDA_ERROR, samplenorm.SN_OUT_OF_MEMORY, samplenorm.SN_INTERNAL).size());
    }

    private static SampleNormException.Code code(int status) {
        return ((SampleNormException) NativeKernels.exceptionFor(status, "m")).code();
    }

    @Test
    void invalidArgumentsReturnTheirStatusAndAThreadLocalMessage() throws Exception {
        NativeKernels.ensureLoaded();
        int status = samplenorm.blob_stats(new float[4], 16, 1, 1, 1, 4, 7, new double[1], new double[1]);
        assertEquals(samplenorm.SN_INVALID_ARGUMENT, status);
        String message = samplenorm.last_error_message().getString();
        assertTrue(message.contains("expected scope SN_SCOPE_BATCH (0) or SN_SCOPE_SAMPLE (1), got 7"), message);
        // Another thread has its own last error.
        String other = CompletableFuture.supplyAsync(() -> samplenorm.last_error_message().getString()).get();
        assertFalse(other.contains("expected scope"), other);
        // A successful call returns SN_OK.
        double[] mean = new double[1], var = new double[1];
        assertEquals(samplenorm.SN_OK, samplenorm.blob_stats(new float[] {1, 2, 3, 4}, 16, 1, 1, 1, 4, 0, mean, var));
        assertEquals(2.5, mean[0]);
        assertEquals(1.25, var[0]);
        // Through the facade: IllegalArgumentException with the native message.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeKernels.call(
                () -> samplenorm.blob_stats(new float[4], 8, 1, 1, 1, 4, 0, new double[1], new double[1])));
        assertTrue(e.getMessage().contains(">= W * 4"), e.getMessage());
    }

    @Test
    void cudaEntryPointsWithoutADeviceReturnTheirStatusNotACrash() {
        assumeTrue(NativeKernels.cudaDeviceCount() == 0, "a CUDA device is present: the GPU suite covers the device paths");
        int expected = NativeKernels.builtWithCuda() ? samplenorm.SN_NO_CUDA_DEVICE : samplenorm.SN_BUILT_WITHOUT_CUDA;
        SampleNormException.Code expectedCode = NativeKernels.builtWithCuda()
                ? SampleNormException.Code.NO_CUDA_DEVICE : SampleNormException.Code.BUILT_WITHOUT_CUDA;
        // Valid in shape; the fake device pointers are never dereferenced.
        try (FloatPointer fake = new FloatPointer(16); DoublePointer m = new DoublePointer(1); DoublePointer v = new DoublePointer(1)) {
            assertEquals(expected, samplenorm.blob_stats_cuda(fake, 16, 1, 1, 1, 4, samplenorm.SN_SCOPE_BATCH, m, v, null, 0, null));
            assertEquals(expected, samplenorm.blob_normalize_cuda(fake, 16, fake, 16, 1, 1, 1, 4, 0, m, v, null, null, 1e-5, null, 0, null));
            SampleNormException e = assertThrows(SampleNormException.class, () -> NativeKernels.call(
                    () -> samplenorm.blob_stats_cuda(fake, 16, 1, 1, 1, 4, samplenorm.SN_SCOPE_BATCH, m, v, null, 0, null)));
            assertEquals(expectedCode, e.code(), e.getMessage());
            // Arguments are checked before the device: a bad scope is INVALID_ARGUMENT even here.
            assertEquals(samplenorm.SN_INVALID_ARGUMENT, samplenorm.blob_stats_cuda(fake, 16, 1, 1, 1, 4, 5, m, v, null, 0, null));
            assertEquals(samplenorm.SN_INVALID_ARGUMENT, samplenorm.blob_stats_cuda(null, 16, 1, 1, 1, 4, 0, m, v, null, 0, null));
            assertEquals(samplenorm.SN_INVALID_ARGUMENT, samplenorm.blob_normalize_cuda(fake, 16, fake, 16, 1, 1, 1, 4, 0, m, v, null, null, 0,
                    null, 0, null));
            // Memory and event helpers answer the same way.
            try (PointerPointer<?> out = new PointerPointer<>(1)) {
                assertEquals(expected, samplenorm.cuda_malloc_async(out, 64, 0, null));
                assertEquals(expected, samplenorm.cuda_event_create(out, 0));
            }
        }
        // The facade refuses before touching any CUDA object.
        SampleNormException e = assertThrows(SampleNormException.class,
                () -> CudaKernels.on(new org.bytedeco.opencv.opencv_core.Stream((Pointer) null)));
        assertEquals(expectedCode, e.code());
    }

    @Test
    void theStatisticsWorkspacePlanCoversTinyPlanesAndMultiLevelMerges() {
        assumeTrue(NativeKernels.builtWithCuda(), "the CPU variant of the native library is loaded: it has no CUDA workspace plan");
        // 16 x 512 x 2 x 2, batch scope: one chunk per plane, 16 chunk moments per channel, one merge level.
        assertEquals(8192L * 24, workspace(16, 512, 2, 2, StatsScope.BATCH));
        // Sample scope with one chunk per plane: the chunk kernel writes the results, no scratch.
        assertEquals(0, workspace(16, 512, 2, 2, StatsScope.SAMPLE));
        // 64 x 3 x 1024 x 1024, batch scope: 16384 chunk moments per channel merged by 16 groups per
        // channel (48 warps in parallel), then one more level: two buffers (second one 256-aligned).
        assertEquals(192L * 256 * 24 + 1280, workspace(64, 3, 1024, 1024, StatsScope.BATCH));
        try (SizeTPointer out = new SizeTPointer(1)) {
            assertEquals(samplenorm.SN_INVALID_ARGUMENT, samplenorm.blob_stats_cuda_workspace(0, 1, 1, 1, 0, out));
            assertEquals(samplenorm.SN_OK, samplenorm.blob_normalize_cuda_workspace(16, 512, 2, 2, out));
            assertEquals(8192L * 16, out.get());
            // Images: 512 x 512 x 512 x 3 under batch scope has 32768 chunk partials per channel, added
            // by 8 blocks per channel, then the 8 group sums (second buffer, 256-aligned).
            assertEquals(samplenorm.SN_OK, samplenorm.image_stats_cuda_workspace(512, 512, 512, 3, 0, out));
            assertEquals(32768L * 3 * 16 + 512, out.get());
            assertEquals(samplenorm.SN_OK, samplenorm.image_stats_cuda_workspace(512, 512, 512, 3, 1, out));
            assertEquals(32768L * 3 * 16, out.get());
        }
    }

    private static long workspace(int n, int c, int h, int w, StatsScope scope) {
        try (SizeTPointer out = new SizeTPointer(1)) {
            NativeKernels.call(() -> samplenorm.blob_stats_cuda_workspace(n, c, h, w, scope.nativeValue, out));
            return out.get();
        }
    }

    // --- binding shape ----------------------------------------------------------------------------

    @Test
    void cudaBindingsTakeOnlyPointersNeverJavaArraysOrBuffers() {
        Set<String> allowed = Set.of("int", "long", "double", "boolean");
        Set<String> names = new TreeSet<>();
        List<String> violations = new ArrayList<>();
        for (Method m : samplenorm.class.getDeclaredMethods()) {
            // The kernel bindings: name ends in _cuda, and they take arguments (built_with_cuda() takes none).
            if (!Modifier.isStatic(m.getModifiers()) || !m.getName().endsWith("_cuda") || m.getParameterCount() == 0) continue;
            names.add(m.getName());
            for (Class<?> p : m.getParameterTypes()) {
                boolean ok = allowed.contains(p.getName()) || Pointer.class.isAssignableFrom(p);
                if (!ok || p.isArray() || Buffer.class.isAssignableFrom(p)) violations.add(m + ": " + p.getName());
            }
            // Device data is untyped (void*): a FloatPointer or DoublePointer parameter would mean that a
            // typed overload, and with it array and buffer overloads, could come back.
            for (Class<?> p : m.getParameterTypes()) {
                if (p == FloatPointer.class || p == DoublePointer.class) violations.add(m + ": typed device pointer " + p.getSimpleName());
            }
        }
        assertEquals(new TreeSet<>(List.of("blob_normalize_cuda", "blob_stats_cuda", "blob_to_images_cuda", "image_stats_cuda",
                "images_to_blob_cuda")), names);
        assertTrue(violations.isEmpty(), String.join("\n", violations));
        // The image batch is a host array of device pointers: PointerPointer (or BytePointer by pointer-to-pointer).
        for (Method m : samplenorm.class.getDeclaredMethods()) {
            if (m.getName().equals("image_stats_cuda")) {
                Class<?> first = m.getParameterTypes()[0];
                assertTrue(first == PointerPointer.class || first == BytePointer.class, m.toString());
            }
        }
    }

    // --- debug mode -------------------------------------------------------------------------------

    @Test
    void debugSyncIsParsedFromThePropertyThenTheEnvironment() {
        assertNull(NativeKernels.debugSyncRequested(null, null));
        assertNull(NativeKernels.debugSyncRequested(" ", ""));
        assertEquals(Boolean.TRUE, NativeKernels.debugSyncRequested("true", null));
        assertEquals(Boolean.TRUE, NativeKernels.debugSyncRequested(null, "1"));
        assertEquals(Boolean.TRUE, NativeKernels.debugSyncRequested(" TRUE ", "0"));
        assertEquals(Boolean.FALSE, NativeKernels.debugSyncRequested("false", "1"));
        assertEquals(Boolean.FALSE, NativeKernels.debugSyncRequested(null, "0"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeKernels.debugSyncRequested("sometimes", null));
        assertTrue(e.getMessage().contains(NativeKernels.DEBUG_SYNC_PROPERTY), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NativeKernels.debugSyncRequested(null, "2"));
        assertTrue(e.getMessage().contains(NativeKernels.DEBUG_SYNC_ENV), e.getMessage());
    }

    @Test
    void debugSyncReachesTheNativeLibrary() {
        boolean before = NativeKernels.cudaDebugSync();
        try {
            NativeKernels.setCudaDebugSync(true);
            // Only the GPU variant has a debug mode; the CPU variant has no launches to synchronize.
            assertEquals(NativeKernels.builtWithCuda(), NativeKernels.cudaDebugSync());
            NativeKernels.setCudaDebugSync(false);
            assertFalse(NativeKernels.cudaDebugSync());
        } finally {
            NativeKernels.setCudaDebugSync(before);
        }
    }

    // --- workspace reuse ------------------------------------------------------------------------

    @Test
    void workspacesAreReusedPerDeviceAndGrowOnlyWhenNeeded() {
        List<String> log = new ArrayList<>();
        long[] next = {0x1000};
        DeviceWorkspaces ws = new DeviceWorkspaces(new DeviceWorkspaces.Allocator() {
            @Override
            public long allocate(int device, long bytes) {
                log.add("alloc " + device + " " + bytes);
                return next[0] += 0x1000;
            }

            @Override
            public void free(int device, long address) {
                log.add("free " + device + " " + Long.toHexString(address));
            }
        });
        assertEquals(0, ws.get(0, 0));
        long a = ws.get(0, 1000);
        for (int i = 0; i < 5; i++) assertEquals(a, ws.get(0, 1000), "same shape, same buffer");
        assertEquals(a, ws.get(0, 10), "smaller requests reuse the buffer");
        assertEquals(1, ws.allocations());
        long b = ws.get(1, 1000);
        assertTrue(b != a, "each device has its own buffer");
        assertEquals(2, ws.allocations());
        long c = ws.get(0, 5000);
        assertEquals(3, ws.allocations());
        assertEquals(c, ws.get(0, 5000));
        assertEquals(5000, ws.bytes(0));
        assertEquals(List.of("alloc 0 1000", "alloc 1 1000", "free 0 " + Long.toHexString(a), "alloc 0 5000"), log);
        ws.close();
        ws.close();
        assertEquals(6, log.size(), log.toString());
        assertThrows(IllegalStateException.class, () -> ws.get(0, 1));
    }

    // --- canonical reduction ----------------------------------------------------------------------

    @Test
    void hostStatisticsFollowTheCanonicalReductionBitForBit() {
        BlobShape[] shapes = {
            new BlobShape(1, 1, 1, 1), new BlobShape(16, 64, 2, 2), new BlobShape(4, 3, 1, 17), new BlobShape(2, 3, 33, 31),
            new BlobShape(3, 3, 64, 65), new BlobShape(2, 1, 100, 4099), new BlobShape(1, 2, 1, 12289)};
        for (BlobShape s : shapes) {
            float[] x = TestData.gaussian(s, s.hashCode(), 1000.0, 0.01);
            for (StatsScope scope : StatsScope.values()) {
                double[][] want = CanonicalReduction.stats(x, s, scope);
                ChannelStats got = HostKernels.statistics(x, s, scope);
                assertArrayEquals(want[0], got.means(), s + " " + scope + " means");
                assertArrayEquals(want[1], got.variances(), s + " " + scope + " variances");
            }
        }
    }

    @Test
    void hostStatisticsMergeInSeveralLevelsWhenAChannelHasManyChunks() {
        // 2 x 1 x 1500 x 1500: 550 chunks per plane, 1100 per channel under batch scope (> 1024:
        // two merge levels).
        BlobShape s = new BlobShape(2, 1, 1500, 1500);
        float[] x = TestData.gaussian(s, 77, -3.0, 4.0);
        double[][] want = CanonicalReduction.stats(x, s, StatsScope.BATCH);
        ChannelStats got = HostKernels.statistics(x, s, StatsScope.BATCH);
        assertArrayEquals(want[0], got.means());
        assertArrayEquals(want[1], got.variances());
        double[][] ref = Reference.stats(x, s, StatsScope.BATCH);
        assertEquals(ref[0][0], got.means()[0], 1e-12 * 4);
        assertEquals(ref[1][0], got.variances()[0], 1e-12 * ref[1][0] * 16);
    }

    @Test
    void nanAndConstantChannelsFollowTheDocumentedPolicy() {
        BlobShape s = new BlobShape(2, 2, 3, 5);
        float[] x = new float[s.elements()];
        Arrays.fill(x, 7.25f);
        x[s.planeSize() + 4] = Float.NaN;  // sample 0, channel 1
        ChannelStats batch = HostKernels.statistics(x, s, StatsScope.BATCH);
        assertEquals(7.25, batch.mean(0, 0));
        assertEquals(0.0, batch.variance(0, 0));
        assertTrue(Double.isNaN(batch.mean(0, 1)) && Double.isNaN(batch.variance(0, 1)));
        double[][] want = CanonicalReduction.stats(x, s, StatsScope.SAMPLE);
        ChannelStats sample = HostKernels.statistics(x, s, StatsScope.SAMPLE);
        assertArrayEquals(want[0], sample.means());
        assertArrayEquals(want[1], sample.variances());
    }
}
