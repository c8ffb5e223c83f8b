package dev.samplenorm.benchmarks;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_dnn.DNN_BACKEND_OPENCV;
import static org.bytedeco.opencv.global.opencv_dnn.DNN_TARGET_CPU;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.onnx.ConvTransposeRewrite;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.OpenCvNets;
import dev.samplenorm.onnx.OpenCvShapes;
import dev.samplenorm.onnx.StatisticsRewrite;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.MatVector;
import org.bytedeco.opencv.opencv_core.StringVector;
import org.bytedeco.opencv.opencv_dnn.Layer;
import org.bytedeco.opencv.opencv_dnn.MatShapeVector;
import org.bytedeco.opencv.opencv_dnn.Net;

/**
 * Where unet_256 spends its time on the CPU: OpenCV DNN's per-layer timings ({@code Net.getPerfProfile})
 * of the network each statistics mode runs (rewritten exactly as {@code Generator} rewrites it on the CPU),
 * summed by layer type, next to ONNX Runtime's own per-node profile of the training export, summed
 * by operator type; then every convolution and transposed convolution node side by side (both
 * runtimes keep the ONNX node names), with its shapes and the arithmetic rate reached (the OpenCV
 * rate and the CV/ORT ratio are those of the first mode profiled).
 * Not a JMH benchmark: a few forwards after two warm-up runs, averaged.
 *
 * <pre>
 * java -cp ... dev.samplenorm.benchmarks.OpenCvLayerProfile [N [runs [mode ...]]]   (defaults: 1 5 running sample batch)
 * </pre>
 *
 * Layers that OpenCV fuses into their predecessor (ReLU into a convolution, an inference-form
 * BatchNorm into a convolution) report no time of their own; their cost is inside the layer they
 * were fused into.
 */
public final class OpenCvLayerProfile {

    static final int C = GeneratorBenchmark.C, H = GeneratorBenchmark.H, W = GeneratorBenchmark.W;
    static final int WARMUP = 2;
    static final String LAYER_PREFIX = "onnx_node!";

    /** One layer's average time per forward; shapes and multiply-adds for (de)convolutions. */
    record LayerTime(String node, String type, double ms, int[] in, int[] out, double macs) {}

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        List<StatisticsMode> modes = new ArrayList<>();
        for (int i = 2; i < args.length; i++) modes.add(StatisticsMode.parse(args[i]));
        if (modes.isEmpty()) modes = List.of(StatisticsMode.RUNNING, StatisticsMode.SAMPLE, StatisticsMode.BATCH);

