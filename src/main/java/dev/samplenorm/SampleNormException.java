package dev.samplenorm;

/**
 * The one exception type for failures that are not caller mistakes (those are
 * {@link IllegalArgumentException} / {@link IllegalStateException}): a missing CUDA device, a CUDA
 * error, a native library that could not be loaded, a model OpenCV cannot run.
 */
public class SampleNormException extends RuntimeException {

    /** What went wrong, for callers that branch on it. */
    public enum Code {
        /** The native library variant in use was built without CUDA. */
        BUILT_WITHOUT_CUDA,
        /** No usable CUDA device or driver on this machine. */
        NO_CUDA_DEVICE,
        /** A CUDA call failed. */
        CUDA_ERROR,
        /** Host or device memory could not be allocated by the native library. */
        OUT_OF_MEMORY,
        /** The native library could not be loaded. */
        NATIVE_LIBRARY,
        /** A model could not be read, rewritten or run. */
        MODEL,
        /** The requested engine cannot run here: its optional library is missing, or it does not run on the requested device. */
        ENGINE_UNAVAILABLE,
        /** Any other native failure. */
        NATIVE_ERROR
    }

    private final Code code;

    public SampleNormException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public SampleNormException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Code code() {
        return code;
    }
}
