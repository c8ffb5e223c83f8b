package dev.samplenorm.spark;

import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.onnx.OnnxModel;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.apache.spark.SparkFiles;

/**
 * Where an executor finds the ONNX model: the model bundled in the samplenorm jar, or a file.
 *
 * <p>A file is looked up on the executor, first as given (a path every node can read: a shared
 * file system, or the same path on every node), then by its file name among the files shipped
 * with {@code spark-submit --files} or {@code SparkContext.addFile} ({@link SparkFiles}). A pure
 * value: nothing is read until an executor loads the model.
 */
public final class ModelSource implements Serializable {

    private static final long serialVersionUID = 1L;

    /** The class path resource of the bundled pix2pix_shapes_128 model (the CLI's default model). */
    static final String BUNDLED_RESOURCE = OnnxModel.BUNDLED_RESOURCE;

    private final String path; // null for the bundled model

    private ModelSource(String path) {
        this.path = path;
    }

    /** The model bundled in the samplenorm jar (the CLI's default). */
    public static ModelSource bundled() {
        return new ModelSource(null);
    }

    /** An {@code .onnx} file: a path readable on every executor, or the name of a file shipped with {@code --files}. */
    public static ModelSource file(String path) {
        Objects.requireNonNull(path, "path");
        if (path.isBlank()) throw new IllegalArgumentException("model path: expected a file path or name, got a blank string");
        return new ModelSource(path);
    }

    /** The path as given, or null for the bundled model. */
    public String path() {
        return path;
    }

    /** Loads the model with {@code options}; runs on an executor. */
    Generator load(GeneratorOptions options) {
        if (path == null) return Generator.loadResource(BUNDLED_RESOURCE, options);
        Path file = resolve();
        try {
            return Generator.load(file, options);
        } catch (IOException e) {
            throw new UncheckedIOException("model " + file + ": " + e.getMessage(), e);
        }
    }

    /** The file this source names on this node. */
    Path resolve() {
        Path given = Path.of(path);
        if (Files.isRegularFile(given)) return given;
        Path shipped = shippedFile(given.getFileName().toString());
        if (shipped != null && Files.isRegularFile(shipped)) return shipped;
        throw new IllegalArgumentException("model not found on this node: " + path + "; expected a readable .onnx file at that path"
                + " on every executor, or a file of that name shipped with spark-submit --files / SparkContext.addFile");
    }

    private static Path shippedFile(String name) {
        try {
            return Path.of(SparkFiles.get(name));
        } catch (RuntimeException e) { // no SparkEnv in this JVM
            return null;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelSource m && Objects.equals(path, m.path);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(path);
    }

    @Override
    public String toString() {
        return path == null ? "bundled pix2pix_shapes_128" : path;
    }
}
