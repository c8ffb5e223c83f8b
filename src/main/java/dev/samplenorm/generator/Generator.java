package dev.samplenorm.generator;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_AREA;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_LINEAR;
import static org.bytedeco.opencv.global.opencv_imgproc.resize;

import dev.samplenorm.Device;
import dev.samplenorm.Precision;
import dev.samplenorm.SampleNormException;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.environment.Environment;
import dev.samplenorm.kernels.ChannelStats;
import dev.samplenorm.kernels.HostKernels;
import dev.samplenorm.kernels.PixelMapping;
import dev.samplenorm.kernels.StatsScope;
import dev.samplenorm.onnx.ModelInfo;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.ConvTransposeRewrite;
import dev.samplenorm.onnx.OpenCvShapes;
import dev.samplenorm.onnx.StatisticsRewrite;
import dev.samplenorm.onnx.TensorInfo;
import dev.samplenorm.onnx.proto.Onnx;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

/**
 * A Pix2Pix-style image-to-image generator (an ONNX model with one NCHW float input) run with the
 * BatchNorm statistics of a {@link StatisticsMode} by an {@link Engine}: OpenCV DNN (CPU or CUDA)
 * or ONNX Runtime (CPU, an optional dependency). Both engines run the same rewritten model between
 * the same pre- and post-processing.
 *
 * <pre>{@code
 * try (Generator g = Generator.load(Path.of("pix2pix.onnx"), GeneratorOptions.defaults())) {
 *     List<Mat> out = g.translate(List.of(imread("sketch.png")));   // 8-bit BGR in, 8-bit BGR out
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Sizes.</b> A model whose input declares fixed H and W runs at that size: {@link #translate}
 * resizes other images to it and its outputs back (see {@link ResizePolicy}), {@link #translateBlob}
 * refuses other blob sizes. A model with symbolic H / W runs at each batch's own size; one rewritten
 * network is kept per size (the {@value #NET_CACHE_SIZE} most recently used). The batch size is
 * never fixed: one network serves every N.
 *
 * <p><b>Ownership.</b> Mats returned by {@link #translate} and {@link #translateBlob} are new and
 * belong to the caller, who closes them. The generator owns its networks (OpenCV {@code Net}s or ONNX
 * Runtime sessions) and frees them in {@link #close()}, which is idempotent; any other call after it
 * throws {@link IllegalStateException}.
 *
 * <p><b>NaN and infinity.</b> Values are never changed or refused for being NaN or infinite: an
 * input blob that holds such values, and a model output that comes out with them, each give one
 * WARNING line on this class's {@link System.Logger} saying how many values.
 *
 * <p><b>Threads.</b> An OpenCV {@code Net} is not thread-safe, so the methods of one instance are
 * synchronized, on either engine: concurrent calls are safe but run one at a time. For parallel
 * throughput use one instance per thread. Within one call, OpenCV uses {@code cv::getNumThreads()}
 * threads; the ONNX Runtime engine gets the same number as its intra-op thread count, read when a
 * network is built (so {@code opencv_core.setNumThreads(k)} before loading sets both).
 */
public final class Generator implements AutoCloseable {

    /** How many rewritten networks (one per input size) a model with symbolic H / W keeps. */
    public static final int NET_CACHE_SIZE = 4;

    private static final System.Logger LOG = System.getLogger(Generator.class.getName());
    private static final double PIXEL_SCALE = 1.0 / 127.5;

