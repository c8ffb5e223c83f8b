package dev.samplenorm.kernels;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.global.samplenorm;
import java.util.Locale;
import java.util.function.IntSupplier;
import org.bytedeco.javacpp.Pointer;

/**
 * Loads the native kernel library and turns its status codes into Java exceptions. Which variant is
 * loaded is decided once, by JavaCPP's Loader: the {@code -gpu} variant where the CUDA runtime
 * ({@code libcudart.so.13}) can be loaded, the CPU variant otherwise. The system property
 * {@code org.bytedeco.javacpp.platform.extension} overrides that for every JavaCPP library
 * (OpenCV included): {@code -gpu} requires the GPU variants, an empty value forces the CPU ones.
 *
 * <p>Every native entry point returns a status code ({@link Status}); the message of a failed call
 * is read from the native side's thread-local last error. {@link Status#INVALID_ARGUMENT} becomes an
 * {@link IllegalArgumentException} (a caller mistake the Java checks did not catch); every other
 * failure a {@link SampleNormException} with the matching {@link SampleNormException.Code}.
 *
 * <p>CUDA debug mode: with the system property {@value #DEBUG_SYNC_PROPERTY}{@code =true} (or the
 * environment variable {@value #DEBUG_SYNC_ENV}{@code =1}) every kernel launch is followed by a
 * synchronization of its stream, so that an asynchronous fault is reported by the call that caused it.
 * Off by default: it costs the asynchrony.
 */
public final class NativeKernels {

    /** System property that turns the CUDA debug mode on ({@code true}) or off ({@code false}). */
    public static final String DEBUG_SYNC_PROPERTY = "samplenorm.cudaDebugSync";
    /** Environment variable that turns the CUDA debug mode on ({@code 1} or {@code true}) where the property is unset. */
    public static final String DEBUG_SYNC_ENV = "SAMPLENORM_CUDA_DEBUG_SYNC";

    /** The native status codes ({@code SN_*} in samplenorm.h). */
    public enum Status {
        OK(samplenorm.SN_OK),
        INVALID_ARGUMENT(samplenorm.SN_INVALID_ARGUMENT),
        BUILT_WITHOUT_CUDA(samplenorm.SN_BUILT_WITHOUT_CUDA),
        NO_CUDA_DEVICE(samplenorm.SN_NO_CUDA_DEVICE),
        CUDA_ERROR(samplenorm.SN_CUDA_ERROR),
        OUT_OF_MEMORY(samplenorm.SN_OUT_OF_MEMORY),
        INTERNAL(samplenorm.SN_INTERNAL);

        final int nativeValue;

        Status(int nativeValue) {
            this.nativeValue = nativeValue;
        }

        /** The status with this native value; {@link #INTERNAL} for a value the library does not define. */
        public static Status of(int nativeValue) {
            for (Status s : values()) {
                if (s.nativeValue == nativeValue) return s;
            }
            return INTERNAL;
        }

        /** The exception code of a failure status; {@link #INVALID_ARGUMENT} has none (it is an IllegalArgumentException). */
        SampleNormException.Code code() {
            return switch (this) {
                case BUILT_WITHOUT_CUDA -> SampleNormException.Code.BUILT_WITHOUT_CUDA;
                case NO_CUDA_DEVICE -> SampleNormException.Code.NO_CUDA_DEVICE;
                case CUDA_ERROR -> SampleNormException.Code.CUDA_ERROR;
                case OUT_OF_MEMORY -> SampleNormException.Code.OUT_OF_MEMORY;
                case OK, INVALID_ARGUMENT, INTERNAL -> SampleNormException.Code.NATIVE_ERROR;
            };
        }
    }

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
                } catch (Throwable t) {
                    loadError = t;
                }
                if (loadError == null) {
                    loaded = true;
                    Boolean debug = debugSyncRequested(System.getProperty(DEBUG_SYNC_PROPERTY), System.getenv(DEBUG_SYNC_ENV));
                    if (debug != null) samplenorm.set_cuda_debug_sync(debug);
                    return;
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

    /** Whether the CUDA debug mode (a stream synchronization after every launch) is on. */
    public static boolean cudaDebugSync() {
        ensureLoaded();
        return samplenorm.cuda_debug_sync();
    }

    /** Turns the CUDA debug mode on or off for the whole process (see the class comment). */
    public static void setCudaDebugSync(boolean on) {
        ensureLoaded();
        samplenorm.set_cuda_debug_sync(on);
    }

    /** The calling thread's kernel thread id (Linux gettid()); -1 where the platform has none. */
    public static long currentThreadId() {
        ensureLoaded();
        return samplenorm.current_thread_id();
    }

    /** Sets the calling thread's nice value (0..19); returns 0 or the errno value (see samplenorm.h). */
    public static int setThreadNice(int nice) {
        ensureLoaded();
        return samplenorm.set_thread_nice(nice);
    }

    /** Reads the nice value of thread {@code tid} (0: the calling thread) into {@code nice[0]}; returns 0 or the errno value. */
    public static int threadNice(long tid, int[] nice) {
        ensureLoaded();
        return samplenorm.thread_nice(tid, nice);
    }

    /** Stream-ordered device allocations the native library has made since it was loaded. */
    public static long cudaAllocationCount() {
        ensureLoaded();
        return samplenorm.cuda_allocation_count();
    }

    /**
     * The debug mode asked for by a property value and an environment value: the property wins
     * where set ({@code true}/{@code 1} on, {@code false}/{@code 0} off); else the environment
     * ({@code 1}/{@code true} on); null when neither says anything.
     *
     * @throws IllegalArgumentException for a value that is none of those
     */
    static Boolean debugSyncRequested(String property, String env) {
        if (property != null && !property.isBlank()) return parseFlag(property, DEBUG_SYNC_PROPERTY);
        if (env != null && !env.isBlank()) return parseFlag(env, DEBUG_SYNC_ENV);
        return null;
    }

    private static boolean parseFlag(String value, String name) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "1", "true", "yes", "on" -> true;
            case "0", "false", "no", "off" -> false;
            default -> throw new IllegalArgumentException(name + ": expected true or false (1 or 0), got '" + value + "'");
        };
    }

    /** Runs a native call and throws for a failure status. */
    static void call(IntSupplier nativeCall) {
        ensureLoaded();
        int status = nativeCall.getAsInt();
        if (status != samplenorm.SN_OK) {
            throw exceptionFor(status, samplenorm.last_error_message().getString());
        }
    }

    /** The exception for a failure status and its message: chosen by the code, never by the text. */
    static RuntimeException exceptionFor(int nativeStatus, String message) {
        Status status = Status.of(nativeStatus);
        String m = message == null || message.isBlank() ? "samplenorm: native call failed with status " + status : message;
        if (status == Status.INVALID_ARGUMENT) {
            return new IllegalArgumentException(m);
        }
        if (status == Status.INTERNAL && nativeStatus != samplenorm.SN_INTERNAL) {
            m = m + " (unknown status " + nativeStatus + ")";
        }
        return new SampleNormException(status.code(), m);
    }

    /** A pointer to a raw native address, with no deallocator (nothing frees it, no PointerScope owns it). */
    static Pointer at(long address) {
        return new RawAddress(address);
    }

    private static final class RawAddress extends Pointer {
        RawAddress(long address) {
            this.address = address;
        }
    }
}
