package dev.samplenorm.benchmarks;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_dnn.DNN_BACKEND_OPENCV;
import static org.bytedeco.opencv.global.opencv_dnn.DNN_TARGET_CPU;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.onnx.ConvTransposeRewrite;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.OpenCvNets;
import dev.samplenorm.onnx.OpenCvShapes;
import dev.samplenorm.onnx.StatisticsRewrite;
import dev.samplenorm.onnx.WinogradRewrite;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_dnn.Net;
import org.bytedeco.opencv.opencv_core.StringVector;

/**
 * unet_256 on OpenCV DNN's CPU backend with its 4x4 stride-2 convolutions in the 3x3 forms of
 * {@link WinogradRewrite} (Winograd on and off), the encoder as Pad + SpaceToDepth + 2x2 Conv, and the
 * sub-pixel form with its phases interleaved by Transposes, against the sub-pixel form with
 * DepthToSpace, measured in alternation:
 * each round runs every network once, in turn. Per network: median time per forward, median ratio
 * to the first network in the same round, relative L2 of the output to the first network's, and the
 * per-node time from {@code Net.getPerfProfile} summed over the layers each ONNX node became.
 *
 * <pre>
 * java -Xss8m -cp ... dev.samplenorm.benchmarks.WinogradForms N ROUNDS [mode [networks [layers]]]
 *   mode: statistics mode (batch); networks: a regex over the network names (all; the first, the
 *   sub-pixel form with DepthToSpace, always runs); layers: a regex over layer names to list one by one
 * </pre>
 */
public final class WinogradForms {

    static final int C = GeneratorBenchmark.C, H = GeneratorBenchmark.H, W = GeneratorBenchmark.W;

