package dev.samplenorm.onnx;

import dev.samplenorm.onnx.proto.Onnx.AttributeProto;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Rewrites the 4x4, stride-2, pad-1 convolutions of Pix2Pix-style generators into 3x3, stride-1,
 * pad-1 convolutions, the shape for which OpenCV DNN's CPU backend has a Winograd F(6x6, 3x3) path:
 *
 * <ul>
 *   <li>{@code Conv(k 4, s 2, p 1)} on C channels becomes {@code SpaceToDepth(2)} and a 3x3 Conv on
 *       4C channels: along each axis, input position {@code 2q - 1 + t} (tap t) is phase
 *       {@code (t - 1) mod 2} of the space-to-depth cell {@code q + floor((t - 1) / 2)}, i.e. cell
 *       offset -1, 0, 0, +1 for t = 0..3; the other 20 of the 36 (offset, phase) pairs per input
 *       channel get zero weights;
 *   <li>{@code ConvTranspose(k 4, s 2, p 1, output_padding 0)} becomes a 3x3 Conv with 4 C_out
 *       outputs and {@code DepthToSpace(2, DCR)}: output {@code 2q + r} takes input {@code q + d}
 *       through tap {@code t = r + 1 - 2d}, so phase 0 reads offsets -1 and 0 and phase 1 offsets 0
 *       and +1 of one 3x3 window; no crop is needed.
 * </ul>
 *
 * The new weights are the old ones rearranged (plus zeros), so results differ from the original
 * only by float rounding. Which nodes are rewritten is the caller's choice ({@code which}); nodes out
 * of scope are left as they are and reported.
 *
 * <p>An experiment, not part of the library: measured slower than the sub-pixel form on OpenCV DNN's
 * CPU backend ({@code benchmarks.WinogradForms}, {@code benchmarks/RESULTS.md}), so it lives with the
 * benchmarks (in this package for the rewrite helpers).
 */
public final class WinogradRewrite {

    private WinogradRewrite() {}

    /** What the rewrite did: the nodes rewritten, and those selected but left, with the reason. */
    public record Report(int rewritten, List<String> skipped) {
        public Report {
            skipped = List.copyOf(skipped);
        }
    }

