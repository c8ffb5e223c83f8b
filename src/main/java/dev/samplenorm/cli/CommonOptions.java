package dev.samplenorm.cli;

import dev.samplenorm.Device;
import dev.samplenorm.Precision;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Engine;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.onnx.OnnxModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import picocli.CommandLine.Option;

/** Options shared by the commands that run a generator. */
final class CommonOptions {

    private static final System.Logger LOG = System.getLogger(CommonOptions.class.getName());

    /** The bundled model, packaged as a class path resource. */
    static final String BUNDLED_MODEL = OnnxModel.BUNDLED_RESOURCE;

    @Option(names = "--model", paramLabel = "M.onnx", description = "ONNX generator (default: the bundled pix2pix_shapes_128 model)")
    Path model;

    @Option(names = "--device", paramLabel = "auto|cpu|cuda", defaultValue = "auto",
            description = "where OpenCV DNN runs the network (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--engine", paramLabel = "auto|opencv|onnxruntime", defaultValue = "opencv",
            description = "what runs the network: opencv (OpenCV DNN, CPU or CUDA), onnxruntime (ONNX Runtime, CPU only) or auto"
                    + " (per device, the faster one measured; says which) (default: ${DEFAULT-VALUE})")
    String engine;

    @Option(names = "--precision", paramLabel = "fp32|fp16", defaultValue = "fp32",
            description = "network precision; fp16 needs a CUDA device (default: ${DEFAULT-VALUE})")
    String precision;

    @Option(names = "--eps", paramLabel = "E", defaultValue = "1e-5",
            description = "epsilon of the input-recipe normalization (default: ${DEFAULT-VALUE})")
    double eps;

    @Option(names = "--verbose", description = "log details and print stack traces")
    boolean verbose;

    /** Loads the generator, from --model or the bundled resource. */
    Generator load(StatisticsMode mode) throws IOException {
        return load(mode, null);
    }

    /** Loads the generator, with test-time dropout seeded with {@code dropoutSeed} unless it is null. */
    Generator load(StatisticsMode mode, Long dropoutSeed) throws IOException {
        configureLogging(verbose);
        GeneratorOptions.Builder b = options(mode);
        if (dropoutSeed != null) b.dropout(dropoutSeed);
        GeneratorOptions options = b.build();
        checkModelFile();
        long start = System.nanoTime();
        Generator generator = model == null ? Generator.loadResource(BUNDLED_MODEL, options) : Generator.load(model, options);
        LOG.log(System.Logger.Level.INFO, String.format(java.util.Locale.ROOT, "model %s loaded in %.0f ms (read, rewrite, %s import)",
                modelName(), (System.nanoTime() - start) / 1e6, generator.engine().cliName()));
        return generator;
    }

    /** The generator options these flags give: statistics, --eps, --device, --engine, --precision. */
    GeneratorOptions.Builder options(StatisticsMode mode) {
        return GeneratorOptions.builder().statistics(mode).eps(eps).device(Device.parse(device)).engine(Engine.parse(engine))
                .precision(Precision.parse(precision));
    }

    /** @throws UserError when --model names no readable file */
    void checkModelFile() {
        if (model != null && !Files.isRegularFile(model)) {
            throw new UserError("model not found: " + model);
        }
        if (model != null && !Files.isReadable(model)) {
            throw new UserError("model not readable: " + model);
        }
    }

    String modelName() {
        return model == null ? "bundled pix2pix_shapes_128" : model.getFileName().toString();
    }

    /** Warnings always go to stderr as one line; details only with --verbose. */
    static void configureLogging(boolean verbose) {
        Logger root = Logger.getLogger("dev.samplenorm");
        root.setUseParentHandlers(false);
        for (var h : root.getHandlers()) root.removeHandler(h);
        ConsoleHandler h = new ConsoleHandler();
        h.setFormatter(new SimpleFormatter() {
            @Override
            public String format(java.util.logging.LogRecord r) {
                return "samplenorm: " + r.getLevel().getName().toLowerCase(java.util.Locale.ROOT) + ": " + formatMessage(r)
                        + System.lineSeparator();
            }
        });
        Level level = verbose ? Level.FINE : Level.WARNING;
        h.setLevel(level);
        root.setLevel(level);
        root.addHandler(h);
    }
}
