package dev.samplenorm.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.onnx.ConvTransposeRewrite;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.OpenCvShapes;
import dev.samplenorm.onnx.StatisticsRewrite;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * unet_256 on ONNX Runtime (CPU): forms of the rewritten model and session options, measured in
 * alternation as in {@link InterleavedCpuComparison} (each round runs every configuration once, in
 * turn, each round starting one configuration later; per configuration the median, min and max call
 * time, and the median over rounds of its time divided by the first configuration's time in the same
 * round). Each configuration is an
 * {@code OrtSession} on a model the way samplenorm's ONNX Runtime engine builds it (statistics
 * rewrite, batch extent symbolic); the last row is plain ONNX Runtime on the training export with
 * default session options, the benchmarks' yardstick.
 *
 * <pre>
 * java -Xss8m -cp ... dev.samplenorm.benchmarks.OnnxRuntimeVariants forms N ROUNDS     # model forms, engine session options
 * java -Xss8m -cp ... dev.samplenorm.benchmarks.OnnxRuntimeVariants options N ROUNDS   # session options, sub-pixel batch form
 * java -Xss8m -cp ... dev.samplenorm.benchmarks.OnnxRuntimeVariants spinning N ROUNDS  # intra-op spinning on and off, both sides
 * java -Xss8m -cp ... dev.samplenorm.benchmarks.OnnxRuntimeVariants forms N ROUNDS nospin   # every session without spinning
 * java -Xss8m -cp ... dev.samplenorm.benchmarks.OnnxRuntimeVariants profile N RUNS          # ORT's profile by operator, batch form
 * </pre>
 *
 * Besides wall time it reports the process's CPU time per call (all threads, JVM included): without
 * intra-op spinning that is the work the session does, which a loaded machine disturbs less than
 * the wall time (with spinning it also counts the threads' busy waiting).
 */
public final class OnnxRuntimeVariants {

    static final int C = GeneratorBenchmark.C, H = GeneratorBenchmark.H, W = GeneratorBenchmark.W;
    private static final String INPUT = "input";

    public static void main(String[] args) throws Exception {
        String what = args[0];
        int n = Integer.parseInt(args[1]), rounds = Integer.parseInt(args[2]);
        if (what.equals("profile")) {
            profile(n, rounds);
            return;
        }
        noSpinningEverywhere = args.length > 3 && args[3].equals("nospin");
        int cores = Runtime.getRuntime().availableProcessors();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OnnxModel model = BenchModels.readUnet256();
        OnnxModel batch = StatisticsRewrite.rewrite(model, StatisticsMode.BATCH, OpenCvShapes.atInput(1, C, H, W));
        OnnxModel sample = StatisticsRewrite.rewrite(model, StatisticsMode.SAMPLE, OpenCvShapes.atInput(1, C, H, W));
        OnnxModel batchSub = ConvTransposeRewrite.rewrite(batch);
        OnnxModel sampleSub = ConvTransposeRewrite.rewrite(sample);
        OpenCvShapes probe = OpenCvShapes.atInput(1, C, H, W).alsoAt(node -> node.getOpType().equals("ConvTranspose"));
        OnnxModel batchSubTransposes = ConvTransposeRewrite.rewrite(StatisticsRewrite.rewrite(model, StatisticsMode.BATCH, probe), probe.alsoFound());
        Consumer<OrtSession.SessionOptions> engine = o -> engineOptions(o, cores);
        Map<String, OrtSession> sessions = new LinkedHashMap<>();
        if (what.equals("forms")) {
            sessions.put("batch, ConvTranspose as exported (engine today)", session(env, batch, engine));
            sessions.put("batch, sub-pixel", session(env, batchSub, engine));
            sessions.put("batch, sub-pixel, phases interleaved by Transposes", session(env, batchSubTransposes, engine));
            sessions.put("batch, sub-pixel, Transposes, per-phase convs at 16 to 256 input positions", session(env,
                    ConvTransposeRewrite.rewrite(StatisticsRewrite.rewrite(model, StatisticsMode.BATCH, probe), probe.alsoFound(), 16, 256), engine));
            if (n == 1) sessions.put("InstanceNormalization (= batch at N = 1), sub-pixel", session(env, sampleSub, engine));
            sessions.put("sample, as exported", session(env, sample, engine));
            sessions.put("sample, sub-pixel", session(env, sampleSub, engine));
            sessions.put("ORT's own training-mode BatchNorm, sub-pixel",
                    session(env, ConvTransposeRewrite.rewrite(StatisticsRewrite.withoutDropout(model)), engine));
        } else if (what.equals("options")) {
            sessions.put("batch sub-pixel, engine options (" + cores + " threads, spinning)", session(env, batchSub, engine));
            sessions.put("... no spinning", session(env, batchSub, engine.andThen(o -> config(o, "session.intra_op.allow_spinning", "0"))));
            sessions.put("... ORT default threads", session(env, batchSub, o -> {
                engineOptions(o, cores);
                call(() -> o.setIntraOpNumThreads(0));
            }));
            sessions.put("... basic graph optimizations", session(env, batchSub, engine.andThen(o -> call(
                    () -> o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT)))));
            sessions.put("... no memory pattern, no arena", session(env, batchSub, engine.andThen(o -> call(() -> {
                o.setMemoryPatternOptimization(false);
                o.setCPUArenaAllocator(false);
            }))));
            sessions.put("... all defaults (no options set)", session(env, batchSub, o -> {}));
        } else if (what.equals("spinning")) {
            Consumer<OrtSession.SessionOptions> noSpin = o -> config(o, "session.intra_op.allow_spinning", "0");
            sessions.put("batch sub-pixel, engine options (" + cores + " threads, spinning)", session(env, batchSub, engine));
            sessions.put("batch sub-pixel, engine options, no spinning", session(env, batchSub, engine.andThen(noSpin)));
            try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                noSpin.accept(o);
                sessions.put("plain ONNX Runtime, training export, default options but no spinning",
                        env.createSession(StatisticsRewrite.withoutDropout(model).toByteArray(), o));
            }
        } else {
            throw new IllegalArgumentException("expected forms, options or spinning, got " + what);
        }
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) { // as OnnxRuntimeGenerator: the export as it is
            if (noSpinningEverywhere) noSpinning(o);
            sessions.put("plain ONNX Runtime, training export, default options",
                    env.createSession(StatisticsRewrite.withoutDropout(model).toByteArray(), o));
        }

        float[] x = GeneratorBenchmark.randomBlob(n, 42);
        FloatBuffer direct = java.nio.ByteBuffer.allocateDirect(4 * x.length).order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        direct.put(x).flip();
        List<AutoCloseable> resources = new ArrayList<>(sessions.values());
        OnnxTensor input = OnnxTensor.createTensor(env, direct, new long[] {n, C, H, W});
        resources.add(input);
        System.out.printf("# %s N=%d rounds=%d, %d cores, load average %s%s%n", what, n, rounds, cores, InterleavedCpuComparison.loadAverage(),
                noSpinningEverywhere ? "; intra-op spinning off in every session" : "");
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        for (OrtSession s : sessions.values()) run(s, input); // warm-up
        Map<String, double[]> ms = new LinkedHashMap<>(), cpu = new LinkedHashMap<>();
        for (String k : sessions.keySet()) {
            ms.put(k, new double[rounds]);
            cpu.put(k, new double[rounds]);
        }
        List<Map.Entry<String, OrtSession>> order = new ArrayList<>(sessions.entrySet());
        long seed = System.nanoTime();
        java.util.Random shuffle = new java.util.Random(seed);
        System.out.printf("# order shuffled per round (seed %d), %d ms pause before each run%n", seed, InterleavedCpuComparison.SETTLE_MS);
        for (int r = 0; r < rounds; r++) {
            // ONNX Runtime's threads spin for a while after a run, into the next session's run: the
            // order is shuffled per round (a rotation would keep each configuration's predecessor),
            // and each run starts after a pause longer than the spinning.
            java.util.Collections.shuffle(order, shuffle);
            for (int k = 0; k < order.size(); k++) {
                var e = order.get(k);
                Thread.sleep(InterleavedCpuComparison.SETTLE_MS);
                long c0 = os.getProcessCpuTime(), t0 = System.nanoTime();
                run(e.getValue(), input);
                ms.get(e.getKey())[r] = (System.nanoTime() - t0) / 1e6;
                cpu.get(e.getKey())[r] = (os.getProcessCpuTime() - c0) / 1e6;
            }
        }
        double[] first = ms.values().iterator().next(), firstCpu = cpu.values().iterator().next();
        System.out.println("| configuration | median ms | min..max ms | median time / first row's time (same round)"
                + " | median process CPU ms | median CPU time / first row's |");
        System.out.println("|---|---|---|---|---|---|");
        for (var e : ms.entrySet()) {
            double[] v = e.getValue(), c = cpu.get(e.getKey());
            double[] ratio = new double[rounds], cpuRatio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                ratio[r] = v[r] / first[r];
                cpuRatio[r] = c[r] / firstCpu[r];
            }
            System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f..%.1f | %.3f | %.1f | %.3f |%n", e.getKey(), InterleavedCpuComparison.median(v),
                    Arrays.stream(v).min().orElse(0), Arrays.stream(v).max().orElse(0), InterleavedCpuComparison.median(ratio),
                    InterleavedCpuComparison.median(c), InterleavedCpuComparison.median(cpuRatio));
        }
        System.out.printf("# load average after: %s%n", InterleavedCpuComparison.loadAverage());
        for (AutoCloseable c : resources) c.close();
    }

    /** With {@code nospin}: every session, the plain one included, runs without intra-op spinning (CPU time = work). */
    private static boolean noSpinningEverywhere;

    private static void noSpinning(OrtSession.SessionOptions o) {
        config(o, "session.intra_op.allow_spinning", "0");
    }

    private static final java.util.regex.Pattern DUR = java.util.regex.Pattern.compile("\"dur\"\\s*:\\s*(\\d+)");
    private static final java.util.regex.Pattern TS = java.util.regex.Pattern.compile("\"ts\"\\s*:\\s*(\\d+)");
    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("\"name\"\\s*:\\s*\"([^\"]*)\"");
    private static final java.util.regex.Pattern OP = java.util.regex.Pattern.compile("\"op_name\"\\s*:\\s*\"([^\"]*)\"");

    /**
     * ONNX Runtime's own profile of the engine's batch form, ConvTranspose as exported and in sub-pixel
     * form, two sessions run in alternation (2 warm-up runs each, then RUNS profiled): node kernel time per run, summed by
     * operator ({@code ReorderInput}/{@code ReorderOutput} are the NCHWc layout conversions ORT inserts).
     */
    private static void profile(int n, int runs) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int cores = Runtime.getRuntime().availableProcessors();
        OnnxModel batch = StatisticsRewrite.rewrite(BenchModels.readUnet256(), StatisticsMode.BATCH, OpenCvShapes.atInput(1, C, H, W));
        java.nio.file.Path dir = java.nio.file.Files.createDirectories(BenchModels.folder().resolve("ort-profile"));
        float[] x = GeneratorBenchmark.randomBlob(n, 42);
        var forms = List.of(Map.entry("ConvTranspose as exported", batch), Map.entry("sub-pixel", ConvTransposeRewrite.rewrite(batch)));
        List<OrtSession> sessions = new ArrayList<>();
        List<String> files = new ArrayList<>();
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, C, H, W})) {
            for (int f = 0; f < forms.size(); f++) {
                String prefix = dir.resolve("variant" + f).toString();
                sessions.add(session(env, forms.get(f).getValue(), o -> {
                    engineOptions(o, cores);
                    call(() -> o.enableProfiling(prefix));
                }));
            }
            for (int i = 0; i < 2 + runs; i++) for (OrtSession s : sessions) run(s, in); // in alternation
            for (OrtSession s : sessions) {
                files.add(s.endProfiling());
                s.close();
            }
        }
        for (int f = 0; f < forms.size(); f++) {
            var form = forms.get(f);
            String file = files.get(f);
            List<Long> starts = new ArrayList<>();
            List<long[]> kernels = new ArrayList<>();
            List<String> ops = new ArrayList<>(), nodeNames = new ArrayList<>();
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of(file))) {
                var name = NAME.matcher(line);
                var dur = DUR.matcher(line);
                var ts = TS.matcher(line);
                if (!name.find() || !dur.find() || !ts.find()) continue;
                if (name.group(1).equals("model_run")) {
                    starts.add(Long.parseLong(ts.group(1)));
                } else if (name.group(1).endsWith("_kernel_time")) {
                    var op = OP.matcher(line);
                    kernels.add(new long[] {Long.parseLong(ts.group(1)), Long.parseLong(dur.group(1))});
                    ops.add(op.find() ? op.group(1) : "?");
                    nodeNames.add(name.group(1).substring(0, name.group(1).length() - "_kernel_time".length()));
                }
            }
            java.util.Collections.sort(starts);
            long from = starts.size() > 2 ? starts.get(2) : 0;
            Map<String, Double> byOp = new java.util.TreeMap<>(), byConvTranspose = new LinkedHashMap<>();
            double total = 0;
            for (int i = 0; i < kernels.size(); i++) {
                if (kernels.get(i)[0] < from) continue;
                double ms = kernels.get(i)[1] / 1e3 / runs;
                byOp.merge(ops.get(i), ms, Double::sum);
                String node = nodeNames.get(i);
                int sub = node.indexOf("/sub_pixel/");
                if (ops.get(i).equals("ConvTranspose")) byConvTranspose.merge(node, ms, Double::sum);
                if (sub > 0) byConvTranspose.merge(node.substring(0, sub), ms, Double::sum);
                total += ms;
            }
            System.out.printf(Locale.ROOT, "%n# batch form, %s, N=%d, %d runs, load average %s: %.1f ms per run in node kernels%n",
                    form.getKey(), n, runs, InterleavedCpuComparison.loadAverage(), total);
            System.out.println("| operator | ms per run | share |");
            System.out.println("|---|---|---|");
            for (var e : byOp.entrySet()) {
                System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f %% |%n", e.getKey(), e.getValue(), 100 * e.getValue() / total);
            }
            System.out.println("| ConvTranspose node (sub-pixel: its Conv, DepthToSpace and Slice) | ms per run |");
            System.out.println("|---|---|");
            for (var e : byConvTranspose.entrySet()) System.out.printf(Locale.ROOT, "| %s | %.2f |%n", e.getKey(), e.getValue());
            java.nio.file.Files.deleteIfExists(java.nio.file.Path.of(file));
        }
    }

    /** The session options of samplenorm's ONNX Runtime engine before this comparison. */
    private static void engineOptions(OrtSession.SessionOptions o, int threads) {
        if (noSpinningEverywhere) noSpinning(o);
        call(() -> {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            o.setIntraOpNumThreads(threads);
            o.setInterOpNumThreads(1);
        });
    }

    private static void config(OrtSession.SessionOptions o, String key, String value) {
        call(() -> o.addConfigEntry(key, value));
    }

    interface OrtCall {
        void run() throws OrtException;
    }

    private static void call(OrtCall c) {
        try {
            c.run();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    private static OrtSession session(OrtEnvironment env, OnnxModel m, Consumer<OrtSession.SessionOptions> options) throws OrtException {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            options.accept(o);
            return env.createSession(m.withSymbolicBatch(INPUT).toByteArray(), o);
        }
    }

    private static void run(OrtSession s, OnnxTensor input) throws OrtException {
        try (OrtSession.Result r = s.run(Map.of(INPUT, input))) {
            ((OnnxTensor) r.get(0)).getFloatBuffer();
        }
    }
}
