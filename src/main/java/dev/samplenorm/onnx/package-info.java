/**
 * Reading, inspecting and rewriting ONNX generator models so that OpenCV DNN normalizes with the
 * BatchNorm statistics the user asks for. OpenCV (4.x) reads a BatchNormalization node's running
 * mean and variance and ignores {@code training_mode}: a Pix2Pix generator exported in training
 * mode silently runs with running statistics. This package produces, from such a model, the model
 * OpenCV should run instead.
 *
 * <h2>Statistics modes</h2>
 * <ul>
 *   <li>{@code sample} (default): every BatchNorm normalizes each image with that image's own mean
 *       and biased variance over (H, W), per channel; an image's output never depends on the rest
 *       of the batch. The Pix2Pix reference test behaviour. BatchNormalization becomes
 *       InstanceNormalization.
 *   <li>{@code batch}: the statistics of the whole batch over (N, H, W): literal
 *       {@code training=True} at batch size N. BatchNormalization becomes Transpose → Reshape →
 *       InstanceNormalization → Reshape → Transpose, with H and W fixed and N left open.
 *   <li>{@code running}: the stored running statistics ({@code eval()} behaviour); BatchNormalization
 *       keeps its inference form.
 *   <li>{@code input}: <b>an approximation of {@code batch} only</b>, and a poor one on U-Nets
 *       (relative L2 of order 1 from true train-mode output): the {@code running} network, its
 *       input normalized per channel with the batch's mean and biased variance, its output
 *       de-normalized with the same. The model side is the {@code running} rewrite; the input and
 *       output steps live in {@code dev.samplenorm.generator}.
 * </ul>
 * Every mode removes Dropout (identity, so outputs are deterministic).
 *
 * <h2>Classes</h2>
 * <ul>
 *   <li>{@link dev.samplenorm.onnx.OnnxModel}: reads {@code .onnx} bytes with protobuf-java (the
 *       schema is the project's own {@code src/main/proto/onnx.proto}, a subset of ONNX's with
 *       ONNX's field numbers; fields it does not name are kept and written back) and refuses
 *       anything that is not an ONNX model with a message saying what was expected.
 *   <li>{@link dev.samplenorm.onnx.ModelValidator}: the checks every model passes before the
 *       rewrite or OpenCV sees it (graph integrity, tensor sizes, limits, attribute sanity), since
 *       OpenCV's importer crashes the JVM on a dangling name or on data shorter than its dims.
 *   <li>{@link dev.samplenorm.onnx.ModelInfo}: operator set, inputs and outputs, BatchNorm /
 *       Dropout counts, training-form detection and warnings.
 *   <li>{@link dev.samplenorm.onnx.StatisticsRewrite}: the rewrite, a function from model to model.
 *   <li>{@link dev.samplenorm.onnx.ConvTransposeRewrite}: strided ConvTranspose into Conv, DepthToSpace
 *       and Slice (the sub-pixel form), which OpenCV's CPU backend runs faster; applied after the
 *       statistics rewrite where {@code GeneratorOptions.convTranspose()} asks for it.
 *   <li>{@link dev.samplenorm.onnx.OpenCvShapes}: where the {@code batch} pattern gets H and W:
 *       from OpenCV's own shape report ({@code Net.getLayerShapes}) for a concrete input shape,
 *       because a training-mode export (e.g. a ResNet generator with reflect padding) computes its
 *       Pad amounts in shape subgraphs that ONNX shape inference cannot see through.
 *   <li>{@link dev.samplenorm.onnx.OpenCvNets}: imports a model into OpenCV with readable errors.
 * </ul>
 *
 * <h2>Exports</h2>
 * Export with {@code torch.onnx.export(..., training=torch.onnx.TrainingMode.TRAINING,
 * do_constant_folding=False)}; any opset from 7 (tested 9 to 17), BatchNorm with 1, 3 or 5 outputs.
 * A model exported in eval mode has lost the BatchNorm layers that followed convolutions: they are
 * folded into the convolution weights and no rewrite can bring them back. {@link
 * dev.samplenorm.onnx.ModelInfo#warnings()} says so where it can tell (no BatchNorm at all, or
 * BatchNorm only after ConvTranspose nodes and none in training form).
 *
 * <h2>OpenCV workarounds built in</h2>
 * No ReduceMean (wrong for some batch sizes in OpenCV 4.x, CPU only) and no Sub/Div/Sqrt chains
 * (rewritten by OpenCV's graph simplifier) in the patterns; Dropout removed (OpenCV 4.13 rejects
 * its BOOL {@code training_mode} constant); in the inference form a BatchNorm right after a
 * ConvTranspose is folded into it here, because OpenCV 4.13 re-applies that fusion whenever the
 * batch size changes. Known CUDA limitation: OpenCV's CUDA InstanceNormalization writes 0 where
 * the normalized extent is a single element (a BatchNorm on a 1 x 1 map in {@code sample} mode,
 * or at N = 1 in {@code batch} mode), where the exact result is the BatchNorm's bias.
 *
 * <p>This package does not depend on the generator facade.
 */
package dev.samplenorm.onnx;
