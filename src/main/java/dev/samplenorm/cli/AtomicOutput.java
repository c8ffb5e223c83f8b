package dev.samplenorm.cli;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes a file under a temporary name in the target's directory and renames it into place, so an
 * interrupted run never leaves a partial file that looks complete. The temporary name keeps the
 * extension, since OpenCV picks the image format from it.
 *
 * <p>On SIGINT and SIGTERM a shutdown hook deletes the temporary files being written, and no new
 * one is started. {@link ImageInputs} skips temporary names when listing inputs.
 */
final class AtomicOutput {

    /** Marks the temporary name of a file being written: {@code .NAME.partial-PID.EXT}. */
    static final String PARTIAL_MARKER = ".partial-";

    /** How long the shutdown hook waits for writes in progress to notice and clean up. */
    private static final long SHUTDOWN_WAIT_MS = 2000;

    private static final Set<Path> PENDING = ConcurrentHashMap.newKeySet();
    private static volatile boolean shuttingDown;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(AtomicOutput::deletePending, "samplenorm-partial-cleanup"));
    }

    /** Writes the content to the given (temporary) path. */
    @FunctionalInterface
    interface Writer {
        void write(Path temporary) throws IOException;
    }

    private AtomicOutput() {}

    /** True for a temporary file name of this class. */
    static boolean isPartial(Path p) {
        String name = p.getFileName().toString();
        return name.startsWith(".") && name.contains(PARTIAL_MARKER);
    }

    static void write(Path target, Writer writer) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        String name = target.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String ext = dot < 0 ? "" : name.substring(dot);
        Path tmp = dir.resolve("." + (dot < 0 ? name : name.substring(0, dot)) + PARTIAL_MARKER + ProcessHandle.current().pid() + ext);
        PENDING.add(tmp);
        try {
            if (shuttingDown) throw new IOException("interrupted: not writing " + target);
            writer.write(tmp);
            if (!Files.isRegularFile(tmp)) {
                throw new IOException("nothing was written to " + target);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } finally {
                PENDING.remove(tmp);
            }
        }
    }

    /**
     * The shutdown hook: stops new writes, then deletes the temporary files of writes in progress
     * until they have ended or the wait is over (a native encoder may create its file after a
     * first deletion).
     */
    static void deletePending() {
        shuttingDown = true;
        long deadline = System.nanoTime() + SHUTDOWN_WAIT_MS * 1_000_000;
        while (true) {
            for (Path p : PENDING) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // Best effort while the JVM exits; the next run skips such names anyway.
                }
            }
            if (PENDING.isEmpty() || System.nanoTime() > deadline) return;
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
