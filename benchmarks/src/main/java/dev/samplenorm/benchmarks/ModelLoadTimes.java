package dev.samplenorm.benchmarks;

import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.onnx.OnnxModel;
import java.nio.file.Path;
import java.util.Locale;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.opencv.global.opencv_dnn;

/**
 * What the model-load part of a cold start consists of, in a fresh JVM: loading OpenCV's native
 * libraries (which the first Generator.load of a process pays), then Generator.load itself (read,
 * rewrite, OpenCV import) the first time and once more in the same, now warm, JVM.
 *
 * <pre>
 * java -cp ... dev.samplenorm.benchmarks.ModelLoadTimes [model.onnx]   (default: the bundled model)
 * </pre>
 */
public final class ModelLoadTimes {

    static final String BUNDLED = OnnxModel.BUNDLED_RESOURCE;

    public static void main(String[] args) throws Exception {
        GeneratorOptions options = GeneratorOptions.builder().statistics(StatisticsMode.SAMPLE).device(Device.cpu()).build();
        long t0 = System.nanoTime();
        Loader.load(opencv_dnn.class);
        long t1 = System.nanoTime();
        load(args, options).close();
        long t2 = System.nanoTime();
        load(args, options).close();
        long t3 = System.nanoTime();
        System.out.printf(Locale.ROOT, "%s: OpenCV native libraries %.0f ms, first Generator.load %.0f ms, second %.0f ms%n",
                args.length > 0 ? args[0] : "bundled pix2pix_shapes_128", (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6);
    }

    private static Generator load(String[] args, GeneratorOptions options) throws Exception {
        return args.length > 0 ? Generator.load(Path.of(args[0]), options) : Generator.loadResource(BUNDLED, options);
    }

    private ModelLoadTimes() {}
}
