package dev.samplenorm.onnx;

import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import java.util.HashSet;
import java.util.Set;

/** Fresh tensor and node names that clash with nothing in a graph, for the graph rewrites. */
final class FreshNames {
    private final Set<String> tensors = new HashSet<>();
    private final Set<String> nodes = new HashSet<>();

    FreshNames(GraphProto g) {
        for (NodeProto n : g.getNodeList()) {
            tensors.addAll(n.getInputList());
            tensors.addAll(n.getOutputList());
            nodes.add(n.getName());
        }
        for (TensorProto t : g.getInitializerList()) tensors.add(t.getName());
        for (ValueInfoProto v : g.getInputList()) tensors.add(v.getName());
        for (ValueInfoProto v : g.getOutputList()) tensors.add(v.getName());
        for (ValueInfoProto v : g.getValueInfoList()) tensors.add(v.getName());
    }

    String tensor(String wanted) {
        return fresh(tensors, wanted);
    }

    String node(String wanted) {
        return fresh(nodes, wanted);
    }

    private static String fresh(Set<String> taken, String wanted) {
        String s = wanted;
        for (int i = 1; taken.contains(s); i++) s = wanted + "_" + i;
        taken.add(s);
        return s;
    }
}
