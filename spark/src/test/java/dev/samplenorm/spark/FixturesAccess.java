package dev.samplenorm.spark;

import java.nio.file.Path;

/** The test fixtures' image writer, for the benchmark classes in another package. */
public final class FixturesAccess {

    private FixturesAccess() {
    }

    public static void writeSketch(Path file, int w, int h, long seed) {
        Fixtures.writeSketch(file, w, h, seed);
    }
}
