package dev.samplenorm.onnx;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_dnn.MatShapeVector;
import org.bytedeco.opencv.opencv_dnn.Net;

/**
 * BatchNorm input shapes as OpenCV DNN itself computes them for one concrete network input shape
 * ({@code Net.getLayerShapes}). The network that finally runs is imported by the same code, so
 * the shapes agree with it by construction, whatever shape arithmetic the graph contains. Costs
 * one extra import of the model; nothing is computed on tensors.
 */
public final class OpenCvShapes implements BatchNormInputShapes {

    /** OpenCV 4.x names the layer of an ONNX node after the node's name with this prefix. */
    private static final String LAYER_PREFIX = "onnx_node!";

    private final int[] inputShape;
    private final Predicate<NodeProto> also;
    private final Map<String, int[]> alsoFound = new java.util.concurrent.ConcurrentHashMap<>();

    private OpenCvShapes(int[] inputShape, Predicate<NodeProto> also) {
        this.inputShape = inputShape;
        this.also = also;
    }

    /**
     * Shapes for a network input of {@code shape}, e.g. {@code (1, 3, 256, 256)}. The batch extent
     * does not matter to the rewrite; 1 keeps the probe cheap.
     */
    public static OpenCvShapes atInput(int... shape) {
        if (shape == null || shape.length == 0) {
            throw new IllegalArgumentException("input shape: expected at least one extent, got none");
        }
        for (int d : shape) {
            if (d < 1) {
                throw new IllegalArgumentException("input shape: expected every extent >= 1, got " + Arrays.toString(shape));
            }
        }
        return new OpenCvShapes(shape.clone(), null);
    }

    /**
     * Shapes at the same network input whose {@link #of} also finds the input shapes of the nodes
     * {@code also} selects, in the same import (an import of a large model costs as much as loading
     * it); {@link #alsoFound} then holds them. E.g. the ConvTranspose input shapes that
     * {@link ConvTransposeRewrite#rewrite(OnnxModel, Map)} takes, found while the statistics rewrite
     * probes its BatchNorm shapes.
     */
    public OpenCvShapes alsoAt(Predicate<NodeProto> also) {
        return new OpenCvShapes(inputShape, Objects.requireNonNull(also, "also"));
    }

    /**
     * The input shapes of the nodes {@link #alsoAt} selects that the last {@link #of} found, keyed by
     * each node's first output (a copy); empty before the first probe, without {@code alsoAt}, and where
     * OpenCV could not compute them (the BatchNorm shapes are then probed alone).
     */
    public Map<String, int[]> alsoFound() {
        return Map.copyOf(alsoFound);
    }

    @Override
    public Map<String, int[]> of(ModelProto model) {
        Predicate<NodeProto> batchNorm = n -> Graphs.is(n, "BatchNormalization");
        alsoFound.clear(); // the shapes of this model only
        if (also == null) return inputShapes(model, batchNorm);
        Map<String, int[]> all;
        try {
            all = inputShapes(model, batchNorm.or(also));
        } catch (SampleNormException e) {
            // The extra nodes are optional: where OpenCV cannot give their shapes, probe the BatchNorm inputs alone
            // (whose failure is the caller's error) and find nothing else.
            return inputShapes(model, batchNorm);
        }
        Map<String, int[]> bn = new HashMap<>();
        for (NodeProto n : model.getGraph().getNodeList()) {
            if (n.getOutputCount() == 0 || !all.containsKey(n.getOutput(0))) continue;
            if (batchNorm.test(n)) bn.put(n.getOutput(0), all.get(n.getOutput(0)));
            if (also.test(n)) alsoFound.put(n.getOutput(0), all.get(n.getOutput(0)));
        }
        return bn;
    }

    /**
     * Shapes of the first input of the nodes {@code which} selects, keyed by each node's first
     * output; a node whose layer OpenCV does not report is missing from the map.
     */
    public Map<String, int[]> inputShapes(ModelProto model, Predicate<NodeProto> which) {
        GraphProto g = model.getGraph();
        if (Graphs.dataInputs(g).size() != 1) {
            throw new SampleNormException(SampleNormException.Code.MODEL, "finding BatchNorm input shapes needs a model with exactly"
                    + " one data input, got " + Graphs.dataInputs(g).size());
        }
        // Give each selected node a name of our own, so that its OpenCV layer can be found.
        String prefix = uniquePrefix(g);
        Map<String, String> layerToOutput = new LinkedHashMap<>();
        GraphProto.Builder gb = g.toBuilder();
        for (int i = 0; i < gb.getNodeCount(); i++) {
            NodeProto n = gb.getNode(i);
            if (which.test(n)) {
                String name = prefix + i;
                gb.setNode(i, n.toBuilder().setName(name));
                layerToOutput.put(name, n.getOutput(0));
            }
        }
        if (layerToOutput.isEmpty()) return Map.of();
        OnnxModel probe = OnnxModel.of(model.toBuilder().setGraph(gb).build());

        Net net;
        try {
            net = OpenCvNets.read(probe);
        } catch (SampleNormException e) {
            throw new SampleNormException(SampleNormException.Code.MODEL, "cannot find the shapes at the BatchNormalization inputs: "
                    + e.getMessage(), e);
        }
        Map<String, int[]> shapes = new HashMap<>();
        try (PointerScope scope = new PointerScope(); net) {
            MatShapeVector netInput = new MatShapeVector(new IntPointer(inputShape));
            for (Map.Entry<String, String> e : layerToOutput.entrySet()) {
                int id = layerId(net, e.getKey(), e.getValue());
                if (id < 0) continue; // reported as an unknown shape by the rewrite
                MatShapeVector in = new MatShapeVector(), out = new MatShapeVector();
                try {
                    net.getLayerShapes(netInput, id, in, out);
                } catch (RuntimeException ex) {
                    throw new SampleNormException(SampleNormException.Code.MODEL, "OpenCV DNN cannot compute the shapes of the model for"
                            + " input shape " + Arrays.toString(inputShape) + ": " + OpenCvNets.message(ex), ex);
                }
                if (in.size() < 1) continue;
                IntPointer s = in.get(0);
                int[] dims = new int[(int) s.limit()];
                s.get(dims);
                shapes.put(e.getValue(), dims);
            }
        }
        return shapes;
    }

    private static int layerId(Net net, String nodeName, String output) {
        for (String candidate : new String[] {LAYER_PREFIX + nodeName, nodeName, output}) {
            int id = net.getLayerId(candidate);
            if (id >= 0) return id;
        }
        return -1;
    }

    private static String uniquePrefix(GraphProto g) {
        Set<String> names = new HashSet<>();
        for (NodeProto n : g.getNodeList()) names.add(n.getName());
        String prefix = "samplenorm_shape_probe_";
        while (true) {
            boolean clash = false;
            for (String n : names) {
                if (n.startsWith(prefix)) {
                    clash = true;
                    break;
                }
            }
            if (!clash) return prefix;
            prefix = "_" + prefix;
        }
    }

    @Override
    public String toString() {
        return "OpenCvShapes" + Arrays.toString(inputShape);
    }
}