    /** {@code model} with every selected, rewritable node in its 3x3 form; the same object when there is none. */
    public static OnnxModel rewrite(OnnxModel model, Predicate<NodeProto> which) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(which, "which");
        Editor e = new Editor(model.proto(), which);
        if (e.rewritten == 0) return model;
        return OnnxModel.of(e.build());
    }

    /**
     * {@code model} with every selected Conv(k 4, s 2, p 1) as Pad(1), SpaceToDepth(2) and a 2x2, stride-1,
     * unpadded Conv on 4C channels (the same multiply-adds, at stride 1); ConvTranspose nodes are left alone.
     */
    public static OnnxModel spaceToDepth2x2(OnnxModel model, Predicate<NodeProto> which) {
        return spaceToDepth2x2(model, which, Map.of());
    }

    /**
     * As {@link #spaceToDepth2x2(OnnxModel, Predicate)}; where {@code inputShapes} has a Conv's input
     * shape (keyed by its output), the SpaceToDepth is two 4-D Transposes between Reshapes instead.
     */
    public static OnnxModel spaceToDepth2x2(OnnxModel model, Predicate<NodeProto> which, Map<String, int[]> inputShapes) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(which, "which");
        Editor e = new Editor(model.proto(), n -> Graphs.is(n, "Conv") && which.test(n), true, inputShapes);
        if (e.rewritten == 0) return model;
        return OnnxModel.of(e.build());
    }

    /** What {@link #rewrite} would do, without building anything. */
    public static Report report(OnnxModel model, Predicate<NodeProto> which) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(which, "which");
        Editor e = new Editor(model.proto(), which);
        return new Report(e.rewritten, e.skipped);
    }

    private static final class Editor {
        private final ModelProto model;
        private final GraphProto.Builder graph;
        private final List<NodeProto> nodes = new ArrayList<>();
        private final FreshNames names;
        private final long opset;
        int rewritten;
        final List<String> skipped = new ArrayList<>();

        private final boolean twoByTwo;
        private final Map<String, int[]> inputShapes;

        Editor(ModelProto model, Predicate<NodeProto> which) {
            this(model, which, false, Map.of());
        }

        Editor(ModelProto model, Predicate<NodeProto> which, boolean twoByTwo, Map<String, int[]> inputShapes) {
            this.twoByTwo = twoByTwo;
            this.inputShapes = inputShapes;
            this.model = model;
            this.graph = model.getGraph().toBuilder();
            this.opset = Graphs.defaultOpset(model);
            GraphProto g = model.getGraph();
            this.names = new FreshNames(g);
            Map<String, TensorProto> init = Graphs.initializersByName(g.getInitializerList());
            Map<String, NodeProto> producers = Graphs.producers(g.getNodeList());
            for (NodeProto n : g.getNodeList()) {
                boolean conv = Graphs.is(n, "Conv"), deconv = Graphs.is(n, "ConvTranspose");
                if (!(conv || deconv) || !which.test(n)) {
                    nodes.add(n);
                    continue;
                }
                StringBuilder why = new StringBuilder();
                if (conv && twoByTwo ? paddedSpaceToDepthForm(n, init, producers, why)
                        : conv ? spaceToDepthForm(n, init, producers, why) : depthToSpaceForm(n, init, producers, why)) {
                    rewritten++;
                } else {
                    skipped.add(Graphs.describe(n) + ": " + why);
                    nodes.add(n);
                }
            }
        }

        ModelProto build() {
            return Graphs.withNodes(model, graph, nodes);
        }

        /** The weights (and bias) of a node in scope: k 4, stride 2, pads 1, dilations 1, group 1, explicit pads. */
        private Weights weights(NodeProto n, Map<String, TensorProto> init, Map<String, NodeProto> producers, StringBuilder why) {
            ConstantWeights cw = ConstantWeights.of(n, Graphs.is(n, "Conv") ? 0 : 1, init, producers, why);
            if (cw == null) return null;
            if (cw.dims()[2] != 4 || cw.dims()[3] != 4) {
                why.append("not a 4x4 kernel");
                return null;
            }
            if (!is(n, "strides", 2, 2) || !is(n, "pads", 4, 1) || !(is(n, "dilations", 2, 1) || Graphs.attribute(n, "dilations").isEmpty())
                    || !(is(n, "kernel_shape", 2, 4) || Graphs.attribute(n, "kernel_shape").isEmpty())
                    || !(is(n, "output_padding", 2, 0) || Graphs.attribute(n, "output_padding").isEmpty())) {
                why.append("not kernel 4, strides 2, pads 1, dilations 1 and no output_padding");
                return null;
            }
            return new Weights(cw.w(), (int) cw.dims()[0], (int) cw.dims()[1], cw.bias());
        }

        private record Weights(float[] w, int d0, int d1, float[] bias) {}

        /** Conv(k 4, s 2, p 1) as SpaceToDepth(2) and a 3x3 Conv. */
        private boolean spaceToDepthForm(NodeProto n, Map<String, TensorProto> init, Map<String, NodeProto> producers, StringBuilder why) {
            Weights ws = weights(n, init, producers, why);
            if (ws == null) return false;
            int cout = ws.d0(), cin = ws.d1(), cin4 = 4 * cin;
            float[] w = ws.w(), w2 = new float[cout * cin4 * 9];
            // tap t -> cell offset floor((t - 1) / 2) + 1 (the 3x3 index) and phase (t - 1) mod 2.
            for (int co = 0; co < cout; co++) for (int ci = 0; ci < cin; ci++) for (int ty = 0; ty < 4; ty++) for (int tx = 0; tx < 4; tx++) {
                int jy = Math.floorDiv(ty - 1, 2) + 1, ay = Math.floorMod(ty - 1, 2);
                int jx = Math.floorDiv(tx - 1, 2) + 1, ax = Math.floorMod(tx - 1, 2);
                int c2 = (ay * 2 + ax) * cin + ci; // SpaceToDepth: channel (a_y * 2 + a_x) * C + c
                w2[((co * cin4 + c2) * 3 + jy) * 3 + jx] = w[((co * cin + ci) * 4 + ty) * 4 + tx];
            }
            String base = n.getName().isEmpty() ? n.getOutput(0) : n.getName();
            String s2d = names.tensor(n.getOutput(0) + "/winograd/space_to_depth");
            nodes.add(NodeProto.newBuilder().setOpType("SpaceToDepth").setName(names.node(base + "/winograd/space_to_depth"))
                    .addInput(n.getInput(0)).addOutput(s2d)
                    .addAttribute(AttributeProto.newBuilder().setName("blocksize").setType(AttributeProto.AttributeType.INT).setI(2)).build());
            nodes.add(conv3x3(n, base, s2d, n.getOutput(0), w2, List.of((long) cout, (long) cin4, 3L, 3L), ws.bias()));
            return true;
        }

        /** Conv(k 4, s 2, p 1) as Pad(1), SpaceToDepth(2) and a 2x2 stride-1 Conv without pads. */
        private boolean paddedSpaceToDepthForm(NodeProto n, Map<String, TensorProto> init, Map<String, NodeProto> producers, StringBuilder why) {
            Weights ws = weights(n, init, producers, why);
            if (ws == null) return false;
            if (opset < 11) {
                why.append("opset ").append(opset).append(" (Pad with a pads input needs 11)");
                return false;
            }
            int cout = ws.d0(), cin = ws.d1(), cin4 = 4 * cin;
            int[] shape = inputShapes.get(n.getOutput(0));
            boolean permutes = shape != null && shape.length == 4 && shape[1] == cin && shape[2] % 2 == 0 && shape[3] % 2 == 0;
            float[] w = ws.w(), w2 = new float[cout * cin4 * 4];
            for (int co = 0; co < cout; co++) for (int ci = 0; ci < cin; ci++) for (int ty = 0; ty < 4; ty++) for (int tx = 0; tx < 4; tx++) {
                // SpaceToDepth: channel (a_y*2 + a_x)*C + c; the Transposes: c*4 + a_y*2 + a_x.
                int c2 = permutes ? ci * 4 + (ty % 2) * 2 + tx % 2 : ((ty % 2) * 2 + tx % 2) * cin + ci;
                w2[((co * cin4 + c2) * 2 + ty / 2) * 2 + tx / 2] = w[((co * cin + ci) * 4 + ty) * 4 + tx];
            }
            String base = n.getName().isEmpty() ? n.getOutput(0) : n.getName();
            String padded = names.tensor(n.getOutput(0) + "/s2d/padded"), pads = names.tensor(n.getOutput(0) + "/s2d/pads");
            graph.addInitializer(Tensors.int64(pads, 0, 0, 1, 1, 0, 0, 1, 1));
            nodes.add(NodeProto.newBuilder().setOpType("Pad").setName(names.node(base + "/s2d/pad")).addInput(n.getInput(0)).addInput(pads)
                    .addOutput(padded).build());
            String s2d = names.tensor(n.getOutput(0) + "/s2d/space_to_depth");
            if (permutes) {
                // [N, C, 2P, 2Q] -> [(N C P), a_y, Q, a_x] -> (0,1,3,2) -> [(N C), P, (a_y a_x), Q] -> (0,2,1,3) -> [N, 4C, P, Q]
                long p = (shape[2] + 2) / 2, q = (shape[3] + 2) / 2;
                String a = reshape(base, padded, "cells", -1, 2, q, 2);
                String at = transpose(base, a, "cells_t", 0, 1, 3, 2);
                String b = reshape(base, at, "rows", -1, p, 4, q);
                String bt = transpose(base, b, "rows_t", 0, 2, 1, 3);
                String shapeName = names.tensor(n.getOutput(0) + "/s2d/out_shape");
                graph.addInitializer(Tensors.int64(shapeName, -1, cin4, p, q));
                nodes.add(NodeProto.newBuilder().setOpType("Reshape").setName(names.node(base + "/s2d/out")).addInput(bt).addInput(shapeName)
                        .addOutput(s2d).build());
            } else {
                nodes.add(NodeProto.newBuilder().setOpType("SpaceToDepth").setName(names.node(base + "/s2d/space_to_depth"))
                        .addInput(padded).addOutput(s2d)
                        .addAttribute(AttributeProto.newBuilder().setName("blocksize").setType(AttributeProto.AttributeType.INT).setI(2)).build());
            }
            String wName = names.tensor(n.getInput(1) + "/s2d");
            graph.addInitializer(Tensors.floatTensor(wName, List.of((long) cout, (long) cin4, 2L, 2L), w2));
            NodeProto.Builder conv = NodeProto.newBuilder().setOpType("Conv").setName(names.node(base + "/s2d/conv"))
                    .addInput(s2d).addInput(wName).addOutput(n.getOutput(0))
                    .addAttribute(ints("kernel_shape", 2, 2)).addAttribute(ints("strides", 1, 1)).addAttribute(ints("dilations", 1, 1))
                    .addAttribute(ints("pads", 0, 0, 0, 0))
                    .addAttribute(AttributeProto.newBuilder().setName("group").setType(AttributeProto.AttributeType.INT).setI(1));
            if (ws.bias() != null) conv.addInput(n.getInput(2));
            nodes.add(conv.build());
            return true;
        }

        private String reshape(String base, String x, String what, long... dims) {
            String shapeName = names.tensor(x + "/" + what + "_shape"), out = names.tensor(base + "/s2d/" + what);
            graph.addInitializer(Tensors.int64(shapeName, dims));
            nodes.add(NodeProto.newBuilder().setOpType("Reshape").setName(names.node(base + "/s2d/" + what)).addInput(x).addInput(shapeName)
                    .addOutput(out).build());
            return out;
        }

        private String transpose(String base, String x, String what, long... perm) {
            String out = names.tensor(base + "/s2d/" + what);
            nodes.add(NodeProto.newBuilder().setOpType("Transpose").setName(names.node(base + "/s2d/" + what)).addInput(x).addOutput(out)
                    .addAttribute(ints("perm", perm)).build());
            return out;
        }

        /** ConvTranspose(k 4, s 2, p 1) as a 3x3 Conv with 4 C_out outputs and DepthToSpace(2). */
        private boolean depthToSpaceForm(NodeProto n, Map<String, TensorProto> init, Map<String, NodeProto> producers, StringBuilder why) {
            Weights ws = weights(n, init, producers, why);
            if (ws == null) return false;
            int cin = ws.d0(), cout = ws.d1(), cout4 = 4 * cout;
            float[] w = ws.w(), w2 = new float[cout4 * cin * 9];
            // output 2q + r reads input q + d (3x3 index d + 1) through tap t = r + 1 - 2d.
            for (int ry = 0; ry < 2; ry++) for (int rx = 0; rx < 2; rx++) for (int co = 0; co < cout; co++) {
                int o = (ry * 2 + rx) * cout + co; // DepthToSpace DCR: channel (r_y * 2 + r_x) * C_out + c
                for (int ci = 0; ci < cin; ci++) for (int jy = 0; jy < 3; jy++) for (int jx = 0; jx < 3; jx++) {
                    int ty = ry + 1 - 2 * (jy - 1), tx = rx + 1 - 2 * (jx - 1);
                    if (ty < 0 || ty > 3 || tx < 0 || tx > 3) continue;
                    w2[((o * cin + ci) * 3 + jy) * 3 + jx] = w[((ci * cout + co) * 4 + ty) * 4 + tx];
                }
            }
            float[] b2 = null;
            if (ws.bias() != null) {
                b2 = new float[cout4];
                for (int p = 0; p < 4; p++) System.arraycopy(ws.bias(), 0, b2, p * cout, cout);
            }
            String base = n.getName().isEmpty() ? n.getOutput(0) : n.getName();
            String phases = names.tensor(n.getOutput(0) + "/winograd/phases");
            nodes.add(conv3x3(n, base, n.getInput(0), phases, w2, List.of((long) cout4, (long) cin, 3L, 3L), b2));
            NodeProto.Builder d2s = NodeProto.newBuilder().setOpType("DepthToSpace").setName(names.node(base + "/winograd/depth_to_space"))
                    .addInput(phases).addOutput(n.getOutput(0))
                    .addAttribute(AttributeProto.newBuilder().setName("blocksize").setType(AttributeProto.AttributeType.INT).setI(2));
            if (opset >= 11) {
                d2s.addAttribute(AttributeProto.newBuilder().setName("mode").setType(AttributeProto.AttributeType.STRING)
                        .setS(com.google.protobuf.ByteString.copyFromUtf8("DCR")));
            }
            nodes.add(d2s.build());
            return true;
        }

        private NodeProto conv3x3(NodeProto original, String base, String x, String y, float[] w, List<Long> dims, float[] bias) {
            String wName = names.tensor(original.getInput(1) + "/winograd");
            graph.addInitializer(Tensors.floatTensor(wName, dims, w));
            NodeProto.Builder conv = NodeProto.newBuilder().setOpType("Conv").setName(names.node(base + "/winograd/conv"))
                    .addInput(x).addInput(wName).addOutput(y)
                    .addAttribute(ints("kernel_shape", 3, 3)).addAttribute(ints("strides", 1, 1)).addAttribute(ints("dilations", 1, 1))
                    .addAttribute(ints("pads", 1, 1, 1, 1))
                    .addAttribute(AttributeProto.newBuilder().setName("group").setType(AttributeProto.AttributeType.INT).setI(1));
            if (bias != null) {
                String bName = names.tensor(original.getInput(2) + "/winograd");
                graph.addInitializer(Tensors.floatTensor(bName, List.of((long) bias.length), bias));
                conv.addInput(bName);
            }
            return conv.build();
        }

        /** Whether INTS attribute {@code name} is present with {@code count} values, all equal to {@code v}. */
        private static boolean is(NodeProto n, String name, int count, long v) {
            Optional<AttributeProto> a = Graphs.attribute(n, name);
            if (a.isEmpty() || a.get().getIntsCount() != count) return false;
            for (long x : a.get().getIntsList()) if (x != v) return false;
            return true;
        }

        private static AttributeProto ints(String name, long... v) {
            AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
            for (long x : v) a.addInts(x);
            return a.build();
        }
    }
}