        OnnxModel model = BenchModels.readUnet256();
        float[] x = GeneratorBenchmark.randomBlob(n, 42);
        System.out.printf(Locale.ROOT, "unet_256, N = %d, %d runs after %d warm-up, OpenCV threads %d%n", n, runs, WARMUP,
                opencv_core.getNumThreads());
        Map<StatisticsMode, List<LayerTime>> openCv = new LinkedHashMap<>();
        for (StatisticsMode mode : modes) openCv.put(mode, profileOpenCv(model, mode, x, n, runs));
        Map<String, Double> ort = profileOnnxRuntime(model, x, n, runs);
        compareNodes(openCv, ort);
    }

    /**
     * The network Generator runs on the CPU for {@code mode} (input mode runs the running-statistics network),
     * ConvTransposes in the sub-pixel form, interleaved by Transposes where the statistics probe found their shapes, per phase
     * on the inputs where Generator does that.
     */
    static OnnxModel rewritten(OnnxModel model, StatisticsMode mode) {
        if (!mode.usesBatchStatisticsInside()) return ConvTransposeRewrite.rewrite(StatisticsRewrite.rewrite(model, StatisticsMode.RUNNING, null));
        OpenCvShapes shapes = OpenCvShapes.atInput(1, C, H, W).alsoAt(n -> n.getOpType().equals("ConvTranspose"));
        OnnxModel rewritten = StatisticsRewrite.rewrite(model, mode, shapes);
        return ConvTransposeRewrite.rewrite(rewritten, shapes.alsoFound(), Generator.PER_PHASE_MIN_PIXELS, Generator.PER_PHASE_MAX_PIXELS);
    }

    static List<LayerTime> profileOpenCv(OnnxModel model, StatisticsMode mode, float[] x, int n, int runs) {
        try (Net net = OpenCvNets.read(rewritten(model, mode)); Mat blob = new Mat(new int[] {n, C, H, W}, CV_32F);
                DoublePointer timings = new DoublePointer()) {
            net.setPreferableBackend(DNN_BACKEND_OPENCV);
            net.setPreferableTarget(DNN_TARGET_CPU);
            new FloatPointer(blob.data()).put(x);
            for (int i = 0; i < WARMUP; i++) forward(net, blob);
            List<String> names = new ArrayList<>();
            try (StringVector v = net.getLayerNames()) {
                for (long i = 0; i < v.size(); i++) names.add(text(v.get(i).getString()));
            }
            double[] perLayer = new double[names.size()];
            double wall = 0, profiled = 0, tick = opencv_core.getTickFrequency() / 1e3;
            for (int r = 0; r < runs; r++) {
                long t0 = System.nanoTime();
                forward(net, blob);
                wall += (System.nanoTime() - t0) / 1e6;
                profiled += net.getPerfProfile(timings) / tick;
                // timings[i] belongs to layer id i + 1 (id 0 is the input layer), in getLayerNames() order.
                for (int i = 0; i < Math.min(perLayer.length, timings.limit()); i++) perLayer[i] += timings.get(i) / tick;
            }
            List<LayerTime> layers = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) layers.add(describe(net, names.get(i), perLayer[i] / runs, n));
            System.out.printf(Locale.ROOT, "%nOpenCV DNN, %s: %.1f ms per forward (wall), %.1f ms in the profile, %d layers%n",
                    mode.cliName(), wall / runs, profiled / runs, names.size());
            Map<String, double[]> byType = new HashMap<>(); // type -> {ms, layers, layers with time}
            for (LayerTime l : layers) {
                double[] t = byType.computeIfAbsent(l.type(), k -> new double[3]);
                t[0] += l.ms();
                t[1]++;
                if (l.ms() > 0) t[2]++;
            }
            printTable(byType, profiled / runs);
            return layers;
        }
    }

    static LayerTime describe(Net net, String name, double ms, int n) {
        int id = net.getLayerId(name);
        Layer layer = net.getLayer(id);
        String type = text(layer.type().getString());
        String node = name.startsWith(LAYER_PREFIX) ? name.substring(LAYER_PREFIX.length()) : name;
        if (!type.equals("Convolution") && !type.equals("Deconvolution")) return new LayerTime(node, type, ms, null, null, 0);
        try (PointerScope scope = new PointerScope()) {
            MatShapeVector netIn = new MatShapeVector(new IntPointer(n, C, H, W)), in = new MatShapeVector(), out = new MatShapeVector();
            net.getLayerShapes(netIn, id, in, out);
            int[] inShape = shape(in.get(0)), outShape = shape(out.get(0));
            MatVector blobs = layer.blobs();
            Mat weights = blobs.get(0);
            double weightCount = weights.total();
            // Conv: every output element takes Cin*k*k weights; ConvTranspose: every input element feeds Cout*k*k.
            double macs = type.equals("Convolution") ? elements(outShape) * weightCount / outShape[1]
                    : elements(inShape) * weightCount / inShape[1];
            return new LayerTime(node, type, ms, inShape, outShape, macs);
        }
    }

    static int[] shape(IntPointer p) {
        int[] s = new int[(int) p.limit()];
        p.get(s);
        return s;
    }

    static double elements(int[] s) {
        double e = 1;
        for (int d : s) e *= d;
        return e;
    }

    /** OpenCV's strings come back with their terminating NUL. */
    static String text(String s) {
        return s.replace("\0", "");
    }

    static void forward(Net net, Mat blob) {
        net.setInput(blob);
        try (Mat out = net.forward()) {
            if (out.size(0) != blob.size(0)) throw new IllegalStateException("unexpected output");
        }
    }

    private static final Pattern DUR = Pattern.compile("\"dur\"\\s*:\\s*(\\d+)");
    private static final Pattern TS = Pattern.compile("\"ts\"\\s*:\\s*(\\d+)");
    private static final Pattern NAME = Pattern.compile("\"name\"\\s*:\\s*\"([^\"]*)\"");
    private static final Pattern OP = Pattern.compile("\"op_name\"\\s*:\\s*\"([^\"]*)\"");
    private static final String KERNEL = "_kernel_time";

    /**
     * ORT's own profile (a JSON trace, one event a line): node kernel times of the runs after the
     * warm-up, summed by operator type; returns the average time per run of each node.
     */
    static Map<String, Double> profileOnnxRuntime(OnnxModel model, float[] x, int n, int runs) throws Exception {
        Path dir = Files.createDirectories(BenchModels.folder().resolve("ort-profile"));
        String file;
        double wall = 0;
        try (OnnxRuntimeGenerator ort = new OnnxRuntimeGenerator(model, dir.resolve("unet_256").toString())) {
            for (int i = 0; i < WARMUP; i++) ort.run(x, n, C, H, W);
            for (int r = 0; r < runs; r++) {
                long t0 = System.nanoTime();
                ort.run(x, n, C, H, W);
                wall += (System.nanoTime() - t0) / 1e6;
            }
            file = ort.endProfiling();
        }
        List<Long> runStarts = new ArrayList<>();
        List<Object[]> nodes = new ArrayList<>(); // {ts, dur, op, node}
        for (String line : Files.readAllLines(Path.of(file))) {
            Matcher name = NAME.matcher(line), dur = DUR.matcher(line), ts = TS.matcher(line);
            if (!name.find() || !dur.find() || !ts.find()) continue;
            long t = Long.parseLong(ts.group(1)), d = Long.parseLong(dur.group(1));
            if (name.group(1).equals("model_run")) {
                runStarts.add(t);
            } else if (name.group(1).endsWith(KERNEL)) {
                Matcher op = OP.matcher(line);
                String node = name.group(1).substring(0, name.group(1).length() - KERNEL.length());
                nodes.add(new Object[] {t, d, op.find() ? op.group(1) : "?", node});
            }
        }
        runStarts.sort(null);
        long from = runStarts.size() > WARMUP ? runStarts.get(WARMUP) : 0;
        Map<String, double[]> byOp = new HashMap<>();
        Map<String, Double> byNode = new HashMap<>();
        Map<String, Integer> nodesPerOp = new HashMap<>();
        double total = 0;
        for (Object[] e : nodes) {
            if ((long) e[0] < from) continue;
            double ms = (long) e[1] / 1e3 / runs;
            double[] t = byOp.computeIfAbsent((String) e[2], k -> new double[3]);
            t[0] += ms;
            total += ms;
            byNode.merge((String) e[3], ms, Double::sum);
        }
        for (Object[] e : nodes) nodesPerOp.merge((String) e[2], 1, Integer::sum);
        for (Map.Entry<String, double[]> e : byOp.entrySet()) {
            // Every node runs once per run: nodes of an operator = its events / all runs.
            e.getValue()[1] = e.getValue()[2] = (double) nodesPerOp.get(e.getKey()) / Math.max(1, runStarts.size());
        }
        System.out.printf(Locale.ROOT, "%nONNX Runtime (training export, batch statistics): %.1f ms per run (wall), %.1f ms in node"
                + " kernels%n", wall / runs, total);
        printTable(byOp, total);
        Files.deleteIfExists(Path.of(file));
        return byNode;
    }

    static void compareNodes(Map<StatisticsMode, List<LayerTime>> openCv, Map<String, Double> ort) {
        List<StatisticsMode> modes = new ArrayList<>(openCv.keySet());
        List<LayerTime> first = openCv.get(modes.get(0));
        List<LayerTime> convs = new ArrayList<>();
        for (LayerTime l : first) if (l.in() != null) convs.add(l);
        convs.sort(Comparator.comparingDouble(l -> -l.ms()));
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%n%-12s %-14s %-18s %-18s %7s", "node", "type", "input", "output",
                "GMAC"));
        for (StatisticsMode m : modes) head.append(String.format(Locale.ROOT, " %9s", m.cliName() + " ms"));
        head.append(String.format(Locale.ROOT, " %9s %7s %9s %9s", "ORT ms", "CV/ORT", "CV GMAC/s", "ORT GMAC/s"));
        System.out.println(head);
        for (LayerTime l : convs) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-12s %-14s %-18s %-18s %7.3f", l.node(), l.type(),
                    Arrays.toString(l.in()), Arrays.toString(l.out()), l.macs() / 1e9));
            for (StatisticsMode m : modes) {
                double ms = openCv.get(m).stream().filter(o -> o.node().equals(l.node())).mapToDouble(LayerTime::ms).findFirst().orElse(Double.NaN);
                row.append(String.format(Locale.ROOT, " %9.2f", ms));
            }
            double o = ortTime(ort, l.node());
            if (Double.isNaN(o)) {
                // ORT fused the node into another one (e.g. Conv + Relu under the Relu's name).
                row.append(String.format(Locale.ROOT, " %9s %7s %9.1f %9s", "fused", "-", l.macs() / 1e6 / l.ms(), "-"));
            } else {
                row.append(String.format(Locale.ROOT, " %9.2f %7.2f %9.1f %9.1f", o, l.ms() / o, l.macs() / 1e6 / l.ms(), l.macs() / 1e6 / o));
            }
            System.out.println(row);
        }
    }

    /** ORT keeps a node's name, or extends it when a graph transformation replaces the node (e.g. {@code conv_4_nchwc}). */
    static double ortTime(Map<String, Double> ort, String node) {
        Double exact = ort.get(node);
        if (exact != null) return exact;
        double sum = 0;
        boolean found = false;
        for (Map.Entry<String, Double> e : ort.entrySet()) {
            if (e.getKey().startsWith(node + "_")) {
                sum += e.getValue();
                found = true;
            }
        }
        return found ? sum : Double.NaN;
    }

    static void printTable(Map<String, double[]> byType, double total) {
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(byType.entrySet());
        rows.sort(Comparator.comparingDouble(e -> -e.getValue()[0]));
        System.out.printf(Locale.ROOT, "  %-24s %10s %7s %9s%n", "type", "ms/run", "share", "timed/all");
        for (Map.Entry<String, double[]> e : rows) {
            double[] t = e.getValue();
            System.out.printf(Locale.ROOT, "  %-24s %10.2f %6.1f%% %4.0f/%-4.0f%n", e.getKey(), t[0], 100 * t[0] / total, t[2], t[1]);
        }
    }

    private OpenCvLayerProfile() {}
}
