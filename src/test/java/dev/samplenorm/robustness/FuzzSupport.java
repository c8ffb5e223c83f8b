package dev.samplenorm.robustness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * What the fuzz targets share. A native crash ends the JVM before Jazzer can save the input that
 * caused it, so with {@code -Dsamplenorm.fuzz.lastInput=FILE} (benchmarks/run-fuzz.sh sets it)
 * each target first writes its input there: after a crash, that file is the reproducer.
 */
final class FuzzSupport {

    private static final String LAST_INPUT = System.getProperty("samplenorm.fuzz.lastInput");

    private FuzzSupport() {}

    static void recordInput(byte[] data) {
        if (LAST_INPUT == null || LAST_INPUT.isEmpty()) return;
        try {
            Files.write(Path.of(LAST_INPUT), data, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
