package dev.samplenorm.onnx;

import dev.samplenorm.onnx.proto.Onnx.AttributeProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import java.util.Map;
import java.util.Optional;

/**
 * The constant weights (and bias) of a 2-D Conv or ConvTranspose node that a rewrite can rearrange:
 * a weights input that is a constant 4-D float tensor, a bias (if any) of one constant float per output
 * channel, group 1, and explicit pads (no {@code auto_pad} other than NOTSET, no {@code output_shape}).
 *
 * @param w the weights, row-major in the node's layout ([C_out, C_in, kH, kW] for Conv, [C_in, C_out, kH, kW] for ConvTranspose)
 * @param dims the weights' four dimensions
 * @param bias the bias, or null where the node has none
 */
record ConstantWeights(float[] w, long[] dims, float[] bias) {

    /**
     * The weights of {@code n}; null where it is out of scope, with the reason appended to {@code why}.
     *
     * @param outAxis the weights' dimension that counts the output channels (0 for Conv, 1 for ConvTranspose)
     */
    static ConstantWeights of(NodeProto n, int outAxis, Map<String, TensorProto> init, Map<String, NodeProto> producers, StringBuilder why) {
        if (n.getInputCount() < 2 || n.getOutputCount() < 1 || n.getOutput(0).isEmpty()) {
            why.append("no weights or no output");
            return null;
        }
        TensorProto wt = Tensors.constant(n.getInput(1), init, producers);
        float[] w = Tensors.floats(wt);
        if (w == null || wt.getDimsCount() != 4) {
            why.append("the weights are not a constant 4-D float tensor");
            return null;
        }
        long[] dims = {wt.getDims(0), wt.getDims(1), wt.getDims(2), wt.getDims(3)};
        boolean hasBias = n.getInputCount() > 2 && !n.getInput(2).isEmpty();
        float[] b = hasBias ? Tensors.floats(Tensors.constant(n.getInput(2), init, producers)) : null;
        if (hasBias && (b == null || b.length != dims[outAxis])) {
            why.append("the bias is not a constant float tensor of ").append(dims[outAxis]).append(" values");
            return null;
        }
        if (Graphs.intAttribute(n, "group", 1) != 1) {
            why.append("group ").append(Graphs.intAttribute(n, "group", 1)).append(" (only group 1 is rewritten)");
            return null;
        }
        Optional<AttributeProto> autoPad = Graphs.attribute(n, "auto_pad");
        if (autoPad.isPresent() && !autoPad.get().getS().toStringUtf8().equals("NOTSET")) {
            why.append("auto_pad ").append(autoPad.get().getS().toStringUtf8()).append(" (only explicit pads are rewritten)");
            return null;
        }
        if (Graphs.attribute(n, "output_shape").isPresent()) {
            why.append("an output_shape attribute (only explicit pads are rewritten)");
            return null;
        }
        return new ConstantWeights(w, dims, b);
    }
}
