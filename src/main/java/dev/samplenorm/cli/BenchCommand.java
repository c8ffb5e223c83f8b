package dev.samplenorm.cli;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.environment.Environment;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.onnx.TensorInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code samplenorm bench} (developer command, not listed in the help): times translation inside
 * one JVM. The model is loaded once per statistics mode; each batch size gets a first call (timed
 * on its own: it includes the device's set-up), warm-up calls, then timed calls whose median, min
 * and max are reported. Inputs are random (fixed seed): 8-bit BGR images through
 * {@link Generator#translate} (pre- and post-processing included) or float NCHW blobs in model
 * units through {@link Generator#translateBlob}. Times are wall-clock times of the synchronous
 * calls, host memory in and host memory out.
 */
@Command(name = "bench", hidden = true, mixinStandardHelpOptions = true,
        description = {"Times translate (8-bit images in and out) and translateBlob (float NCHW in and out) inside one JVM: model"
                + " loaded once per statistics mode, warm-up, then median / min / max of the timed runs per batch size."})
final class BenchCommand implements Callable<Integer> {

    record Row(String stats, String input, int n, double loadMs, double firstMs, double medianMs, double minMs, double maxMs,
            double meanMs, int runs) {
        double imagesPerSecond() {
            return n * 1000.0 / medianMs;
        }
    }

    @Mixin
    CommonOptions common;

    @Option(names = "--stats", split = ",", paramLabel = "MODE[,MODE...]", defaultValue = "batch",
            description = "statistics modes: sample, batch, running, input (default: ${DEFAULT-VALUE})")
    List<String> stats;

    @Option(names = "--batch-sizes", split = ",", paramLabel = "N[,N...]", defaultValue = "1,16",
            description = "batch sizes (default: ${DEFAULT-VALUE})")
    List<Integer> batchSizes;

    @Option(names = "--input", split = ",", paramLabel = "images|blob", defaultValue = "images",
            description = "what goes in and out: 8-bit images or float blobs, or both (default: ${DEFAULT-VALUE})")
    List<String> inputs;

    @Option(names = "--size", paramLabel = "S", defaultValue = "0",
            description = "image size for a model without a fixed input size (default: the model's size)")
    int size;

    @Option(names = "--warmup", paramLabel = "W", defaultValue = "3", description = "untimed calls after the first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--runs", paramLabel = "R", defaultValue = "20", description = "timed calls (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the results as JSON")
    Path json;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        List<StatisticsMode> modes = new ArrayList<>();
        for (String s : stats) modes.add(StatisticsMode.parse(s));
        for (int n : batchSizes) if (n < 1) throw new UserError("--batch-sizes must be >= 1, got " + n);
        for (String in : inputs) {
            if (!in.equals("images") && !in.equals("blob")) throw new UserError("--input must be images or blob, got " + in);
        }
        if (runs < 1 || warmup < 0) throw new UserError("--runs must be >= 1 and --warmup >= 0, got " + runs + " and " + warmup);
        if (size < 0) throw new UserError("--size must be > 0, got " + size);

        PrintWriter out = spec.commandLine().getOut();
        List<Row> rows = new ArrayList<>();
        String device = null;
        String precision = null;
        int h = 0, w = 0;
        Environment env = Environment.current();
        for (StatisticsMode mode : modes) {
            long t0 = System.nanoTime();
            try (Generator g = common.load(mode)) {
                double loadMs = (System.nanoTime() - t0) / 1e6;
                if (device == null) {
                    device = g.device().toString();
                    precision = g.precision().cliName();
                    TensorInfo input = g.modelInfo().input();
                    h = size > 0 ? size : (int) input.dim(2);
                    w = size > 0 ? size : (int) input.dim(3);
                    if (h <= 0 || w <= 0) throw new UserError("the model has no fixed input size: give --size");
                    out.printf(Locale.ROOT, "bench: %s, input %s, device %s, engine %s, precision %s, java %s%n", common.modelName(),
                            input.dims(), device, g.engine().cliName(), g.precision().cliName(), System.getProperty("java.version"));
                    for (String line : env.describe()) out.printf(Locale.ROOT, "bench: %s%n", line);
                    out.printf(Locale.ROOT, "bench: %d warm-up and %d timed calls per row; times in ms, wall clock, host memory in and out%n",
                            warmup, runs);
                }
                for (String in : inputs) {
                    for (int n : batchSizes) {
                        Row r = time(g, mode, in, n, h, w, loadMs);
                        rows.add(r);
                        out.printf(Locale.ROOT,
                                "%-8s %-6s N=%-3d first %9.1f  median %9.3f  min %9.3f  max %9.3f  mean %9.3f  -> %8.1f images/s%n",
                                r.stats(), r.input(), r.n(), r.firstMs(), r.medianMs(), r.minMs(), r.maxMs(), r.meanMs(),
                                r.imagesPerSecond());
                    }
                }
            }
        }
        if (json != null) {
            String text = toJson(rows, device, precision, h, w, env);
            AtomicOutput.write(json, tmp -> Files.writeString(tmp, text));
        }
        return 0;
    }

    private Row time(Generator g, StatisticsMode mode, String input, int n, int h, int w, double loadMs) {
        boolean images = input.equals("images");
        List<Mat> data = images ? randomImages(n, h, w) : List.of(randomBlob(n, h, w));
        try {
            double first = call(g, images, data);
            for (int i = 0; i < warmup; i++) call(g, images, data);
            double[] ms = new double[runs];
            double sum = 0;
            for (int i = 0; i < runs; i++) {
                ms[i] = call(g, images, data);
                sum += ms[i];
            }
            Arrays.sort(ms);
            double median = runs % 2 == 1 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
            return new Row(mode.cliName(), input, n, loadMs, first, median, ms[0], ms[runs - 1], sum / runs, runs);
        } finally {
            data.forEach(Mat::close);
        }
    }

    /** One synchronous call, in milliseconds; its outputs are closed after the clock stops. */
    private static double call(Generator g, boolean images, List<Mat> data) {
        long t0 = System.nanoTime();
        List<Mat> results = images ? g.translate(data) : List.of(g.translateBlob(data.get(0)));
        double ms = (System.nanoTime() - t0) / 1e6;
        results.forEach(Mat::close);
        return ms;
    }

    static List<Mat> randomImages(int n, int h, int w) {
        SplittableRandom random = new SplittableRandom(n * 31L + h);
        List<Mat> list = new ArrayList<>(n);
        byte[] bytes = new byte[h * w * 3];
        for (int i = 0; i < n; i++) {
            random.nextBytes(bytes);
            Mat m = new Mat(h, w, CV_8UC3);
            new BytePointer(m.data()).put(bytes);
            list.add(m);
        }
        return list;
    }

    static Mat randomBlob(int n, int h, int w) {
        SplittableRandom random = new SplittableRandom(n * 37L + h);
        float[] v = new float[n * 3 * h * w];
        for (int i = 0; i < v.length; i++) v[i] = (float) random.nextDouble(-1, 1);
        Mat m = new Mat(new int[] {n, 3, h, w}, CV_32F);
        new FloatPointer(m.data()).put(v);
        return m;
    }

    private String toJson(List<Row> rows, String device, String precision, int h, int w, Environment env) {
        StringBuilder b = new StringBuilder();
        b.append("{\n");
        b.append("  \"model\": ").append(quote(common.modelName())).append(",\n");
        b.append("  \"height\": ").append(h).append(", \"width\": ").append(w).append(",\n");
        b.append("  \"device\": ").append(quote(device)).append(",\n");
        b.append("  \"java_version\": ").append(quote(System.getProperty("java.version"))).append(",\n");
        b.append("  \"precision\": ").append(quote(precision)).append(",\n");
        b.append("  \"native_kernels\": ").append(quote(env.kernels().variant() + "; " + env.kernels().status())).append(",\n");
        b.append("  \"opencv_cuda_devices\": ").append(env.openCv().cudaDeviceCount()).append(", \"dnn_cuda_targets\": ")
                .append(quote((env.openCv().dnnCuda() ? "fp32" : "") + (env.openCv().dnnCudaFp16() ? ",fp16" : ""))).append(",\n");
        b.append("  \"warmup\": ").append(warmup).append(", \"runs\": ").append(runs).append(",\n");
        b.append("  \"results\": [");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            b.append(i == 0 ? "\n" : ",\n");
            b.append(String.format(Locale.ROOT,
                    "    {\"stats\": %s, \"input\": %s, \"n\": %d, \"load_ms\": %.3f, \"first_ms\": %.3f, \"median_ms\": %.4f,"
                            + " \"min_ms\": %.4f, \"max_ms\": %.4f, \"mean_ms\": %.4f, \"runs\": %d, \"images_per_s\": %.3f}",
                    quote(r.stats()), quote(r.input()), r.n(), r.loadMs(), r.firstMs(), r.medianMs(), r.minMs(), r.maxMs(),
                    r.meanMs(), r.runs(), r.imagesPerSecond()));
        }
        b.append("\n  ]\n}\n");
        return b.toString();
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }
}
