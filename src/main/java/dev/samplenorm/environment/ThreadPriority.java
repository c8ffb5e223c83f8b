package dev.samplenorm.environment;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.kernels.NativeKernels;
import java.util.Locale;

/**
 * The OS scheduling priority of single threads, for compute threads that should yield the CPU to
 * latency-sensitive threads of the same process (a server's I/O threads). Java's
 * {@link Thread#setPriority} has no effect on Linux; Linux keeps a nice value per thread instead
 * ({@code setpriority(PRIO_PROCESS, gettid(), n)}), and a thread inherits it from the thread that
 * creates it, so native thread pools created by a lowered thread run lowered too.
 *
 * <p>Lowering only: a nice value from 0 to {@value #MAX_NICE}, at least the thread's current one
 * (raising the priority needs {@code CAP_SYS_NICE}). Other platforms, or a process where
 * samplenorm's native library cannot be loaded, are not supported: {@link #lowerCurrentThread}
 * returns {@link Status#UNSUPPORTED} with the reason and changes nothing, and the read-back methods
 * throw {@link UnsupportedOperationException}.
 */
public final class ThreadPriority {

    /** The lowest priority: the largest nice value. */
    public static final int MAX_NICE = 19;

    // errno values of Linux (the only platform where the native side does anything).
    private static final int EPERM = 1, ESRCH = 3, EACCES = 13, EINVAL = 22, ENOSYS = 38;

    /** What {@link #lowerCurrentThread} did. */
    public enum Status {
        /** The thread's nice value was raised to the requested one. */
        LOWERED,
        /** The thread already ran at the requested nice value. */
        UNCHANGED,
        /** This platform has no per-thread nice value (or the native library is missing): nothing changed. */
        UNSUPPORTED,
        /** The OS refused the change (EPERM, EACCES or ENOSYS, as under a seccomp sandbox): nothing changed. */
        REFUSED
    }

    /**
     * The outcome of {@link #lowerCurrentThread}.
     *
     * @param before the thread's nice value before; -1 where unsupported
     * @param after the thread's nice value after, read back from the OS; -1 where unsupported
     * @param reason why the platform is unsupported or the OS refused; null otherwise
     */
    public record Outcome(Status status, int before, int after, String reason) {
        @Override
        public String toString() {
            return switch (status) {
                case LOWERED -> "nice " + before + " -> " + after;
                case UNCHANGED -> "nice " + after + " (unchanged)";
                case UNSUPPORTED -> "unchanged: " + reason;
                case REFUSED -> "nice " + after + " (unchanged, refused: " + reason + ")";
            };
        }

        /** Whether the requested nice value was not applied: {@link Status#UNSUPPORTED} or {@link Status#REFUSED}. */
        public boolean notApplied() {
            return status == Status.UNSUPPORTED || status == Status.REFUSED;
        }
    }

    private static final class Support {
        static final String UNSUPPORTED_REASON = probe();

