package dev.samplenorm.kernels;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.global.samplenorm;
import java.util.function.Supplier;

/**
 * Loads the native kernel library and turns its C++ exceptions into Java ones. Which variant is
 * loaded is decided once, by JavaCPP's Loader: the {@code -gpu} variant where the CUDA runtime
 * ({@code libcudart.so.13}) can be loaded, the CPU variant otherwise. The system property
 * {@code org.bytedeco.javacpp.platform.extension} overrides that for every JavaCPP library
 * (OpenCV included): {@code -gpu} requires the GPU variants, an empty value forces the CPU ones.
 */
public final class NativeKernels {

    private static volatile Boolean loaded;
    private static volatile Throwable loadError;

    private NativeKernels() {}

    /** Loads the library once; throws {@link SampleNormException} ({@code NATIVE_LIBRARY}) if it cannot. */
    public static void ensureLoaded() {
        if (loaded != null && loaded) return;
        synchronized (NativeKernels.class) {
            if (loaded != null && loaded) return;
            if (loadError == null) {
                try {
                    samplenorm.version();
                    loaded = true;
                    return;
                } catch (Throwable t) {
                    loadError = t;
                }
            }
            throw new SampleNormException(SampleNormException.Code.NATIVE_LIBRARY,
                    "cannot load the samplenorm native library for " + System.getProperty("os.name") + " "
                            + System.getProperty("os.arch") + ": " + loadError, loadError);
        }
    }

    /** The native library's version, with its variant, e.g. {@code 0.1.0 (cpu)}. */
    public static String version() {
        ensureLoaded();
        return samplenorm.version().getString();
    }

    /** True when the loaded variant contains the CUDA kernels. */
    public static boolean builtWithCuda() {
        ensureLoaded();
        return samplenorm.built_with_cuda();
    }

    /** CUDA devices usable by the kernels; 0 when built without CUDA or without driver or device. */
    public static int cudaDeviceCount() {
        ensureLoaded();
        return samplenorm.cuda_device_count();
    }

    /** One line: why CUDA is or is not usable. */
    public static String cudaStatus() {
        ensureLoaded();
        return samplenorm.cuda_status().getString();
    }

    /** Runs a native call, mapping its exceptions. */
    static void call(Runnable nativeCall) {
        ensureLoaded();
        try {
            nativeCall.run();
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    static <T> T call(Supplier<T> nativeCall) {
        ensureLoaded();
        try {
            return nativeCall.get();
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    static RuntimeException translate(RuntimeException e) {
        if (e instanceof IllegalArgumentException || e instanceof IllegalStateException || e instanceof SampleNormException) {
            return e;
        }
        String m = String.valueOf(e.getMessage());
        if (m.contains("built without CUDA")) {
            return new SampleNormException(SampleNormException.Code.BUILT_WITHOUT_CUDA, m, e);
        }
        if (m.contains("no CUDA device")) {
            return new SampleNormException(SampleNormException.Code.NO_CUDA_DEVICE, m, e);
        }
        if (m.contains("CUDA error")) {
            return new SampleNormException(SampleNormException.Code.CUDA_ERROR, m, e);
        }
        if (m.startsWith("samplenorm: ")) {
            // The native layer throws std::invalid_argument for everything else it reports.
            return new IllegalArgumentException(m, e);
        }
        return new SampleNormException(SampleNormException.Code.NATIVE_ERROR, m, e);
    }
}
