package dev.samplenorm.generator;

import dev.samplenorm.Device;
import java.util.Locale;
import java.util.Objects;

/**
 * What executes a {@link Generator}'s rewritten network. Both engines get the same statistics
 * rewrite, the same pre- and post-processing (the native host kernels) and the same test-time
 * dropout masks, and agree to within 1e-5 relative L2 in every statistics mode.
 */
public enum Engine {
    /**
     * One engine per device, chosen from measurements: on the CPU {@link #ONNXRUNTIME} where its jar
     * is on the class path (it measured faster on unet_256, see {@code benchmarks/RESULTS.md}), else
     * {@link #OPENCV}; on a CUDA device {@link #OPENCV} (the ONNX Runtime engine is CPU-only).
     * {@link Generator#engine()} says which one was picked, and loading logs it.
     */
    AUTO,
    /** OpenCV DNN, on the CPU or on OpenCV's CUDA backend. */
    OPENCV,
    /**
     * ONNX Runtime's CPU execution provider. An optional dependency: the artifact
     * {@value #ONNXRUNTIME_ARTIFACT} must be on the class path, else loading fails with
     * {@link dev.samplenorm.SampleNormException.Code#ENGINE_UNAVAILABLE}.
     */
    ONNXRUNTIME;

    /** The Maven artifact the {@link #ONNXRUNTIME} engine needs. */
    public static final String ONNXRUNTIME_ARTIFACT = "com.microsoft.onnxruntime:onnxruntime";

    /** The lower-case name used on the command line and in documentation. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code auto}, {@code opencv} or {@code onnxruntime} (case-insensitive).
     *
     * @throws IllegalArgumentException for anything else
     */
    public static Engine parse(String text) {
        Objects.requireNonNull(text, "engine");
        String t = text.trim().toUpperCase(Locale.ROOT);
        for (Engine e : values()) {
            if (e.name().equals(t)) return e;
        }
        throw new IllegalArgumentException("unknown engine '" + text + "', expected one of auto, opencv, onnxruntime");
    }

    /**
     * Whether this engine's libraries are on the class path: always for {@link #AUTO} and
     * {@link #OPENCV}; for {@link #ONNXRUNTIME} whether ONNX Runtime's Java classes are (its native
     * library is loaded only when a generator uses it).
     */
    public boolean isAvailable() {
        return this != ONNXRUNTIME || onnxRuntimeOnClassPath();
    }

    /** What {@link #AUTO} picks for a resolved device (cpu or cuda:N). */
    public static Engine autoFor(Device device) {
        Objects.requireNonNull(device, "device");
        if (device.isAuto()) throw new IllegalArgumentException("device: expected a resolved device (cpu or cuda:N), got auto");
        return device.isCpu() && onnxRuntimeOnClassPath() ? ONNXRUNTIME : OPENCV;
    }

    private static boolean onnxRuntimeOnClassPath() {
        try {
            Class.forName("ai.onnxruntime.OrtSession", false, Engine.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
