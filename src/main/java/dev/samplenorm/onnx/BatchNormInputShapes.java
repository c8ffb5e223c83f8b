package dev.samplenorm.onnx;

import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import java.util.Map;

/**
 * Where the rewrite learns the shape of the tensor each BatchNormalization node normalizes. The
 * batch pattern needs static H and W there, and ONNX's own shape information cannot always be
 * trusted for them (a training-mode export computes its Pad amounts in shape subgraphs that hide
 * every extent); {@link OpenCvShapes} asks the engine that will run the network.
 */
@FunctionalInterface
public interface BatchNormInputShapes {

    /**
     * Input shapes at batch size 1 of the BatchNormalization nodes of {@code model}, a model in the
     * rewrite's inference form (BatchNorm with one output, no Dropout).
     *
     * @return for each BatchNormalization node, keyed by its output name, the shape of its input
     *     {@code X}; a node may be missing (unknown shape), which the rewrite reports as an error
     */
    Map<String, int[]> of(ModelProto model);
}
