package dev.samplenorm;

import dev.samplenorm.kernels.NativeKernels;
import java.util.Objects;

/**
 * Where work runs: the host CPU or one CUDA device. A value type; {@link #cudaAvailable()} answers
 * whether CUDA can be used here without creating any CUDA object (OpenCV's GPU build throws and
 * leaves objects unusable when CUDA is touched on a machine without a device, so callers ask first).
 */
public final class Device {

    private static final Device CPU = new Device(-1);

    private final int ordinal;

    private Device(int ordinal) {
        this.ordinal = ordinal;
    }

    /** The host CPU. */
    public static Device cpu() {
        return CPU;
    }

    /** CUDA device 0. */
    public static Device cuda() {
        return cuda(0);
    }

    /** CUDA device {@code ordinal} (>= 0). Whether it exists is checked where it is used. */
    public static Device cuda(int ordinal) {
        if (ordinal < 0) {
            throw new IllegalArgumentException("CUDA device ordinal must be >= 0, got " + ordinal);
        }
        return new Device(ordinal);
    }

    /** CUDA device 0 where {@link #cudaAvailable()}, else the CPU. */
    public static Device auto() {
        return cudaAvailable() ? cuda() : cpu();
    }

    /**
     * Parses {@code cpu}, {@code cuda}, {@code cuda:N} or {@code auto} (case-insensitive).
     *
     * @throws IllegalArgumentException for anything else
     */
    public static Device parse(String text) {
        Objects.requireNonNull(text, "device");
        String t = text.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("cpu")) return cpu();
        if (t.equals("auto")) return auto();
        if (t.equals("cuda") || t.equals("gpu")) return cuda();
        if (t.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(t.substring(5)));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException("unknown device '" + text + "', expected one of cpu, cuda, cuda:N, auto");
    }

    /** Number of CUDA devices the native library can use; 0 without the GPU variant, a driver or a device. */
    public static int cudaDeviceCount() {
        return NativeKernels.cudaDeviceCount();
    }

    /** True when the GPU variant of the native library is loaded and at least one CUDA device exists. */
    public static boolean cudaAvailable() {
        return cudaDeviceCount() > 0;
    }

    /** One line saying why CUDA is or is not usable here. */
    public static String cudaStatus() {
        return NativeKernels.cudaStatus();
    }

    public boolean isCuda() {
        return ordinal >= 0;
    }

    public boolean isCpu() {
        return ordinal < 0;
    }

    /** The CUDA device ordinal; -1 for the CPU. */
    public int ordinal() {
        return ordinal;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Device d && d.ordinal == ordinal;
    }

    @Override
    public int hashCode() {
        return Integer.hashCode(ordinal);
    }

    @Override
    public String toString() {
        return isCpu() ? "cpu" : "cuda:" + ordinal;
    }
}
