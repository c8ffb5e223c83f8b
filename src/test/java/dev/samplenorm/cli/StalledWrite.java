package dev.samplenorm.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A child-JVM main for {@code CliDataSafetyTest}: starts an atomic write to {@code args[0]} whose
 * writer creates the temporary file, prints its path, then stalls until the process is signalled.
 */
final class StalledWrite {

    private StalledWrite() {}

    public static void main(String[] args) throws Exception {
        AtomicOutput.write(Path.of(args[0]), tmp -> {
            Files.write(tmp, new byte[] {1, 2, 3});
            System.out.println("WRITING " + tmp);
            System.out.flush();
            try {
                Thread.sleep(600_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }
}
