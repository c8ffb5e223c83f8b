package dev.samplenorm.onnx;

import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What an ONNX model contains, as far as the statistics rewrite cares.
 *
 * @param opsetVersion version of the default ONNX operator set; -1 if not imported
 * @param inputs the inputs fed at run time (initializers listed as inputs excluded)
 * @param operatorCounts nodes per operator type of the main graph
 * @param batchNormCount BatchNormalization nodes
 * @param trainingBatchNormCount BatchNormalization nodes in training form: {@code training_mode=1} or
 *     more than one output (an exporter in training mode writes 3 outputs at opset 14+, 5 before)
 * @param dropoutCount Dropout nodes
 * @param warnings problems worth telling the user: no BatchNorm at all, a suspected eval-mode export
 */
public record ModelInfo(long irVersion, long opsetVersion, String producer, List<TensorInfo> inputs, List<TensorInfo> outputs,
        Map<String, Integer> operatorCounts, int batchNormCount, int trainingBatchNormCount, int dropoutCount,
        List<String> warnings) {

    public ModelInfo {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        operatorCounts = Map.copyOf(operatorCounts);
        warnings = List.copyOf(warnings);
    }

    static ModelInfo of(ModelProto model) {
        GraphProto g = model.getGraph();
        List<TensorInfo> inputs = new ArrayList<>();
        for (ValueInfoProto v : Graphs.dataInputs(g)) inputs.add(TensorInfo.of(v));
        List<TensorInfo> outputs = new ArrayList<>();
        for (ValueInfoProto v : g.getOutputList()) outputs.add(TensorInfo.of(v));

        Map<String, Integer> counts = new TreeMap<>();
        Map<String, NodeProto> producers = new HashMap<>();
        int bn = 0, trainingBn = 0, dropout = 0;
        for (NodeProto n : g.getNodeList()) {
            counts.merge(n.getOpType(), 1, Integer::sum);
            for (String o : n.getOutputList()) if (!o.isEmpty()) producers.put(o, n);
            if (Graphs.is(n, "BatchNormalization")) {
                bn++;
                if (Graphs.intAttribute(n, "training_mode", 0) != 0 || Graphs.namedOutputs(n) > 1) trainingBn++;
            } else if (Graphs.is(n, "Dropout")) {
                dropout++;
            }
        }
        return new ModelInfo(model.getIrVersion(), Graphs.defaultOpset(model), producer(model), inputs, outputs, counts, bn, trainingBn,
                dropout, warnings(g, counts, producers, bn, trainingBn));
    }

    private static String producer(ModelProto m) {
        String p = m.getProducerName();
        return m.getProducerVersion().isEmpty() ? p : p + " " + m.getProducerVersion();
    }

    private static List<String> warnings(GraphProto g, Map<String, Integer> counts, Map<String, NodeProto> producers, int bn,
            int trainingBn) {
        List<String> w = new ArrayList<>();
        int conv = counts.getOrDefault("Conv", 0), convT = counts.getOrDefault("ConvTranspose", 0);
        if (bn == 0) {
            boolean unetLike = conv > 0 && convT > 0 && counts.getOrDefault("Concat", 0) > 0;
            w.add("the model has no BatchNormalization node, so the statistics modes sample and batch change nothing inside it"
                    + (unetLike ? "; it has the Conv, ConvTranspose and Concat nodes of a U-Net generator" : "")
                    + ". If the generator was trained with BatchNorm, it was exported in eval mode, which folds BatchNorm into"
                    + " the convolutions for good; re-export it with training=torch.onnx.TrainingMode.TRAINING and"
                    + " do_constant_folding=False");
            return w;
        }
        // An eval-mode PyTorch export folds Conv+BatchNorm pairs but leaves ConvTranspose+BatchNorm alone.
        int afterConv = 0, afterConvT = 0;
        for (NodeProto n : g.getNodeList()) {
            if (!Graphs.is(n, "BatchNormalization") || n.getInputCount() == 0) continue;
            NodeProto p = producers.get(n.getInput(0));
            if (p == null) continue;
            if (Graphs.is(p, "Conv")) afterConv++;
            if (Graphs.is(p, "ConvTranspose")) afterConvT++;
        }
        if (trainingBn == 0 && afterConvT > 0 && afterConv == 0 && conv > 1) {
            w.add("BatchNormalization follows ConvTranspose nodes but never a Conv node, and none is in training form: this looks"
                    + " like an eval-mode export whose Conv+BatchNorm pairs were folded into the convolutions; sample and batch"
                    + " modes can only act on the " + bn + " BatchNorm layers left. Re-export with"
                    + " training=torch.onnx.TrainingMode.TRAINING and do_constant_folding=False");
        } else if (trainingBn == 0) {
            w.add("no BatchNormalization node is in training form (training_mode=1 or several outputs): the model was probably"
                    + " exported in eval mode; any BatchNorm folded into a convolution by the exporter is out of reach of the"
                    + " sample and batch modes");
        }
        return w;
    }

    /** The first data input; the generator's image or blob input. */
    public TensorInfo input() {
        if (inputs.isEmpty()) {
            throw new IllegalStateException("the model has no data input");
        }
        return inputs.get(0);
    }

    /** True when at least one BatchNormalization node is in training form. */
    public boolean hasTrainingModeBatchNorm() {
        return trainingBatchNormCount > 0;
    }

    /** One line: opset, producer, inputs, outputs, BatchNorm and Dropout counts. */
    public String summary() {
        return "opset " + opsetVersion + (producer.isEmpty() ? "" : ", producer " + producer) + ", inputs " + inputs + ", outputs "
                + outputs + ", " + batchNormCount + " BatchNormalization (" + trainingBatchNormCount + " in training form), "
                + dropoutCount + " Dropout";
    }
}
