package dev.samplenorm.spark.bench;

import java.nio.file.Path;

/** Writes N sketch-like 128 x 128 PNGs (the bundled model's size) into a directory, for the benchmark. */
public final class WriteSketches {

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        for (int i = 0; i < n; i++) dev.samplenorm.spark.FixturesAccess.writeSketch(dir.resolve(String.format("s%04d.png", i)), 128, 128, i);
    }
}
