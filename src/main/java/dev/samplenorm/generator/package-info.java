/**
 * Run a Pix2Pix-style generator (an ONNX model with one float NCHW input) through OpenCV DNN or
 * ONNX Runtime with the BatchNorm statistics of a {@link dev.samplenorm.StatisticsMode}:
 *
 * <pre>{@code
 * GeneratorOptions options = GeneratorOptions.builder()
 *         .statistics(StatisticsMode.SAMPLE)   // sample (default) | batch | running | input
 *         .device("auto")                      // auto (default) | cpu | cuda | cuda:N
 *         .engine("opencv")                    // opencv (default) | onnxruntime (CPU) | auto
 *         .build();
 * try (Generator g = Generator.load(Path.of("pix2pix.onnx"), options)) {
 *     List<Mat> outputs = g.translate(images);  // 8-bit BGR in and out
 *     Mat blob = g.translateBlob(nchw);         // float32 NCHW in model units, e.g. [-1, 1]
 * }
 * }</pre>
 *
 * <h2>Modes</h2>
 * <ul>
 *   <li>{@code sample}: each image normalized with its own statistics; outputs independent of the
 *       batch (the Pix2Pix reference test behaviour).
 *   <li>{@code batch}: statistics of the whole batch over (N, H, W), i.e. {@code training=True}.
 *   <li>{@code running}: the stored running statistics ({@code eval()}).
 *   <li>{@code input}: only an approximation of {@code batch}: the {@code running} network with
 *       its input normalized per channel by the batch's mean and biased variance (eps 1e-5 by
 *       default, {@link dev.samplenorm.generator.GeneratorOptions.Builder#eps(double)}) and its
 *       output de-normalized with the same statistics, both on the native kernels. On U-Net
 *       generators it is far from {@code batch} (relative L2 of order 1).
 * </ul>
 *
 * <h2>Engines</h2>
 * {@link dev.samplenorm.generator.Engine}: both engines run the same rewritten model (with a
 * symbolic batch extent for ONNX Runtime, so one session serves every N and {@code sample} mode
 * normalizes each image of a batch in one call) between the same native pre- and post-processing.
 * ONNX Runtime is an optional dependency, loaded only when its engine is chosen
 * ({@code OnnxRuntimeNetwork} is the only class that names its types); its intra-op thread count
 * is OpenCV's {@code cv::getNumThreads()}.
 *
 * <h2>Images, sizes, devices, threads</h2>
 * Images are CV_8UC3 BGR as OpenCV reads them; pixels map to {@code p / 127.5 - 1} and back, and
 * channels are swapped to RGB for the model unless {@code swapRB(false)}. A model with a fixed
 * input size gets other image sizes resized to it (INTER_AREA when shrinking, INTER_LINEAR
 * otherwise) and its outputs resized back, or refused with {@link
 * dev.samplenorm.generator.ResizePolicy#REJECT}; blobs must match a fixed size. A model with
 * symbolic H / W runs at each batch's size. {@code cuda} needs OpenCV's GPU build and a CUDA
 * device (checked before anything touches CUDA; else {@code NO_CUDA_DEVICE}); {@code auto} falls
 * back to the CPU and logs which device it uses. One {@link dev.samplenorm.generator.Generator}
 * serializes its calls (an OpenCV Net is not thread-safe); use one per thread for parallelism.
 * Loading logs warnings for models without BatchNorm and suspected eval-mode exports
 * ({@code java.util.logging} / {@code System.Logger} name {@code dev.samplenorm.generator.Generator}),
 * and running logs one warning line, with the count, for NaN or infinite values in an input blob
 * or a model output (the values pass unchanged).
 */
package dev.samplenorm.generator;
