package dev.samplenorm.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The threads of this process as Linux shows them in {@code /proc/self/task}: read independently of
 * the code under test, so that tests of thread priorities check the kernel's view.
 */
public final class ProcTasks {

    private static final Path TASKS = Path.of("/proc/self/task");

    /**
     * One thread.
     *
     * @param comm its name as the kernel keeps it (15 characters at most; a new thread gets its creator's)
     * @param nice field 19 of its {@code stat}
     * @param cpuNanos nanoseconds it has run on a CPU (first field of {@code schedstat}); -1 where the
     *     kernel keeps no schedstat (built without CONFIG_SCHEDSTATS)
     */
    public record Task(long tid, String comm, int nice, long cpuNanos) {}

    private ProcTasks() {}

    /** The threads alive now. */
    public static List<Task> all() {
        List<Task> tasks = new ArrayList<>();
        try (Stream<Path> s = Files.list(TASKS)) {
            for (Path p : s.toList()) {
                Task t = read(Long.parseLong(p.getFileName().toString()));
                if (t != null) tasks.add(t);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return tasks;
    }

    /** Thread {@code tid}, or null where it has ended. */
    public static Task read(long tid) {
        Path dir = TASKS.resolve(Long.toString(tid));
        try {
            String stat = Files.readString(dir.resolve("stat"));
            String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
            // After "pid (comm) " come fields 3, 4, ...: field 19 (nice) is the 17th of them.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            int nice = Integer.parseInt(fields[19 - 3]);
            return new Task(tid, comm, nice, cpuNanos(dir));
        } catch (IOException e) {
            if (e instanceof NoSuchFileException || !Files.exists(dir)) return null; // it ended meanwhile
            throw new UncheckedIOException(e);
        }
    }

    private static long cpuNanos(Path dir) throws IOException {
        try {
            return Long.parseLong(Files.readString(dir.resolve("schedstat")).trim().split(" ")[0]);
        } catch (NoSuchFileException e) {
            if (!Files.exists(dir)) throw e; // it ended meanwhile
            return -1; // no schedstat in this kernel: the thread is alive all the same
        }
    }

    /** Whether this kernel reports how long each thread ran ({@code schedstat}). */
    public static boolean hasSchedstat() {
        return Files.exists(TASKS.resolve(Long.toString(ProcessHandle.current().pid())).resolve("schedstat"));
    }

    /** The kernel's name of a thread named {@code javaName}: the JVM passes the first 15 characters on. */
    public static String comm(String javaName) {
        return javaName.length() <= 15 ? javaName : javaName.substring(0, 15);
    }
}
