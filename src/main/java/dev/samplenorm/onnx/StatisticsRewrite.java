package dev.samplenorm.onnx;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.onnx.proto.Onnx.AttributeProto;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The model rewrite behind each {@link StatisticsMode}: a pure function from one ONNX model to
 * another, which OpenCV DNN then imports.
 *
 * <ul>
 *   <li>Every mode removes Dropout nodes (identity at inference; their consumers read the
 *       Dropout's input) and turns every BatchNormalization node into its inference form: one
 *       output, no {@code training_mode}. Running-statistics outputs go, also from the graph
 *       outputs; nodes and initializers nothing reads any more go too.
 *   <li>{@link StatisticsMode#RUNNING} and {@link StatisticsMode#INPUT} stop there: OpenCV runs
 *       BatchNorm with the stored statistics.
 *   <li>{@link StatisticsMode#SAMPLE} replaces each BatchNormalization(X, scale, B, mean, var) with
 *       InstanceNormalization(X, scale, B): statistics per image and channel over (H, W).
 *   <li>{@link StatisticsMode#BATCH} replaces it with Transpose(1,0,2,3) → Reshape(1, C, -1) →
 *       InstanceNormalization → Reshape(C, -1, H, W) → Transpose(1,0,2,3): statistics per channel
 *       over (N, H, W). H and W are constants from {@link BatchNormInputShapes}; the batch extent
 *       stays -1, so one rewritten model serves every batch size.
 * </ul>
 *
 * <p>In the inference form a BatchNorm right after a ConvTranspose is folded into the ConvTranspose's
 * weights and bias here, in double precision. OpenCV 4.13 would fuse it itself, but re-applies that
 * fusion each time the network is set up again, which happens at every change of batch size, so
 * the output is wrong from the second batch size on. Where the weights are not constants the two
 * nodes are kept apart by a no-op Reshape instead.
 *
 * These patterns use only layers that OpenCV runs on its CPU and CUDA backends; in particular no
 * ReduceMean (wrong for some batch sizes in OpenCV 4.x) and no Sub/Div/Sqrt chains (which OpenCV's
 * graph simplifier rewrites).
 */
public final class StatisticsRewrite {

    /** Oldest default-domain opset accepted: BatchNormalization-7 and Reshape with a shape input. */
    public static final long MIN_OPSET = 7;

    private static final float DEFAULT_EPSILON = 1e-5f;

    private StatisticsRewrite() {}

    /**
     * Rewrites {@code model} for {@code mode}.
     *
     * @param shapes where BatchNorm input shapes come from; needed by {@link StatisticsMode#SAMPLE}
     *     (to check that every BatchNorm input is 4-D) and {@link StatisticsMode#BATCH} (for H and W)
     *     when the model has BatchNorm nodes, ignored (may be null) otherwise
     * @throws SampleNormException ({@code MODEL}) when the model cannot be rewritten: a Dropout mask
     *     or running statistics read by another node, BatchNorm on a tensor that is not 4-D, a shape
     *     that cannot be found, an opset older than {@link #MIN_OPSET}
     */
    public static OnnxModel rewrite(OnnxModel model, StatisticsMode mode, BatchNormInputShapes shapes) {
        return OnnxModel.of(edit(model, mode, shapes, false).build());
    }

    /**
     * One Dropout node turned into {@code Mul(x, mask)} by {@link #rewriteWithDropoutMasks}.
     *
     * @param input the name of the graph input that carries the mask
     * @param shape the mask's NCHW shape at batch size 1 (the shape of the Dropout's input there)
     * @param ratio the Dropout's drop probability p; a mask holds 0 or {@code 1 / (1 - p)}
     */
    public record DropoutMask(String input, int[] shape, float ratio) {
        public DropoutMask {
            Objects.requireNonNull(input, "input");
            shape = shape.clone();
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }

        @Override
        public String toString() {
            return "DropoutMask{" + input + " " + Arrays.toString(shape) + " p=" + ratio + "}";
        }
    }

    /** A model rewritten with test-time dropout: its masks are extra graph inputs, in Dropout node order. */
    public record WithDropoutMasks(OnnxModel model, List<DropoutMask> masks) {
        public WithDropoutMasks {
            Objects.requireNonNull(model, "model");
            masks = List.copyOf(masks);
        }
    }

    /**
     * Rewrites {@code model} for {@code mode} as {@link #rewrite} does, but keeps dropout: each
     * Dropout(x) becomes {@code Mul(x, mask)}, where {@code mask} is a new graph input (after the
     * data input) that the caller feeds with a fresh mask of 0 and {@code 1 / (1 - p)} values per
     * forward pass. The mask shapes are those of the Dropout inputs at the shape {@code shapes}
     * probes, which also supplies the BatchNorm shapes.
     *
     * @throws SampleNormException ({@code MODEL}) as {@link #rewrite}, and when a Dropout's ratio is
     *     not a constant in [0, 1) or its input shape cannot be found
     */
    public static WithDropoutMasks rewriteWithDropoutMasks(OnnxModel model, StatisticsMode mode, OpenCvShapes shapes) {
        Objects.requireNonNull(shapes, "shapes");
        Editor e = edit(model, mode, shapes, true);
        if (e.dropoutSites.isEmpty()) return new WithDropoutMasks(OnnxModel.of(e.build()), List.of());
        Set<String> probes = new HashSet<>();
        for (DropoutSite d : e.dropoutSites) probes.add(d.probeNode);
        Map<String, int[]> found = shapes.inputShapes(e.build(), n -> probes.contains(n.getName()));
        List<DropoutMask> masks = e.dropoutToMul(found);
        e.removeUnused();
        return new WithDropoutMasks(OnnxModel.of(e.build()), masks);
    }

    private static Editor edit(OnnxModel model, StatisticsMode mode, BatchNormInputShapes shapes, boolean keepDropout) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(mode, "mode");
        checkOpset(model.proto());
        Editor e = new Editor(model.proto());
        if (keepDropout) e.dropoutToProbes();
        else e.removeDropout();
        e.batchNormToInferenceForm();
        e.removeUnused();
        if (!mode.usesBatchStatisticsInside() || e.batchNormNodes().isEmpty()) {
            e.keepBatchNormOutOfDeconvolution();
            e.removeUnused();
            return e;
        }
        Objects.requireNonNull(shapes, "shapes: the " + mode.cliName() + " pattern needs the BatchNorm input shapes");
        Map<String, int[]> found = shapes.of(e.build());
        e.replaceBatchNorm(mode, found);
        e.removeUnused();
        return e;
    }

    /** Where a Dropout node was: a no-op Reshape named {@code probeNode} stands in until the shapes are known. */
    private record DropoutSite(String probeNode, String x, String y, float ratio, String name) {}

    /**
     * Only removes the Dropout nodes (and the constants only they read). The smallest edit that lets
     * OpenCV 4.x import a training-mode PyTorch export at all (its importer rejects the BOOL
     * constant of a Dropout's {@code training_mode} input); BatchNorm nodes stay as exported, and
     * OpenCV then silently runs them with the running statistics.
     */
    public static OnnxModel withoutDropout(OnnxModel model) {
        Objects.requireNonNull(model, "model");
        Editor e = new Editor(model.proto());
        e.removeDropout();
        e.removeUnusedConstants();
        return OnnxModel.of(e.build());
    }

    private static void checkOpset(ModelProto model) {
        long opset = Graphs.defaultOpset(model);
        if (opset < MIN_OPSET) {
            throw new SampleNormException(SampleNormException.Code.MODEL, "the model imports "
                    + (opset < 0 ? "no default-domain operator set" : "default-domain opset " + opset)
                    + "; expected opset " + MIN_OPSET + " or newer");
        }
    }

    private static SampleNormException error(String message) {
        return new SampleNormException(SampleNormException.Code.MODEL, message);
    }

    /** A mutable copy of the main graph with the edits the rewrite needs. */
    private static final class Editor {
        private final ModelProto model;
        private final GraphProto.Builder graph;
        private List<NodeProto> nodes;
        private final FreshNames names;

        Editor(ModelProto model) {
            this.model = model;
            this.graph = model.getGraph().toBuilder();
            this.nodes = new ArrayList<>(graph.getNodeList());
            this.names = new FreshNames(model.getGraph());
        }

        ModelProto build() {
            graph.clearNode().addAllNode(nodes);
            return model.toBuilder().setGraph(graph.build()).build();
        }

        List<NodeProto> batchNormNodes() {
            List<NodeProto> out = new ArrayList<>();
            for (NodeProto n : nodes) if (Graphs.is(n, "BatchNormalization")) out.add(n);
            return out;
        }

        private Set<String> graphOutputs() {
            Set<String> s = new HashSet<>();
            for (ValueInfoProto o : graph.getOutputList()) s.add(o.getName());
            return s;
        }

        /** Names read by nodes, including inside subgraphs. */
        private Set<String> reads() {
            Set<String> r = new HashSet<>();
            for (NodeProto n : nodes) Graphs.collectReads(n, r);
            return r;
        }

        /** Every name some node reads, with the first such node (for messages). */
        private Map<String, NodeProto> readers() {
            Map<String, NodeProto> r = new HashMap<>();
            for (NodeProto n : nodes) {
                Set<String> s = new HashSet<>();
                Graphs.collectReads(n, s);
                for (String x : s) r.putIfAbsent(x, n);
            }
            return r;
        }

        private Set<String> subgraphReads() {
            Set<String> r = new HashSet<>();
            for (NodeProto n : nodes) {
                for (AttributeProto a : n.getAttributeList()) {
                    if (a.hasG() || a.getGraphsCount() > 0) {
                        Set<String> all = new HashSet<>();
                        Graphs.collectReads(n, all);
                        all.removeAll(n.getInputList());
                        r.addAll(all);
                    }
                }
            }
            return r;
        }

        final List<DropoutSite> dropoutSites = new ArrayList<>();

        /** Replaces each Dropout by a no-op Reshape(x, [0, 0, 0, 0]) probe node, whose input shape OpenCV reports. */
        void dropoutToProbes() {
            Map<String, TensorProto> init = Graphs.initializersByName(graph.getInitializerList());
            Map<String, NodeProto> producers = Graphs.producers(nodes);
            Map<String, NodeProto> readers = readers();
            Set<String> outputs = graphOutputs();
            List<NodeProto> out = new ArrayList<>(nodes.size());
            for (NodeProto n : nodes) {
                if (!Graphs.is(n, "Dropout")) {
                    out.add(n);
                    continue;
                }
                if (n.getInputCount() == 0 || n.getOutputCount() == 0 || n.getOutput(0).isEmpty()) {
                    throw error("Dropout node " + Graphs.describe(n) + " has no input or no output");
                }
                for (int k = 1; k < n.getOutputCount(); k++) {
                    String mask = n.getOutput(k);
                    if (!mask.isEmpty() && (readers.containsKey(mask) || outputs.contains(mask))) {
                        throw error("Dropout node " + Graphs.describe(n) + ": its mask output '" + mask + "' is read; expected only its"
                                + " first output to be used");
                    }
                }
                float ratio = Graphs.floatAttribute(n, "ratio", 0.5f);
                if (n.getInputCount() > 1 && !n.getInput(1).isEmpty()) {
                    float[] v = Tensors.floats(Tensors.constant(n.getInput(1), init, producers));
                    if (v == null || v.length != 1) {
                        throw error("Dropout node " + Graphs.describe(n) + ": its ratio '" + n.getInput(1) + "' is not a constant float"
                                + " scalar; test-time dropout needs a constant drop probability");
                    }
                    ratio = v[0];
                }
                if (!(ratio >= 0f && ratio < 1f)) {
                    throw error("Dropout node " + Graphs.describe(n) + " has ratio " + ratio + "; expected a drop probability in [0, 1)");
                }
                String x = n.getInput(0), y = n.getOutput(0);
                String probe = names.node(y + "/dropout_probe");
                String shape = names.tensor(y + "/dropout_probe_shape");
                graph.addInitializer(Tensors.int64(shape, new long[4]));
                out.add(reshape(probe, x, shape, y));
                dropoutSites.add(new DropoutSite(probe, x, y, ratio, n.getName().isEmpty() ? y : n.getName()));
            }
            nodes = out;
        }

        /** Turns each probe into Mul(x, mask) with a new graph input for the mask. */
        List<DropoutMask> dropoutToMul(Map<String, int[]> shapes) {
            Map<String, DropoutSite> byProbe = new HashMap<>();
            for (DropoutSite d : dropoutSites) byProbe.put(d.probeNode, d);
            List<DropoutMask> masks = new ArrayList<>();
            List<NodeProto> out = new ArrayList<>(nodes.size());
            for (NodeProto n : nodes) {
                DropoutSite d = byProbe.get(n.getName());
                if (d == null || !Graphs.is(n, "Reshape")) {
                    out.add(n);
                    continue;
                }
                int[] shape = shapes.get(d.y);
                if (shape == null || shape.length != 4) {
                    throw error("the shape of the input of Dropout node '" + d.name + "' is "
                            + (shape == null ? "unknown" : Arrays.toString(shape)) + "; test-time dropout expects 4-D NCHW tensors");
                }
                String mask = names.tensor(d.y + "/dropout_mask");
                ValueInfoProto.Builder vi = ValueInfoProto.newBuilder().setName(mask);
                var tt = vi.getTypeBuilder().getTensorTypeBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE);
                tt.getShapeBuilder().addDimBuilder().setDimParam("N");
                for (int k = 1; k < 4; k++) tt.getShapeBuilder().addDimBuilder().setDimValue(shape[k]);
                graph.addInput(vi.build());
                out.add(NodeProto.newBuilder().setOpType("Mul").setName(names.node(d.name + "/dropout")).addInput(d.x).addInput(mask)
                        .addOutput(d.y).build());
                masks.add(new DropoutMask(mask, shape, d.ratio));
            }
            nodes = out;
            return masks;
        }

        void removeDropout() {
            Set<String> outputs = graphOutputs();
            Set<String> inSubgraphs = subgraphReads();
            Map<String, NodeProto> readers = readers();
            Map<String, String> rename = new HashMap<>();
            List<NodeProto> kept = new ArrayList<>();
            for (NodeProto n : nodes) {
                if (!Graphs.is(n, "Dropout")) {
                    kept.add(n);
                    continue;
                }
                if (n.getInputCount() == 0 || n.getOutputCount() == 0) {
                    throw error("Dropout node " + Graphs.describe(n) + " has no input or no output");
                }
                for (int k = 1; k < n.getOutputCount(); k++) {
                    String mask = n.getOutput(k);
                    if (mask.isEmpty()) continue;
                    if (readers.containsKey(mask) || outputs.contains(mask)) {
                        String who = readers.containsKey(mask) ? "node " + Graphs.describe(readers.get(mask)) : "a graph output";
                        throw error("Dropout node " + Graphs.describe(n) + ": its mask output '" + mask + "' is read by " + who
                                + "; expected only its first output to be used, as Dropout is removed at inference");
                    }
                }
                String y = n.getOutput(0), x = n.getInput(0);
                if (outputs.contains(y) || inSubgraphs.contains(y)) {
                    // The name must survive: keep it as an identity.
                    kept.add(NodeProto.newBuilder().setOpType("Identity").setName(n.getName()).addInput(x).addOutput(y).build());
                } else {
                    rename.put(y, x);
                }
            }
            nodes = kept;
            if (!rename.isEmpty()) renameInputs(rename);
        }

        private void renameInputs(Map<String, String> rename) {
            List<NodeProto> out = new ArrayList<>(nodes.size());
            for (NodeProto n : nodes) {
                NodeProto.Builder b = null;
                for (int i = 0; i < n.getInputCount(); i++) {
                    String to = resolve(rename, n.getInput(i));
                    if (!to.equals(n.getInput(i))) {
                        if (b == null) b = n.toBuilder();
                        b.setInput(i, to);
                    }
                }
                out.add(b == null ? n : b.build());
            }
            nodes = out;
        }

        private static String resolve(Map<String, String> rename, String name) {
            String s = name;
            for (int guard = 0; rename.containsKey(s) && guard <= rename.size(); guard++) s = rename.get(s);
            return s;
        }

        void batchNormToInferenceForm() {
            Map<String, NodeProto> readers = readers();
            Set<String> dropOutputs = new HashSet<>();
            List<NodeProto> out = new ArrayList<>(nodes.size());
            for (NodeProto n : nodes) {
                if (!Graphs.is(n, "BatchNormalization")) {
                    out.add(n);
                    continue;
                }
                if (n.getInputCount() != 5 || n.getOutputCount() < 1 || n.getOutput(0).isEmpty()) {
                    throw error("BatchNormalization node " + Graphs.describe(n) + ": expected inputs (X, scale, B, mean, var) and an"
                            + " output Y, got " + n.getInputCount() + " inputs and " + n.getOutputCount() + " outputs");
                }
                if (Graphs.intAttribute(n, "spatial", 1) == 0) {
                    throw error("BatchNormalization node " + Graphs.describe(n) + " has spatial=0 (statistics per element, not per"
                            + " channel); expected the per-channel BatchNorm of image generators");
                }
                for (int k = 1; k < n.getOutputCount(); k++) {
                    String s = n.getOutput(k);
                    if (s.isEmpty()) continue;
                    if (readers.containsKey(s)) {
                        throw error("BatchNormalization node " + Graphs.describe(n) + ": its statistics output '" + s + "' is read by"
                                + " node " + Graphs.describe(readers.get(s)) + "; expected only its first output Y to be used");
                    }
                    dropOutputs.add(s);
                }
                NodeProto.Builder b = n.toBuilder().clearOutput().addOutput(n.getOutput(0)).clearAttribute();
                for (AttributeProto a : n.getAttributeList()) {
                    if (!a.getName().equals("training_mode")) b.addAttribute(a);
                }
                out.add(b.build());
            }
            nodes = out;
            if (!dropOutputs.isEmpty()) {
                List<ValueInfoProto> kept = new ArrayList<>();
                for (ValueInfoProto o : graph.getOutputList()) if (!dropOutputs.contains(o.getName())) kept.add(o);
                graph.clearOutput().addAllOutput(kept);
            }
        }

        void replaceBatchNorm(StatisticsMode mode, Map<String, int[]> shapes) {
            Map<String, TensorProto> init = Graphs.initializersByName(graph.getInitializerList());
            List<NodeProto> out = new ArrayList<>(nodes.size() + 4 * shapes.size());
            for (NodeProto n : nodes) {
                if (!Graphs.is(n, "BatchNormalization")) {
                    out.add(n);
                    continue;
                }
                String y = n.getOutput(0);
                int[] shape = shapes.get(y);
                if (shape == null) {
                    throw error("the shape of the tensor '" + n.getInput(0) + "' normalized by BatchNormalization node "
                            + Graphs.describe(n) + " is unknown, so it cannot be rewritten for the " + mode.cliName() + " mode");
                }
                if (shape.length != 4) {
                    throw error("BatchNormalization node " + Graphs.describe(n) + " normalizes a " + shape.length + "-D tensor "
                            + Arrays.toString(shape) + "; the " + mode.cliName() + " mode expects 4-D NCHW tensors at every"
                            + " BatchNorm (BatchNorm2d)");
                }
                for (int d : shape) {
                    if (d < 1) {
                        throw error("BatchNormalization node " + Graphs.describe(n) + ": the shape of its input is reported as "
                                + Arrays.toString(shape) + "; expected every extent >= 1");
                    }
                }
                int c = shape[1], h = shape[2], w = shape[3];
                checkChannels(n, init, c);
                float eps = Graphs.floatAttribute(n, "epsilon", DEFAULT_EPSILON);
                if (mode == StatisticsMode.SAMPLE) {
                    // The BatchNorm node goes, so its name is free for the node that replaces it.
                    out.add(instanceNorm(n, n.getInput(0), y, eps, n.getName().isEmpty() ? names.node(y) : n.getName()));
                } else {
                    batchPattern(n, c, h, w, eps, out);
                }
            }
            nodes = out;
        }

        private void checkChannels(NodeProto n, Map<String, TensorProto> init, int c) {
            for (int k = 1; k <= 2; k++) {
                TensorProto t = init.get(n.getInput(k));
                if (t != null && t.getDimsCount() == 1 && t.getDims(0) != c) {
                    throw error("BatchNormalization node " + Graphs.describe(n) + ": its input has " + c + " channels but its "
                            + (k == 1 ? "scale" : "bias") + " '" + t.getName() + "' holds " + t.getDims(0) + " values");
                }
            }
        }

        private NodeProto instanceNorm(NodeProto bn, String x, String y, float eps, String name) {
            return NodeProto.newBuilder()
                    .setOpType("InstanceNormalization")
                    .setName(name)
                    .addInput(x).addInput(bn.getInput(1)).addInput(bn.getInput(2))
                    .addOutput(y)
                    .addAttribute(AttributeProto.newBuilder().setName("epsilon").setType(AttributeProto.AttributeType.FLOAT).setF(eps))
                    .build();
        }

        private void batchPattern(NodeProto bn, int c, int h, int w, float eps, List<NodeProto> out) {
            String y = bn.getOutput(0);
            String base = bn.getName().isEmpty() ? y : bn.getName();
            String toCnhw = names.tensor(y + "/batch_stats/cnhw");
            String flat = names.tensor(y + "/batch_stats/flat");
            String normed = names.tensor(y + "/batch_stats/normalized");
            String back = names.tensor(y + "/batch_stats/cnhw_normalized");
            String flatShape = names.tensor(y + "/batch_stats/flat_shape");
            String planeShape = names.tensor(y + "/batch_stats/plane_shape");
            graph.addInitializer(Tensors.int64(flatShape, 1, c, -1));
            graph.addInitializer(Tensors.int64(planeShape, c, -1, h, w));
            out.add(transpose(names.node(base + "/batch_stats/to_cnhw"), bn.getInput(0), toCnhw));
            out.add(reshape(names.node(base + "/batch_stats/flatten"), toCnhw, flatShape, flat));
            out.add(instanceNorm(bn, flat, normed, eps, names.node(base + "/batch_stats/normalize")));
            out.add(reshape(names.node(base + "/batch_stats/unflatten"), normed, planeShape, back));
            out.add(transpose(names.node(base + "/batch_stats/to_nchw"), back, y));
        }

        private static NodeProto transpose(String name, String x, String y) {
            return NodeProto.newBuilder().setOpType("Transpose").setName(name).addInput(x).addOutput(y)
                    .addAttribute(AttributeProto.newBuilder().setName("perm").setType(AttributeProto.AttributeType.INTS)
                            .addAllInts(List.of(1L, 0L, 2L, 3L)))
                    .build();
        }

        private static NodeProto reshape(String name, String x, String shape, String y) {
            return NodeProto.newBuilder().setOpType("Reshape").setName(name).addInput(x).addInput(shape).addOutput(y).build();
        }

        /** See the class comment: fold BatchNorm into a preceding ConvTranspose, or keep them apart. */
        void keepBatchNormOutOfDeconvolution() {
            Map<String, TensorProto> init = Graphs.initializersByName(graph.getInitializerList());
            Map<String, NodeProto> producers = Graphs.producers(nodes);
            Map<String, Integer> readCount = new HashMap<>();
            for (NodeProto n : nodes) {
                Set<String> r = new HashSet<>();
                Graphs.collectReads(n, r);
                for (String x : r) readCount.merge(x, 1, Integer::sum);
            }
            for (String o : graphOutputs()) readCount.merge(o, 1, Integer::sum);

            Map<NodeProto, NodeProto> foldedDeconv = new HashMap<>();
            Set<NodeProto> foldedBn = new HashSet<>();
            Map<NodeProto, Integer> separated = new HashMap<>();
            for (NodeProto bn : nodes) {
                if (!Graphs.is(bn, "BatchNormalization")) continue;
                NodeProto ct = producers.get(bn.getInput(0));
                if (ct == null || !Graphs.is(ct, "ConvTranspose")) continue;
                NodeProto folded = readCount.getOrDefault(bn.getInput(0), 0) == 1 ? fold(ct, bn, init, producers) : null;
                if (folded != null) {
                    foldedDeconv.put(ct, folded);
                    foldedBn.add(bn);
                } else {
                    TensorProto w = ct.getInputCount() > 1 ? Tensors.constant(ct.getInput(1), init, producers) : null;
                    separated.put(bn, w != null && w.getDimsCount() >= 3 ? w.getDimsCount() : 4);
                }
            }
            if (foldedDeconv.isEmpty() && separated.isEmpty()) return;
            List<NodeProto> out = new ArrayList<>(nodes.size() + separated.size());
            for (NodeProto n : nodes) {
                if (foldedBn.contains(n)) continue;
                NodeProto f = foldedDeconv.get(n);
                if (f != null) {
                    out.add(f);
                } else if (separated.containsKey(n)) {
                    String x = n.getInput(0);
                    String y = names.tensor(x + "/unfused");
                    String shape = names.tensor(x + "/unfused_shape");
                    graph.addInitializer(Tensors.int64(shape, new long[separated.get(n)]));
                    out.add(reshape(names.node(x + "/keep_unfused"), x, shape, y));
                    out.add(n.toBuilder().setInput(0, y).build());
                } else {
                    out.add(n);
                }
            }
            nodes = out;
        }

        /** ConvTranspose(X, W, b) then BatchNorm as one ConvTranspose(X, W * s, (b - mean) * s + beta), s = scale / sqrt(var + eps). */
        private NodeProto fold(NodeProto ct, NodeProto bn, Map<String, TensorProto> init, Map<String, NodeProto> producers) {
            if (ct.getInputCount() < 2) return null;
            TensorProto wt = Tensors.constant(ct.getInput(1), init, producers);
            boolean hasBias = ct.getInputCount() > 2 && !ct.getInput(2).isEmpty();
            TensorProto bt = hasBias ? Tensors.constant(ct.getInput(2), init, producers) : null;
            float[] w = Tensors.floats(wt);
            float[] b = hasBias ? Tensors.floats(bt) : null;
            float[][] p = new float[4][];
            for (int k = 0; k < 4; k++) p[k] = Tensors.floats(Tensors.constant(bn.getInput(k + 1), init, producers));
            if (w == null || (hasBias && b == null) || p[0] == null || p[1] == null || p[2] == null || p[3] == null) return null;
            if (wt.getDimsCount() < 3) return null;
            long group = Graphs.intAttribute(ct, "group", 1);
            long cin = wt.getDims(0), perGroup = wt.getDims(1);
            long cout = perGroup * group;
            if (group < 1 || cin % group != 0 || w.length == 0) return null;
            int inner = (int) (w.length / (cin * perGroup));
            if (b != null && b.length != cout) return null;
            for (float[] v : p) if (v.length != cout) return null;
            double eps = Graphs.floatAttribute(bn, "epsilon", DEFAULT_EPSILON);
            double[] scale = new double[(int) cout];
            for (int o = 0; o < cout; o++) scale[o] = p[0][o] / Math.sqrt((double) p[3][o] + eps);
            float[] w2 = new float[w.length];
            long inPerGroup = cin / group;
            for (int ci = 0; ci < cin; ci++) {
                long g = ci / inPerGroup;
                for (int j = 0; j < perGroup; j++) {
                    double s = scale[(int) (g * perGroup + j)];
                    int base = (int) ((ci * perGroup + j) * inner);
                    for (int k = 0; k < inner; k++) w2[base + k] = (float) (w[base + k] * s);
                }
            }
            float[] b2 = new float[(int) cout];
            for (int o = 0; o < cout; o++) b2[o] = (float) (((b == null ? 0 : b[o]) - (double) p[2][o]) * scale[o] + p[1][o]);
            String wName = names.tensor(ct.getInput(1) + "/with_batchnorm");
            String bName = names.tensor((hasBias ? ct.getInput(2) : ct.getOutput(0) + "/bias") + "/with_batchnorm");
            graph.addInitializer(Tensors.floatTensor(wName, wt.getDimsList(), w2));
            graph.addInitializer(Tensors.floatTensor(bName, List.of(cout), b2));
            NodeProto.Builder nb = ct.toBuilder().clearInput().addInput(ct.getInput(0)).addInput(wName).addInput(bName)
                    .clearOutput().addOutput(bn.getOutput(0));
            return nb.build();
        }

        /** Drops nodes whose outputs nothing reads, then initializers and declared values that are gone. */
        void removeUnused() {
            Set<String> outputs = graphOutputs();
            boolean changed = true;
            while (changed) {
                changed = false;
                Set<String> reads = reads();
                reads.addAll(outputs);
                List<NodeProto> kept = new ArrayList<>(nodes.size());
                for (NodeProto n : nodes) {
                    boolean used = false;
                    for (String o : n.getOutputList()) {
                        if (!o.isEmpty() && reads.contains(o)) {
                            used = true;
                            break;
                        }
                    }
                    if (used) kept.add(n);
                    else changed = true;
                }
                nodes = kept;
            }
            removeUnusedInitializers();
        }

        /** Drops only Constant nodes and initializers that nothing reads. */
        void removeUnusedConstants() {
            Set<String> reads = reads();
            reads.addAll(graphOutputs());
            List<NodeProto> kept = new ArrayList<>(nodes.size());
            for (NodeProto n : nodes) {
                if (Graphs.is(n, "Constant") && n.getOutputCount() == 1 && !reads.contains(n.getOutput(0))) continue;
                kept.add(n);
            }
            nodes = kept;
            removeUnusedInitializers();
        }

        private void removeUnusedInitializers() {
            Set<String> reads = reads();
            reads.addAll(graphOutputs());
            List<TensorProto> init = new ArrayList<>();
            Set<String> removed = new HashSet<>();
            for (TensorProto t : graph.getInitializerList()) {
                if (reads.contains(t.getName())) init.add(t);
                else removed.add(t.getName());
            }
            if (!removed.isEmpty()) {
                graph.clearInitializer().addAllInitializer(init);
                List<ValueInfoProto> inputs = new ArrayList<>();
                for (ValueInfoProto v : graph.getInputList()) if (!removed.contains(v.getName())) inputs.add(v);
                graph.clearInput().addAllInput(inputs);
            }
            // Declared shapes of values that no longer exist would only mislead.
            Set<String> exists = new HashSet<>();
            for (NodeProto n : nodes) exists.addAll(n.getOutputList());
            List<ValueInfoProto> info = new ArrayList<>();
            for (ValueInfoProto v : graph.getValueInfoList()) if (exists.contains(v.getName())) info.add(v);
            if (info.size() != graph.getValueInfoCount()) graph.clearValueInfo().addAllValueInfo(info);
        }
    }
}
