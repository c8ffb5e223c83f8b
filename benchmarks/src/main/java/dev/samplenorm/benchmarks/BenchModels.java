package dev.samplenorm.benchmarks;

import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.ReferenceGenerators;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The full-size models the benchmarks run, built once with {@link ReferenceGenerators} and kept as
 * {@code .onnx} files (unet_256 is about 218 MB), so that every JMH fork reads the same bytes
 * instead of building them again. The folder is {@code target/bench-models} or the system
 * property {@code samplenorm.bench.models}.
 */
final class BenchModels {

    /** Image size of unet_256. */
    static final int SIZE = 256;

    private static final long SEED = 1;
    private static final int OPSET = 14;

    private BenchModels() {}

    static Path folder() {
        return Path.of(System.getProperty("samplenorm.bench.models", "target/bench-models"));
    }

    /** unet_256 in training-export form: 13 BatchNorm with training_mode = 1, 3 Dropout. */
    static Path unet256() {
        Path file = folder().resolve("unet_256.onnx");
        if (Files.isRegularFile(file)) return file;
        try {
            Files.createDirectories(file.getParent());
            long t0 = System.nanoTime();
            byte[] bytes = ReferenceGenerators.unet(8, 64, SIZE, SEED, OPSET).toByteArray();
            Path tmp = Files.createTempFile(file.getParent(), "unet_256", ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            System.err.printf("built %s (%d bytes) in %.1f s%n", file, bytes.length, (System.nanoTime() - t0) / 1e9);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static OnnxModel readUnet256() {
        try {
            return OnnxModel.read(unet256());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
