package dev.samplenorm;

import java.util.Locale;
import java.util.Objects;

/**
 * The floating-point precision a network runs in. {@link #FP16} exists only on CUDA (OpenCV DNN's
 * CUDA FP16 target: half-precision weights and activations); the CPU always computes in float32.
 */
public enum Precision {
    /** float32 everywhere. The default. */
    FP32,
    /** Half precision on a CUDA device (OpenCV's {@code DNN_TARGET_CUDA_FP16}); refused on the CPU. */
    FP16;

    /** {@code fp32} or {@code fp16}, as on the command line. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code fp32} or {@code fp16} (case-insensitive).
     *
     * @throws IllegalArgumentException for anything else
     */
    public static Precision parse(String text) {
        Objects.requireNonNull(text, "precision");
        String t = text.trim().toLowerCase(Locale.ROOT);
        for (Precision p : values()) {
            if (p.cliName().equals(t)) return p;
        }
        throw new IllegalArgumentException("unknown precision '" + text + "', expected fp32 or fp16");
    }
}