        private static String probe() {
            String os = System.getProperty("os.name", "");
            if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
                return "per-thread nice values exist on Linux only, not on " + os;
            }
            try {
                NativeKernels.ensureLoaded();
            } catch (SampleNormException e) {
                return e.getMessage();
            }
            return null;
        }
    }

    private ThreadPriority() {}

    /** Whether threads can be lowered here: Linux, with samplenorm's native library loaded. */
    public static boolean supported() {
        return Support.UNSUPPORTED_REASON == null;
    }

    /** Why {@link #supported()} is false; null where it is true. */
    public static String unsupportedReason() {
        return Support.UNSUPPORTED_REASON;
    }

    /**
     * Sets the calling thread's nice value to {@code nice}, lowering its priority; threads it creates
     * afterwards (OpenCV's and ONNX Runtime's pools among them) inherit the new value.
     *
     * @param nice from the thread's current nice value to {@value #MAX_NICE}
     * @return what happened; {@link Status#REFUSED} (nothing changed) where the OS refuses the change
     *     with EPERM, EACCES or ENOSYS, as a seccomp sandbox may
     * @throws IllegalArgumentException for a value outside 0..19, or below the thread's current nice
     *     value (that would raise its priority), naming what was expected
     */
    public static Outcome lowerCurrentThread(int nice) {
        if (nice < 0 || nice > MAX_NICE) {
            throw new IllegalArgumentException("nice: expected 0 to " + MAX_NICE + " (0 = normal priority, " + MAX_NICE
                    + " = lowest), got " + nice);
        }
        if (!supported()) return new Outcome(Status.UNSUPPORTED, -1, -1, unsupportedReason());
        int before = currentNice();
        if (nice < before) {
            throw new IllegalArgumentException("nice: expected " + before + " to " + MAX_NICE + " for this thread, which already runs at nice "
                    + before + " (its priority can only be lowered; raising it needs CAP_SYS_NICE), got " + nice);
        }
        if (nice == before) return new Outcome(Status.UNCHANGED, before, before, null);
        return outcomeOf(before, nice, NativeKernels.setThreadNice(nice));
    }

    /**
     * The outcome of asking the OS to set the calling thread's nice value from {@code before} to
     * {@code nice}, given the errno value it answered: {@link Status#REFUSED} for EPERM, EACCES or
     * ENOSYS (a sandbox may refuse setpriority), with the nice value read back.
     *
     * @throws IllegalStateException for any other errno value
     */
    static Outcome outcomeOf(int before, int nice, int errno) {
        if (errno == EPERM || errno == EACCES || errno == ENOSYS) {
            return new Outcome(Status.REFUSED, before, currentNice(), "setpriority to nice " + nice + " refused: " + describe(errno));
        }
        if (errno != 0) throw new IllegalStateException("cannot set the nice value of thread " + currentThreadId() + " to " + nice + ": "
                + describe(errno));
        return new Outcome(Status.LOWERED, before, currentNice(), null);
    }

    /**
     * The calling thread's nice value (0 = normal priority, larger = lower).
     *
     * @throws UnsupportedOperationException where {@link #supported()} is false, with the reason
     */
    public static int currentNice() {
        return niceOf(0);
    }

    /**
     * The nice value of thread {@code tid} of this process (its kernel thread id, as in
     * {@code /proc/self/task}); 0 means the calling thread.
     *
     * @throws IllegalArgumentException for a negative id, or one that is not a thread of this process
     * @throws UnsupportedOperationException where {@link #supported()} is false, with the reason
     */
    public static int niceOf(long tid) {
        if (tid < 0) throw new IllegalArgumentException("tid: expected a thread id >= 0 (0 = the calling thread), got " + tid);
        if (tid > Integer.MAX_VALUE) throw new IllegalArgumentException("tid: expected a thread of this process, got " + tid);
        requireSupport();
        int[] nice = new int[1];
        int errno = NativeKernels.threadNice(tid, nice);
        if (errno == ESRCH) throw new IllegalArgumentException("tid: expected a thread of this process, got " + tid);
        if (errno != 0) throw new IllegalStateException("cannot read the nice value of thread " + tid + ": " + describe(errno));
        return nice[0];
    }

    /**
     * The calling thread's kernel thread id (Linux {@code gettid()}, the number in
     * {@code /proc/self/task}); not {@link Thread#getId()}.
     *
     * @throws UnsupportedOperationException where {@link #supported()} is false, with the reason
     */
    public static long currentThreadId() {
        requireSupport();
        return NativeKernels.currentThreadId();
    }

    private static void requireSupport() {
        if (!supported()) throw new UnsupportedOperationException("thread priorities: " + unsupportedReason());
    }

    private static String describe(int errno) {
        String name = switch (errno) {
            case EPERM -> "EPERM, not permitted";
            case ESRCH -> "ESRCH, no such thread";
            case EACCES -> "EACCES, raising a priority needs CAP_SYS_NICE";
            case EINVAL -> "EINVAL, invalid argument";
            case ENOSYS -> "ENOSYS, no per-thread nice values on this platform";
            default -> "errno " + errno;
        };
        return name.startsWith("errno") ? name : "errno " + errno + " (" + name + ")";
    }
}