    private final OnnxModel model;
    private final OnnxModel runningForm;
    private final ModelInfo info;
    private final GeneratorOptions options;
    private final StatisticsMode mode;
    private final Device device;
    private final Engine engine;
    private final int modelC, modelH, modelW; // -1 where the model leaves the extent open
    private final int outputC;
    private final Map<List<Integer>, Network> nets = new LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<List<Integer>, Network> eldest) {
            if (size() <= NET_CACHE_SIZE) return false;
            try {
                eldest.getValue().close();
            } catch (RuntimeException e) { // the entry goes anyway: a closed network must not stay cached
                LOG.log(Level.WARNING, "closing the network for input " + eldest.getKey() + " failed: " + e, e);
            }
            dropoutMasks.remove(eldest.getKey());
            return true;
        }
    };
    // Test-time dropout: the mask stream (null when off) and each network's mask inputs.
    private final DropoutMasks dropout;
    private final Map<List<Integer>, List<StatisticsRewrite.DropoutMask>> dropoutMasks = new HashMap<>();
    private boolean closed;

    private Generator(OnnxModel model, GeneratorOptions options) {
        this.model = model;
        this.options = options;
        this.mode = options.statistics();
        this.info = model.info();
        if (info.inputs().size() != 1) {
            throw modelError("expected a generator with exactly one data input, the model has " + info.inputs().size() + ": "
                    + info.inputs());
        }
        TensorInfo in = info.input();
        if (in.elementType() != 0 && in.elementType() != TensorInfo.FLOAT) {
            throw modelError("model input '" + in.name() + "': expected FLOAT elements, got " + in.elementTypeName());
        }
        if (in.rankKnown() && in.rank() != 4) {
            throw modelError("model input '" + in.name() + "': expected a 4-D NCHW tensor, got shape " + in.dims());
        }
        this.modelC = (int) in.dim(1);
        this.modelH = (int) in.dim(2);
        this.modelW = (int) in.dim(3);
        this.outputC = info.outputs().isEmpty() ? -1 : (int) info.outputs().get(0).dim(1);
        if (mode == StatisticsMode.INPUT && modelC > 0 && outputC > 0 && modelC != outputC) {
            throw modelError("the input mode de-normalizes each output channel with the statistics of the same input channel, so it"
                    + " needs as many output channels as input channels; the model maps " + modelC + " to " + outputC);
        }
        // The inference form is needed by running and input modes, and checks the model's structure early for all.
        this.runningForm = StatisticsRewrite.rewrite(model, StatisticsMode.RUNNING, null);
        if (runningForm.info().outputs().size() != 1) {
            throw modelError("expected a generator with one output (besides BatchNorm running statistics), the model has "
                    + runningForm.info().outputs());
        }
        for (String w : info.warnings()) LOG.log(Level.WARNING, w);
        if (mode.usesBatchStatisticsInside() && info.batchNormCount() == 0) {
            LOG.log(Level.WARNING, "statistics mode " + mode.cliName() + ": the model has no BatchNormalization node, nothing to"
                    + " rewrite; it runs as exported");
        }
        this.dropout = options.dropoutSeed().isPresent() && info.dropoutCount() > 0
                ? new DropoutMasks(options.dropoutSeed().getAsLong()) : null;
        this.device = chooseDevice(options);
        this.engine = chooseEngine(options.engine(), device);
        LOG.log(Level.INFO, "generator: " + info.summary() + "; statistics " + mode.cliName() + "; device " + device + "; engine "
                + engine.cliName() + (options.precision() == Precision.FP16 ? ", precision fp16" : "")
                + (options.convTranspose().subPixelOn(device) ? "; strided ConvTranspose in sub-pixel form" : ""));
        if (modelC > 0 && modelH > 0 && modelW > 0) {
            // Fixed size: build the network now, so that a model OpenCV cannot run fails at load.
            try {
                net(modelC, modelH, modelW);
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }
    }

    /** Loads an {@code .onnx} file. */
    public static Generator load(Path path, GeneratorOptions options) throws IOException {
        Objects.requireNonNull(options, "options");
        return new Generator(OnnxModel.read(path), options);
    }

    /** Loads a model from the bytes of an {@code .onnx} file. */
    public static Generator load(byte[] onnx, GeneratorOptions options) {
        Objects.requireNonNull(options, "options");
        return new Generator(OnnxModel.parse(onnx), options);
    }

    /** Loads a model already parsed (or built in code). */
    public static Generator load(OnnxModel model, GeneratorOptions options) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(options, "options");
        return new Generator(model, options);
    }

    /** Loads a model from the class path, e.g. {@code "models/pix2pix.onnx"}. */
    public static Generator loadResource(String resource, GeneratorOptions options) {
        Objects.requireNonNull(options, "options");
        return new Generator(OnnxModel.fromResource(resource), options);
    }

    // ---------------------------------------------------------------------------------- device

    /** Resolves the requested device with the one environment probe, before anything touches CUDA. */
    private static Device chooseDevice(GeneratorOptions options) {
        if (options.engine() == Engine.ONNXRUNTIME && options.device().isAuto()) {
            // ONNX Runtime runs on the CPU only: auto must not pick a CUDA device it cannot use.
            LOG.log(Level.INFO, "device auto: using the CPU (the onnxruntime engine runs on the CPU only)");
            return Device.cpu();
        }
        Environment env = Environment.current();
        Device device = env.resolve(options.device(), options.precision());
        if (options.device().isAuto() && device.isCpu()) {
            LOG.log(Level.INFO, "device auto: using the CPU (" + env.dnnCudaUnusable(Device.cuda(0), Precision.FP32) + ")");
        }
        return device;
    }

    /**
     * Resolves the requested engine for the resolved device: {@link Engine#AUTO} as {@link
     * Engine#autoFor} says; {@link Engine#ONNXRUNTIME} only on the CPU and with its jar present.
     */
    private static Engine chooseEngine(Engine requested, Device device) {
        if (requested == Engine.AUTO) {
            Engine e = Engine.autoFor(device);
            LOG.log(Level.INFO, "engine auto: using " + e.cliName() + " on " + device + (device.isCuda()
                    ? " (the onnxruntime engine runs on the CPU only)"
                    : e == Engine.ONNXRUNTIME ? " (measured faster than opencv on the CPU)"
                    : " (" + Engine.ONNXRUNTIME_ARTIFACT + ", the faster CPU engine, is not on the class path)"));
            return e;
        }
        if (requested == Engine.ONNXRUNTIME) {
            if (!device.isCpu()) {
                throw new SampleNormException(SampleNormException.Code.ENGINE_UNAVAILABLE, "the onnxruntime engine runs on the CPU"
                        + " only, not on " + device + ": use device cpu, or engine opencv (or auto) for CUDA");
            }
            if (!Engine.ONNXRUNTIME.isAvailable()) {
                throw new SampleNormException(SampleNormException.Code.ENGINE_UNAVAILABLE, "the onnxruntime engine needs ONNX"
                        + " Runtime, an optional dependency that is not on the class path: add the Maven artifact "
                        + Engine.ONNXRUNTIME_ARTIFACT + " to the class path, or use engine opencv");
            }
        }
        return requested;
    }

    // ---------------------------------------------------------------------------------- networks

    /** The network for one input size, rewritten for the statistics mode, on this generator's engine. */
    private Network net(int c, int h, int w) {
        List<Integer> key = List.of(c, h, w);
        Network net = nets.get(key);
        if (net != null) return net;
        OnnxModel rewritten;
        List<StatisticsRewrite.DropoutMask> masks = List.of();
        // Symbolic H / W are pinned to this network's size: OpenCV's importer infers shapes from the
        // declared input, and the batch pattern's Reshape to (C, -1, H, W) contradicts open extents.
        OnnxModel sized = modelH > 0 && modelW > 0 ? model : withInputSize(model, info.input().name(), c, h, w);
        // The statistics rewrite's shape probe also finds the ConvTranspose input shapes (no second import).
        OpenCvShapes shapes = OpenCvShapes.atInput(1, c, h, w).alsoAt(n -> n.getOpType().equals("ConvTranspose"));
        if (dropout != null) {
            StatisticsRewrite.WithDropoutMasks r = StatisticsRewrite.rewriteWithDropoutMasks(sized, mode, shapes);
            rewritten = r.model();
            masks = r.masks();
        } else {
            rewritten = mode.usesBatchStatisticsInside() && info.batchNormCount() > 0
                    ? StatisticsRewrite.rewrite(sized, mode, shapes)
                    : runningForm;
        }
        List<String> maskInputs = masks.stream().map(StatisticsRewrite.DropoutMask::input).toList();
        OnnxModel runnable = subPixelWhereFaster(rewritten, shapes.alsoFound());
        net = engine == Engine.ONNXRUNTIME
                ? new OnnxRuntimeNetwork(runnable, info.input().name(), maskInputs, Math.max(1, opencv_core.getNumThreads()))
                : new OpenCvNetwork(runnable, device, options.precision(), maskInputs);
        if (dropout != null) dropoutMasks.put(key, masks);
        nets.put(key, net);
        return net;
    }

    /**
     * Strided ConvTransposes in their sub-pixel form, where {@link GeneratorOptions#convTranspose()} asks for it on this device.
     * On the CPU, for both engines, the phases are interleaved by Transposes where the probe found the input shapes (on OpenCV
     * DNN 0.84x to 0.90x the time of DepthToSpace; on ONNX Runtime 0.89x of the form as exported at N = 1, within the noise at
     * N = 4 and 16; the Reshapes fix H and W, which this network's size pins anyway, and leave the batch open), and
     * ConvTransposes on inputs of {@link #PER_PHASE_MIN_PIXELS} to {@link #PER_PHASE_MAX_PIXELS} positions get one Conv per
     * output phase. Not yet measured on CUDA, which keeps the single Conv and DepthToSpace.
     */
    private OnnxModel subPixelWhereFaster(OnnxModel rewritten, Map<String, int[]> convTransposeInputs) {
        if (!options.convTranspose().subPixelOn(device)) return rewritten;
        if (!device.isCpu()) return ConvTransposeRewrite.rewrite(rewritten);
        return ConvTransposeRewrite.rewrite(rewritten, convTransposeInputs, PER_PHASE_MIN_PIXELS, PER_PHASE_MAX_PIXELS);
    }

    /**
     * On the CPU, ConvTransposes on inputs of 4 x 4 to 16 x 16 positions get one Conv per output phase: on unet_256 (batch
     * mode, in alternation) OpenCV DNN took 0.90x and 0.96x of the single-Conv form's time at N = 1 and 16 (the layers on 4 x 4
     * inputs 0.45x), ONNX Runtime 0.96x at N = 1; on 2 x 2 and 1 x 1 inputs, where the weights dominate, and on 32 x 32 and
     * larger, where the single Conv wastes little, the single Conv is as fast or faster.
     */
    public static final long PER_PHASE_MIN_PIXELS = 16, PER_PHASE_MAX_PIXELS = 256;

    /** {@code model} with the data input's C, H and W declared as these values (N stays as it is). */
    private static OnnxModel withInputSize(OnnxModel model, String input, int c, int h, int w) {
        Onnx.ModelProto.Builder m = model.proto().toBuilder();
        Onnx.GraphProto.Builder g = m.getGraphBuilder();
        for (int i = 0; i < g.getInputCount(); i++) {
            if (!g.getInput(i).getName().equals(input)) continue;
            Onnx.TensorShapeProto.Builder s = g.getInputBuilder(i).getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
            int[] dims = {c, h, w};
            for (int k = 1; k < 4 && k < s.getDimCount(); k++) s.setDim(k, Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(dims[k - 1]));
        }
        return OnnxModel.of(m.build());
    }

    /** Runs the network; the returned Mat may share the network's output memory until its next run (see {@link Network}). */
    private Mat forward(Network net, Mat blob, int n, int c, int h, int w) {
        Mat out;
        if (dropout == null) {
            out = net.forward(blob, List.of());
        } else {
            List<Mat> masks = new ArrayList<>();
            try {
                for (StatisticsRewrite.DropoutMask m : dropoutMasks.getOrDefault(List.of(c, h, w), List.of())) masks.add(dropout.next(m, n));
                out = net.forward(blob, masks);
            } finally {
                for (Mat m : masks) m.close();
            }
        }
        NonFinite.warn(LOG, out, "model output for a batch of " + n);
        return out;
    }

    // ---------------------------------------------------------------------------------- blobs

    /**
     * Translates a float32 NCHW blob in model units (for a Tanh generator, [-1, 1] in the model's
     * channel order) into the output blob. Under {@link StatisticsMode#INPUT} the blob is normalized
     * per channel with its batch mean and biased variance, and the output de-normalized with the same.
     *
     * @param blob a continuous 4-D CV_32F Mat; C, H and W must match the model where it fixes them
     * @return a new CV_32F blob, owned by the caller
     */
    public synchronized Mat translateBlob(Mat blob) {
        ensureOpen();
        int[] s = checkBlob(blob);
        int n = s[0], c = s[1], h = s[2], w = s[3];
        NonFinite.warn(LOG, blob, "input blob");
        Network net = net(c, h, w);
        if (mode != StatisticsMode.INPUT) {
            Mat out = forward(net, blob, n, c, h, w);
            try {
                checkOutput(out, n);
                if (net.outputIsNew()) return out;
                try (out) {
                    return out.clone();
                }
            } catch (RuntimeException e) {
                out.close();
                throw e;
            }
        }
        ChannelStats stats = HostKernels.statistics(blob, StatsScope.BATCH);
        try (Mat normalized = new Mat()) {
            HostKernels.normalize(blob, normalized, stats, null, null, options.eps());
            try (Mat out = forward(net, normalized, n, c, h, w)) {
                checkOutput(out, n);
                if (out.size(1) != c) {
                    throw modelError("the input mode needs as many output channels as input channels; the model maps " + c + " to "
                            + out.size(1));
                }
                Mat y = out.isContinuous() ? out : out.clone();
                Mat result = new Mat();
                try {
                    denormalize(y, result, stats, options.eps());
                    return result;
                } catch (RuntimeException e) {
                    result.close();
                    throw e;
                } finally {
                    if (y != out) y.close();
                }
            }
        }
    }

    /** {@code y * sqrt(var + eps) + mean} per channel, with the normalize kernel and unit statistics. */
    private static void denormalize(Mat y, Mat dst, ChannelStats stats, double eps) {
        int c = stats.channels(), n = y.size(0);
        float[] gamma = new float[c], beta = new float[c];
        for (int j = 0; j < c; j++) {
            gamma[j] = (float) Math.sqrt(stats.variance(0, j) + eps);
            beta[j] = (float) stats.mean(0, j);
        }
        // mean 0, variance 0 and eps 1 make the kernel's (y - 0) / sqrt(0 + 1) exactly y.
        ChannelStats unit = new ChannelStats(StatsScope.BATCH, n, c, new double[c], new double[c]);
        HostKernels.normalize(y, dst, unit, gamma, beta, 1.0);
    }

    private int[] checkBlob(Mat blob) {
        Objects.requireNonNull(blob, "blob");
        if (blob.isNull() || blob.empty()) {
            throw new IllegalArgumentException("blob: expected a 4-D float32 NCHW blob, got an empty Mat");
        }
        if (blob.dims() != 4 || blob.type() != CV_32F) {
            throw new IllegalArgumentException("blob: expected a 4-D float32 NCHW blob (CV_32F, dims = 4), got dims = " + blob.dims()
                    + ", type = " + blob.type());
        }
        if (!blob.isContinuous()) {
            throw new IllegalArgumentException("blob: expected a continuous blob, got a non-continuous view; clone() it first");
        }
        int[] s = {blob.size(0), blob.size(1), blob.size(2), blob.size(3)};
        if ((modelC > 0 && s[1] != modelC) || (modelH > 0 && s[2] != modelH) || (modelW > 0 && s[3] != modelW)) {
            throw new IllegalArgumentException("blob: expected shape [N, " + dim(modelC) + ", " + dim(modelH) + ", " + dim(modelW)
                    + "] for model input '" + info.input().name() + "', got " + Arrays.toString(s));
        }
        return s;
    }

    private static String dim(int d) {
        return d > 0 ? Integer.toString(d) : "any";
    }

    private static void checkOutput(Mat out, int n) {
        if (out.dims() != 4 || out.type() != CV_32F || out.size(0) != n) {
            int[] s = new int[Math.max(out.dims(), 0)];
            for (int i = 0; i < s.length; i++) s[i] = out.size(i);
            throw new SampleNormException(SampleNormException.Code.MODEL, "expected the model output to be a float32 NCHW blob with N = "
                    + n + ", got shape " + Arrays.toString(s) + " of type " + out.type());
        }
    }

    // ---------------------------------------------------------------------------------- images

    /**
     * Translates 8-bit BGR images (CV_8UC3, any size, all of one size when the model has no fixed
     * size) into 8-bit images: pixels map to model values with {@code p / 127.5 - 1} and back with
     * rounding and saturation, channels swap to RGB and back unless {@link GeneratorOptions#swapRB()}
     * is false. Under {@link StatisticsMode#BATCH} and {@link StatisticsMode#INPUT} the images of
     * the list form one batch; under the other modes each image's output is independent of the others.
     *
     * <p>Outputs are 3-channel BGR (1-channel for a one-channel model output). An image that was
     * resized to the model's size has its output resized back to the image's size when the model's
     * output size equals its input size; otherwise outputs have the model's output size.
     *
     * @return one new Mat per image, owned by the caller
     */
    public synchronized List<Mat> translate(List<Mat> images) {
        ensureOpen();
        Objects.requireNonNull(images, "images");
        if (images.isEmpty()) throw new IllegalArgumentException("images: expected at least one image, got an empty list");
        if (modelC > 0 && modelC != 3) {
            throw modelError("translate() feeds 3-channel images, but model input '" + info.input().name() + "' has " + modelC
                    + " channels (expected NCHW with C = 3); use translateBlob() for other inputs");
        }
        for (int i = 0; i < images.size(); i++) {
            Mat m = images.get(i);
            if (m == null || m.isNull() || m.empty()) throw new IllegalArgumentException("images: image " + i + " is null or empty");
            if (m.dims() != 2 || m.type() != CV_8UC3) {
                throw new IllegalArgumentException("images: image " + i + " must be a 2-D 8-bit BGR Mat (CV_8UC3), got dims = "
                        + m.dims() + ", type = " + m.type() + "; convert it with cvtColor first");
            }
        }
        int h = modelH > 0 ? modelH : images.get(0).rows();
        int w = modelW > 0 ? modelW : images.get(0).cols();
        List<Mat> inputs = new ArrayList<>(images.size());
        List<Mat> owned = new ArrayList<>();
        try {
            for (int i = 0; i < images.size(); i++) {
                Mat m = images.get(i);
                if (m.rows() == h && m.cols() == w) {
                    inputs.add(m);
                    continue;
                }
                if (modelH <= 0 || modelW <= 0 || options.resize() == ResizePolicy.REJECT) {
                    String why = modelH > 0 && modelW > 0 ? "the model's input size" : "the size of image 0 (the model has no fixed size)";
                    throw new IllegalArgumentException("images: image " + i + " is " + m.cols() + "x" + m.rows() + ", expected " + w + "x"
                            + h + ", " + why + (options.resize() == ResizePolicy.REJECT ? "; resize policy is REJECT" : ""));
                }
                Mat r = new Mat();
                owned.add(r);
                resize(m, r, new Size(w, h), 0, 0, interpolation(m.cols(), m.rows(), w, h));
                inputs.add(r);
            }
            return run(images, inputs, h, w);
        } finally {
            for (Mat m : owned) m.close();
        }
    }

    private List<Mat> run(List<Mat> originals, List<Mat> inputs, int h, int w) {
        int n = inputs.size();
        boolean inputMode = mode == StatisticsMode.INPUT;
        try (Mat blob = new Mat()) {
            ChannelStats stats = inputMode
                    ? HostKernels.imagesToNormalizedBlob(inputs, blob, StatsScope.BATCH, options.swapRB(), PIXEL_SCALE, options.eps())
                    : null;
            if (!inputMode) HostKernels.imagesToBlob(inputs, blob, PixelMapping.symmetric(), options.swapRB());
            try (Mat out = forward(net(3, h, w), blob, n, 3, h, w)) {
                checkOutput(out, n);
                int oc = out.size(1), oh = out.size(2), ow = out.size(3);
                if (inputMode && oc != 3) {
                    throw modelError("the input mode needs as many output channels as input channels; the model maps 3 to " + oc);
                }
                if (oc != 1 && oc != 3) {
                    throw modelError("translate() writes 1- or 3-channel images, the model output has " + oc + " channels; use"
                            + " translateBlob()");
                }
                Mat src = out.isContinuous() ? out : out.clone();
                List<Mat> results = new ArrayList<>(n);
                try {
                    for (int i = 0; i < n; i++) results.add(new Mat());
                    boolean swap = options.swapRB() && oc == 3;
                    if (inputMode) HostKernels.blobToImages(src, results, stats, swap, PIXEL_SCALE, options.eps());
                    else HostKernels.blobToImages(src, results, PixelMapping.symmetric(), swap);
                    if (oh == h && ow == w) {
                        for (int i = 0; i < n; i++) {
                            Mat o = originals.get(i);
                            if (o.rows() == h && o.cols() == w) continue;
                            Mat back = new Mat();
                            resize(results.get(i), back, new Size(o.cols(), o.rows()), 0, 0, interpolation(w, h, o.cols(), o.rows()));
                            results.get(i).close();
                            results.set(i, back);
                        }
                    }
                    return results;
                } catch (RuntimeException e) {
                    for (Mat r : results) r.close();
                    throw e;
                } finally {
                    if (src != out) src.close();
                }
            }
        }
    }

    private static int interpolation(int fromW, int fromH, int toW, int toH) {
        return toW <= fromW && toH <= fromH ? INTER_AREA : INTER_LINEAR;
    }

    // ---------------------------------------------------------------------------------- state

    public StatisticsMode statistics() {
        return mode;
    }

    /** The device the network runs on (resolved from auto at load). */
    public Device device() {
        return device;
    }

    /** The engine that runs the network (resolved from auto at load). */
    public Engine engine() {
        return engine;
    }

    /** The precision the network runs in. */
    public Precision precision() {
        return options.precision();
    }

    public GeneratorOptions options() {
        return options;
    }

    /** What the loaded (not rewritten) model contains. */
    public ModelInfo modelInfo() {
        return info;
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    /** Frees the networks (OpenCV nets, ONNX Runtime sessions). Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        for (Network n : nets.values()) {
            try {
                n.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        nets.clear();
        if (first != null) throw first;
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("this Generator is closed");
    }

    private static SampleNormException modelError(String message) {
        return new SampleNormException(SampleNormException.Code.MODEL, message);
    }

    @Override
    public String toString() {
        return "Generator{" + mode.cliName() + ", " + device + ", " + engine.cliName() + ", " + info.summary() + "}";
    }
}
