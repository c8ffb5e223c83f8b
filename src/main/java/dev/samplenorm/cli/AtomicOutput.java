package dev.samplenorm.cli;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a file under a temporary name in the target's directory and renames it into place, so an
 * interrupted run never leaves a partial file that looks complete. The temporary name keeps the
 * extension, since OpenCV picks the image format from it.
 */
final class AtomicOutput {

    /** Writes the content to the given (temporary) path. */
    @FunctionalInterface
    interface Writer {
        void write(Path temporary) throws IOException;
    }

    private AtomicOutput() {}

    static void write(Path target, Writer writer) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        String name = target.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String ext = dot < 0 ? "" : name.substring(dot);
        Path tmp = dir.resolve("." + (dot < 0 ? name : name.substring(0, dot)) + ".partial-" + ProcessHandle.current().pid() + ext);
        try {
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
            Files.deleteIfExists(tmp);
        }
    }
}
