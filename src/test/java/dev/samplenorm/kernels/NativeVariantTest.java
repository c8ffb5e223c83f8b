package dev.samplenorm.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.global.samplenorm;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Which native variant is loaded, and how its CUDA entry points behave without a device. The
 * build tells the test which variant to expect ({@code samplenorm.test.expectedVariant}: {@code gpu}
 * where the GPU variant was built and the CUDA runtime is present, else {@code cpu}).
 */
class NativeVariantTest {

    private static final String EXPECTED = System.getProperty("samplenorm.test.expectedVariant", "cpu");

    @Test
    void theExpectedVariantIsLoaded() {
        assertEquals(EXPECTED.equals("gpu"), NativeKernels.builtWithCuda(), "loaded " + NativeKernels.version());
        assertTrue(NativeKernels.version().contains(EXPECTED.equals("gpu") ? "cuda" : "cpu"), NativeKernels.version());
    }

    @Test
    void withoutAUsableDeviceCudaEntryPointsFailWithAClearErrorInsteadOfCrashing() {
        Assumptions.assumeTrue(NativeKernels.cudaDeviceCount() == 0,
                "a CUDA device is present (" + NativeKernels.cudaStatus() + "): the no-device path is covered on machines without one");
        SampleNormException.Code expected = NativeKernels.builtWithCuda()
                ? SampleNormException.Code.NO_CUDA_DEVICE : SampleNormException.Code.BUILT_WITHOUT_CUDA;
        // Raw binding: arguments are valid in shape, the device pointers are never dereferenced.
        try (FloatPointer fake = new FloatPointer(16); DoublePointer m = new DoublePointer(1); DoublePointer v = new DoublePointer(1)) {
            SampleNormException e = assertThrows(SampleNormException.class, () -> NativeKernels.call(
                    () -> samplenorm.blob_stats_cuda(fake, 16, 1, 1, 1, 4, samplenorm.SN_SCOPE_BATCH, m, v, null, 0, null)));
            assertEquals(expected, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains(expected == SampleNormException.Code.NO_CUDA_DEVICE ? "no CUDA device" : "built without CUDA"));
        }
        // Facade: refused before any CUDA object is touched.
        SampleNormException e = assertThrows(SampleNormException.class,
                () -> CudaKernels.on(new org.bytedeco.opencv.opencv_core.Stream((Pointer) null)));
        assertEquals(expected, e.code());
        assertTrue(!NativeKernels.cudaStatus().isBlank());
    }

    @Test
    void nativeArgumentChecksBackUpTheJavaOnes() {
        // Called directly, the native layer still refuses a bad argument with a readable message.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeKernels.call(
                () -> samplenorm.blob_stats(new float[4], 4, 1, 1, 1, 4, 7, new double[1], new double[1])));
        assertTrue(e.getMessage().contains("expected scope"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NativeKernels.call(
                () -> samplenorm.blob_stats(new float[4], 8, 1, 1, 1, 4, 0, new double[1], new double[1])));
        assertTrue(e.getMessage().contains(">= W * 4"), e.getMessage());
    }
}
