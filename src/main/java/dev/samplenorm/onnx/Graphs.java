package dev.samplenorm.onnx;

import dev.samplenorm.onnx.proto.Onnx.AttributeProto;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Small read helpers over the ONNX messages. */
final class Graphs {

    private Graphs() {}

    /** The opset version of the default ONNX domain ("" or "ai.onnx"); -1 if the model does not import it. */
    static long defaultOpset(ModelProto model) {
        long v = -1;
        for (var o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) v = Math.max(v, o.getVersion());
        }
        return v;
    }

    static boolean isDefaultDomain(NodeProto n) {
        return n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
    }

    static boolean is(NodeProto n, String opType) {
        return isDefaultDomain(n) && n.getOpType().equals(opType);
    }

    static Optional<AttributeProto> attribute(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) return Optional.of(a);
        }
        return Optional.empty();
    }

    static long intAttribute(NodeProto n, String name, long dflt) {
        return attribute(n, name).map(AttributeProto::getI).orElse(dflt);
    }

    static float floatAttribute(NodeProto n, String name, float dflt) {
        return attribute(n, name).map(AttributeProto::getF).orElse(dflt);
    }

    static Set<String> initializerNames(GraphProto g) {
        Set<String> s = new HashSet<>();
        for (TensorProto t : g.getInitializerList()) s.add(t.getName());
        return s;
    }

    /** Graph inputs that are fed at run time (not initializers listed as inputs, as IR < 4 requires). */
    static List<ValueInfoProto> dataInputs(GraphProto g) {
        Set<String> init = initializerNames(g);
        List<ValueInfoProto> out = new ArrayList<>();
        for (ValueInfoProto v : g.getInputList()) {
            if (!init.contains(v.getName())) out.add(v);
        }
        return out;
    }

    /** Outputs with a name (ONNX marks an omitted optional output with ""). */
    static int namedOutputs(NodeProto n) {
        int k = 0;
        for (String o : n.getOutputList()) if (!o.isEmpty()) k++;
        return k;
    }

    /** A node as users see it in messages: op type, name and first output. */
    static String describe(NodeProto n) {
        String name = n.getName().isEmpty() ? "" : " '" + n.getName() + "'";
        String out = n.getOutputCount() > 0 ? " (output '" + n.getOutput(0) + "')" : "";
        return n.getOpType() + name + out;
    }

    /** Every tensor name a node reads, including names read inside its subgraphs (If, Loop, Scan bodies). */
    static void collectReads(NodeProto n, Set<String> into) {
        for (String i : n.getInputList()) if (!i.isEmpty()) into.add(i);
        for (AttributeProto a : n.getAttributeList()) {
            if (a.hasG()) collectReads(a.getG(), into);
            for (GraphProto g : a.getGraphsList()) collectReads(g, into);
        }
    }

    private static void collectReads(GraphProto g, Set<String> into) {
        for (NodeProto n : g.getNodeList()) collectReads(n, into);
        for (ValueInfoProto o : g.getOutputList()) into.add(o.getName());
    }

    /**
     * {@code model} with {@code graph}'s nodes replaced by {@code nodes}, and the Constant nodes, initializers and
     * initializer inputs that nothing reads any more left out (those only replaced nodes read go with them).
     */
    static ModelProto withNodes(ModelProto model, GraphProto.Builder graph, List<NodeProto> nodes) {
        Set<String> reads = new HashSet<>();
        for (NodeProto n : nodes) collectReads(n, reads);
        for (ValueInfoProto o : graph.getOutputList()) reads.add(o.getName());
        List<NodeProto> kept = new ArrayList<>(nodes);
        kept.removeIf(n -> is(n, "Constant") && n.getOutputCount() == 1 && !reads.contains(n.getOutput(0)));
        List<TensorProto> initializers = new ArrayList<>();
        Set<String> removed = new HashSet<>();
        for (TensorProto t : graph.getInitializerList()) {
            if (reads.contains(t.getName())) initializers.add(t);
            else removed.add(t.getName());
        }
        List<ValueInfoProto> inputs = new ArrayList<>();
        for (ValueInfoProto v : graph.getInputList()) if (!removed.contains(v.getName())) inputs.add(v);
        graph.clearInitializer().addAllInitializer(initializers).clearInput().addAllInput(inputs);
        graph.clearNode().addAllNode(kept);
        return model.toBuilder().setGraph(graph.build()).build();
    }

    /** The initializers by name (a later one of the same name wins, as in a plain loop). */
    static Map<String, TensorProto> initializersByName(List<TensorProto> initializers) {
        Map<String, TensorProto> byName = new HashMap<>();
        for (TensorProto t : initializers) byName.put(t.getName(), t);
        return byName;
    }

    /** The node that writes each named output of {@code nodes} (a later writer wins). */
    static Map<String, NodeProto> producers(List<NodeProto> nodes) {
        Map<String, NodeProto> producers = new HashMap<>();
        for (NodeProto n : nodes) for (String o : n.getOutputList()) if (!o.isEmpty()) producers.put(o, n);
        return producers;
    }
}