    record Config(String name, OnnxModel model, boolean winograd) {}

    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]), rounds = Integer.parseInt(args[1]);
        StatisticsMode mode = args.length > 2 ? StatisticsMode.parse(args[2]) : StatisticsMode.BATCH;
        OnnxModel stats = StatisticsRewrite.rewrite(BenchModels.readUnet256(), mode, OpenCvShapes.atInput(1, C, H, W));
        Predicate<dev.samplenorm.onnx.proto.Onnx.NodeProto> convs = x -> x.getOpType().equals("Conv");
        Predicate<dev.samplenorm.onnx.proto.Onnx.NodeProto> deconvs = x -> x.getOpType().equals("ConvTranspose");
        List<Config> configs = new ArrayList<>();
        configs.add(new Config("sub-pixel 2x2 (current)", ConvTransposeRewrite.rewrite(stats), true));
        configs.add(new Config("sub-pixel, Transposes", ConvTransposeRewrite.rewrite(stats,
                OpenCvShapes.atInput(1, C, H, W).inputShapes(stats.proto(), deconvs)), true));
        configs.add(new Config("decoder 3x3", ConvTransposeRewrite.rewrite(WinogradRewrite.rewrite(stats, deconvs)), true));
        configs.add(new Config("decoder 3x3, Winograd off", configs.get(2).model(), false));
        configs.add(new Config("encoder space-to-depth 3x3", ConvTransposeRewrite.rewrite(WinogradRewrite.rewrite(stats, convs)), true));
        configs.add(new Config("both 3x3", WinogradRewrite.rewrite(stats, convs.or(deconvs)), true));
        configs.add(new Config("both 3x3, Winograd off", configs.get(5).model(), false));
        configs.add(new Config("encoder pad + space-to-depth 2x2", ConvTransposeRewrite.rewrite(WinogradRewrite.spaceToDepth2x2(stats, convs)), true));
        Map<String, int[]> deconvShapes = OpenCvShapes.atInput(1, C, H, W).inputShapes(stats.proto(), deconvs);
        Map<String, int[]> convShapes = OpenCvShapes.atInput(1, C, H, W).inputShapes(stats.proto(), convs);
        configs.add(new Config("encoder pad + Transposes 2x2, sub-pixel Transposes",
                ConvTransposeRewrite.rewrite(WinogradRewrite.spaceToDepth2x2(stats, convs, convShapes), deconvShapes), true));
        for (long[] range : new long[][] {{16, 16}, {16, 16 * 16}, {64, 16 * 16}, {0, 16 * 16}}) {
            configs.add(new Config("per-phase convs at " + range[0] + " to " + range[1] + " input positions",
                    ConvTransposeRewrite.rewrite(stats, deconvShapes, range[0], range[1]), true));
        }
        if (args.length > 3) configs.removeIf(c -> !c.name().matches(args[3]) && !c.name().startsWith("sub-pixel"));

        float[] x = GeneratorBenchmark.randomBlob(n, 42);
        Mat blob = new Mat(new int[] {n, C, H, W}, CV_32F);
        new FloatPointer(blob.data()).put(x);
        List<Net> nets = new ArrayList<>();
        List<float[]> outputs = new ArrayList<>();
        for (Config c : configs) {
            Net net = OpenCvNets.read(c.model());
            net.setPreferableBackend(DNN_BACKEND_OPENCV);
            net.setPreferableTarget(DNN_TARGET_CPU);
            net.enableWinograd(c.winograd());
            nets.add(net);
            outputs.add(forward(net, blob));
        }
        System.out.printf(Locale.ROOT, "# unet_256 %s N=%d rounds=%d, OpenCV threads %d, load average %s%n", mode.cliName(), n, rounds,
                opencv_core.getNumThreads(), InterleavedCpuComparison.loadAverage());
        double[][] ms = new double[configs.size()][rounds];
        List<Map<String, Double>> perNode = new ArrayList<>();
        for (int i = 0; i < configs.size(); i++) perNode.add(new TreeMap<>());
        List<Map<String, Double>> perLayer = new ArrayList<>();
        for (int i = 0; i < configs.size(); i++) perLayer.add(new TreeMap<>());
        double tick = opencv_core.getTickFrequency() / 1e3;
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < configs.size(); i++) {
                Net net = nets.get(i);
                long t0 = System.nanoTime();
                forward(net, blob);
                ms[i][r] = (System.nanoTime() - t0) / 1e6;
                try (DoublePointer timings = new DoublePointer(); StringVector names = net.getLayerNames()) {
                    net.getPerfProfile(timings);
                    for (int l = 0; l < Math.min(names.size(), timings.limit()); l++) {
                        String node = node(OpenCvLayerProfile.text(names.get(l).getString()));
                        perNode.get(i).merge(node, timings.get(l) / tick / rounds, Double::sum);
                        String layer = OpenCvLayerProfile.text(names.get(l).getString()).replace("onnx_node!", "");
                        perLayer.get(i).merge(layer, timings.get(l) / tick / rounds, Double::sum);
                    }
                }
            }
        }
        System.out.println("| network | median ms | min..max ms | time / first (median, same round) | rel. L2 to first |");
        System.out.println("|---|---|---|---|---|");
        for (int i = 0; i < configs.size(); i++) {
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) ratio[r] = ms[i][r] / ms[0][r];
            System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f..%.1f | %.3f | %.2e |%n", configs.get(i).name(), InterleavedCpuComparison.median(ms[i]),
                    java.util.Arrays.stream(ms[i]).min().orElse(0), java.util.Arrays.stream(ms[i]).max().orElse(0),
                    InterleavedCpuComparison.median(ratio), relL2(outputs.get(i), outputs.get(0)));
        }
        System.out.println("\nPer convolution node, ms per forward (profile):");
        StringBuilder head = new StringBuilder("| node |");
        for (Config c : configs) head.append(' ').append(c.name()).append(" |");
        System.out.println(head);
        Map<String, Double> first = perNode.get(0);
        for (String node : first.keySet()) {
            if (!node.startsWith("conv_") && !node.startsWith("deconv_")) continue;
            StringBuilder row = new StringBuilder("| ").append(node).append(" |");
            for (Map<String, Double> m : perNode) row.append(String.format(Locale.ROOT, " %.2f |", m.getOrDefault(node, 0.0)));
            System.out.println(row);
        }
        System.out.println("\nSelected layers (ms per forward):");
        for (int i = 0; i < configs.size(); i++) {
            for (var e : perLayer.get(i).entrySet()) {
                if (e.getKey().matches(args.length > 4 ? args[4] : "(conv_4|conv_12|deconv_118)/.*")) System.out.printf(Locale.ROOT, "  %s: %s %.2f%n", configs.get(i).name(), e.getKey(), e.getValue());
            }
        }
        StringBuilder total = new StringBuilder("| all layers |");
        for (Map<String, Double> m : perNode) total.append(String.format(Locale.ROOT, " %.1f |", m.values().stream().mapToDouble(d -> d).sum()));
        System.out.println(total);
        System.out.printf("# load average after: %s%n", InterleavedCpuComparison.loadAverage());
        for (Net net : nets) net.close();
        blob.close();
    }

    /** The ONNX node a layer came from: the layer name without OpenCV's prefix, up to the rewrite's first '/'. */
    static String node(String layer) {
        String s = layer.startsWith("onnx_node!") ? layer.substring("onnx_node!".length()) : layer;
        int slash = s.indexOf('/');
        return slash > 0 ? s.substring(0, slash) : s;
    }

    static float[] forward(Net net, Mat blob) {
        net.setInput(blob);
        try (Mat out = net.forward(); FloatIndexer idx = out.createIndexer()) {
            float[] v = new float[(int) out.total()];
            idx.get(0, v);
            return v;
        }
    }

    static double relL2(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            num += d * d;
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }
}
