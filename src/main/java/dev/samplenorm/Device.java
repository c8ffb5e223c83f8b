package dev.samplenorm;

import java.util.Locale;
import java.util.Objects;

/**
 * Where work should run: the host CPU, one CUDA device, or {@code auto} (a CUDA device where one is
 * usable, else the CPU). A pure value: creating, parsing or comparing devices never touches native
 * code. Whether a device is usable here is answered by {@code dev.samplenorm.environment.Environment},
 * and an {@code auto} device is resolved there, once, when a generator is loaded.
 */
public final class Device {

    private static final int AUTO_ORDINAL = -2;
    private static final int CPU_ORDINAL = -1;
    private static final Device CPU = new Device(CPU_ORDINAL);
    private static final Device AUTO = new Device(AUTO_ORDINAL);

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

    /** CUDA device 0 where usable, else the CPU; decided when a generator is loaded. */
    public static Device auto() {
        return AUTO;
    }

    /**
     * Parses {@code cpu}, {@code cuda}, {@code cuda:N}, {@code gpu} or {@code auto} (case-insensitive).
     *
     * @throws IllegalArgumentException for anything else
     */
    public static Device parse(String text) {
        Objects.requireNonNull(text, "device");
        String t = text.trim().toLowerCase(Locale.ROOT);
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

    /** A CUDA device (not auto). */
    public boolean isCuda() {
        return ordinal >= 0;
    }

    public boolean isCpu() {
        return ordinal == CPU_ORDINAL;
    }

    /** Not yet resolved: CUDA device 0 where usable, else the CPU. */
    public boolean isAuto() {
        return ordinal == AUTO_ORDINAL;
    }

    /**
     * The CUDA device ordinal.
     *
     * @throws IllegalStateException for the CPU and for auto
     */
    public int ordinal() {
        if (!isCuda()) throw new IllegalStateException("device " + this + " has no CUDA ordinal");
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

    /** {@code cpu}, {@code cuda:N} or {@code auto}: what {@link #parse} reads back. */
    @Override
    public String toString() {
        return isCpu() ? "cpu" : isAuto() ? "auto" : "cuda:" + ordinal;
    }
}
