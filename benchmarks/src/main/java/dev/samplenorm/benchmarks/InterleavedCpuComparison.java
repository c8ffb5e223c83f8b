package dev.samplenorm.benchmarks;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Engine;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions.ConvTransposeForm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * unet_256 on the CPU, configurations measured in alternation: every round runs each configuration
 * once, in turn (where ONNX Runtime sessions take part: in an order shuffled per round, each call
 * after a 100 ms pause, so that no configuration always runs right after another's spinning
 * threads; every call then starts from parked threads, so this measures one call at a time, not
 * back-to-back throughput), so that a change of machine load hits all of them alike (on a shared machine,
 * JMH's one-trial-after-another grid can put minutes of different load between two rows). Reports
 * per configuration the median, min and max of the call times, and the median over rounds of each
 * configuration's time divided by the first configuration's time in the same round.
 *
 * <pre>
 * java -Xss8m -cp ... dev.samplenorm.benchmarks.InterleavedCpuComparison forms N ROUNDS     # batch mode: sub-pixel, as exported, ONNX Runtime; sample mode sub-pixel
 * java -Xss8m -cp ... dev.samplenorm.benchmarks.InterleavedCpuComparison threads N ROUNDS   # OpenCV threads 1 vs 2, one and two instances
 * java -Xss8m -cp ... dev.samplenorm.benchmarks.InterleavedCpuComparison engines N ROUNDS   # plain ONNX Runtime, then samplenorm's two engines (default forms), batch and sample
 * java -Xss8m -cp ... dev.samplenorm.benchmarks.InterleavedCpuComparison latency 1 ROUNDS   # one 8-bit image: ORT with Java pixel loops, samplenorm's two engines (sample)
 * </pre>
 *
 * (ONNX Runtime 1.29's environment crashed the JVM with the default 1 MiB main-thread stack on the
 * AMD EPYC machine with this class path; {@code -Xss8m} avoids it.)
 */
public final class InterleavedCpuComparison {

    static final int C = GeneratorBenchmark.C, H = GeneratorBenchmark.H, W = GeneratorBenchmark.W;

    interface Call {
        void run() throws Exception;
    }

    /** Shuffle the order in every round and pause before each call: for configurations with ONNX Runtime sessions. */
    private static boolean withOrtSessions;

    /** Longer than ONNX Runtime's intra-op threads spin after a run. */
    static final long SETTLE_MS = 100;

    public static void main(String[] args) throws Exception {
        String what = args[0];
        int n = Integer.parseInt(args[1]), rounds = Integer.parseInt(args[2]);
        int cores = Runtime.getRuntime().availableProcessors();
        float[] x = GeneratorBenchmark.randomBlob(n, 42);
        Mat blob = new Mat(new int[] {n, C, H, W}, CV_32F);
        new FloatPointer(blob.data()).put(x);
        Map<String, Call> calls = new LinkedHashMap<>();
        List<AutoCloseable> resources = new ArrayList<>();
        var model = BenchModels.readUnet256();
        if (what.equals("forms")) {
            Generator sub = GeneratorBenchmark.load(model, StatisticsMode.BATCH, ConvTransposeForm.SUB_PIXEL);
            Generator exported = GeneratorBenchmark.load(model, StatisticsMode.BATCH, ConvTransposeForm.AS_EXPORTED);
            Generator sample = GeneratorBenchmark.load(model, StatisticsMode.SAMPLE, ConvTransposeForm.SUB_PIXEL);
            OnnxRuntimeGenerator ort = new OnnxRuntimeGenerator(model);
            OnnxTensor input = ort.tensor(x, n, C, H, W);
            resources.addAll(List.of(sub, exported, sample, input, ort));
            calls.put("opencv batch as exported", () -> translate(exported, blob));
            calls.put("opencv batch sub-pixel", () -> translate(sub, blob));
            calls.put("opencv sample sub-pixel", () -> translate(sample, blob));
            calls.put("onnxruntime batch", () -> run(ort, input));
            withOrtSessions = true;
        } else if (what.equals("threads")) {
            Generator a = GeneratorBenchmark.load(model, StatisticsMode.BATCH, ConvTransposeForm.SUB_PIXEL);
            Generator b = GeneratorBenchmark.load(model, StatisticsMode.BATCH, ConvTransposeForm.SUB_PIXEL);
            Mat blob2 = blob.clone();
            ExecutorService two = Executors.newFixedThreadPool(2);
            resources.addAll(List.of(a, b, blob2, two::shutdown));
            for (int threads : new int[] {cores, 1}) {
                calls.put("1 instance, " + threads + " OpenCV threads", () -> {
                    opencv_core.setNumThreads(threads);
                    translate(a, blob);
                });
            }
            for (int threads : new int[] {cores, 1}) {
                // Two calls at once, one per instance: the time until both are done (2N images).
                calls.put("2 instances at once, " + threads + " OpenCV threads", () -> {
                    opencv_core.setNumThreads(threads);
                    Future<?> f = two.submit(() -> translate(a, blob));
                    Future<?> g = two.submit(() -> translate(b, blob2));
                    f.get();
                    g.get();
                });
            }
        } else if (what.equals("engines")) {
            OnnxRuntimeGenerator ort = new OnnxRuntimeGenerator(model);
            OnnxTensor input = ort.tensor(x, n, C, H, W);
            resources.addAll(List.of(input, ort));
            calls.put("plain onnxruntime (training export, batch statistics)", () -> run(ort, input));
            for (Engine engine : new Engine[] {Engine.OPENCV, Engine.ONNXRUNTIME}) {
                for (StatisticsMode mode : new StatisticsMode[] {StatisticsMode.BATCH, StatisticsMode.SAMPLE}) {
                    Generator g = GeneratorBenchmark.load(model, mode, engine, ConvTransposeForm.AUTO);
                    resources.add(g);
                    calls.put("samplenorm " + engine.name().toLowerCase(Locale.ROOT) + " " + mode.name().toLowerCase(Locale.ROOT),
                            () -> translate(g, blob));
                }
            }
            Generator exported = GeneratorBenchmark.load(model, StatisticsMode.BATCH, Engine.ONNXRUNTIME, ConvTransposeForm.AS_EXPORTED);
            resources.add(exported);
            calls.put("samplenorm onnxruntime batch, ConvTranspose as exported", () -> translate(exported, blob));
            // ONNX Runtime's threads spin on for a while after a run.
            withOrtSessions = true;
        } else if (what.equals("latency")) {
            // One 256 x 256 8-bit image in, one out (N is ignored): GeneratorBenchmark's latency pair, in alternation.
            GeneratorBenchmark.OneImage img = new GeneratorBenchmark.OneImage();
            img.setUp();
            OnnxRuntimeGenerator ort = new OnnxRuntimeGenerator(model);
            resources.add(img::tearDown);
            resources.add(ort);
            calls.put("plain onnxruntime with Java pixel loops", () -> javaLoopsAroundOrt(ort, img.image));
            for (Engine engine : new Engine[] {Engine.ONNXRUNTIME, Engine.OPENCV}) {
                Generator g = GeneratorBenchmark.load(model, StatisticsMode.SAMPLE, engine, ConvTransposeForm.AUTO);
                resources.add(g);
                calls.put("samplenorm " + engine.name().toLowerCase(Locale.ROOT) + " sample, Generator.translate", () -> {
                    List<Mat> out = g.translate(List.of(img.image));
                    out.get(0).close();
                });
            }
            withOrtSessions = true;
        } else {
            throw new IllegalArgumentException("expected forms, threads, engines or latency, got " + what);
        }
        System.out.printf("# %s N=%d rounds=%d, %d cores, load average %s%n", what, n, rounds, cores, loadAverage());
        for (Call c : calls.values()) c.run(); // warm-up: each network is built and run once
        Map<String, double[]> ms = new LinkedHashMap<>();
        for (String k : calls.keySet()) ms.put(k, new double[rounds]);
        List<Map.Entry<String, Call>> order = new ArrayList<>(calls.entrySet());
        long seed = System.nanoTime();
        java.util.Random shuffle = new java.util.Random(seed);
        if (withOrtSessions) System.out.printf("# order shuffled per round (seed %d), %d ms pause before each call%n", seed, SETTLE_MS);
        for (int r = 0; r < rounds; r++) {
            // A rotation keeps the cyclic order, so every configuration would always follow the same one (and
            // the spinning threads of its ONNX Runtime session): shuffle instead, and let spinning end first.
            if (withOrtSessions) java.util.Collections.shuffle(order, shuffle);
            for (int i = 0; i < order.size(); i++) {
                var e = order.get(i);
                if (withOrtSessions) Thread.sleep(SETTLE_MS);
                long t0 = System.nanoTime();
                e.getValue().run();
                ms.get(e.getKey())[r] = (System.nanoTime() - t0) / 1e6;
            }
        }
        double[] first = ms.values().iterator().next();
        System.out.println("| configuration | median ms | min..max ms | median time / first row's time (same round) | min..max of that ratio |");
        System.out.println("|---|---|---|---|---|");
        for (var e : ms.entrySet()) {
            double[] v = e.getValue();
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) ratio[r] = v[r] / first[r];
            System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f..%.1f | %.3f | %.3f..%.3f |%n", e.getKey(), median(v), Arrays.stream(v).min().orElse(0),
                    Arrays.stream(v).max().orElse(0), median(ratio), Arrays.stream(ratio).min().orElse(0), Arrays.stream(ratio).max().orElse(0));
        }
        System.out.printf("# load average after: %s%n", loadAverage());
        for (AutoCloseable c : resources) c.close();
        blob.close();
    }

    static void run(OnnxRuntimeGenerator ort, OnnxTensor input) throws Exception {
        try (OrtSession.Result r = ort.run(input)) {
            r.get(0);
        }
    }

    /** What a user writes around ORT (as {@code GeneratorBenchmark.latencyOnnxRuntime}): Java loops over the pixels. */
    static byte[] javaLoopsAroundOrt(OnnxRuntimeGenerator ort, Mat image) throws Exception {
        byte[] bgr = new byte[H * W * C];
        image.data().get(bgr);
        float[] x = new float[C * H * W];
        OnnxRuntimeGenerator.bgrToModel(bgr, x, H, W);
        float[] y = ort.run(x, 1, C, H, W);
        byte[] out = new byte[H * W * C];
        OnnxRuntimeGenerator.modelToBgr(y, out, H, W);
        return out;
    }

    static void translate(Generator g, Mat blob) {
        try (Mat out = g.translateBlob(blob)) {
            out.address();
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static String loadAverage() {
        try {
            return String.join(" ", Arrays.copyOf(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" "), 3));
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
