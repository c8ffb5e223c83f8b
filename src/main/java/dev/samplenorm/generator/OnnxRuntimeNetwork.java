package dev.samplenorm.generator;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.samplenorm.SampleNormException;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.proto.Onnx;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * A rewritten model in an ONNX Runtime session on its CPU execution provider. The only class that
 * names {@code ai.onnxruntime} types: {@link Generator} creates it only after checking that ONNX
 * Runtime is on the class path, so the library loads and runs on OpenCV without that optional jar.
 *
 * <p>The session is this network's own and is closed by {@link #close()}; the {@link OrtEnvironment}
 * is ONNX Runtime's process-wide singleton (its Java API hands every caller the same one), so it
 * is shared and never closed here. Session options: all graph optimizations, sequential execution,
 * {@code intraOpThreads} intra-op threads (the generator passes OpenCV's thread count, so both
 * engines use the same number of cores) and one inter-op thread.
 */
final class OnnxRuntimeNetwork implements Network {

    private final OrtEnvironment env;
    private final OrtSession session;
    private final String input, output;
    private final List<String> maskInputs;
    private boolean closed;

    OnnxRuntimeNetwork(OnnxModel rewritten, List<String> maskInputs, int intraOpThreads) {
        this.maskInputs = List.copyOf(maskInputs);
        Onnx.ModelProto proto = withSymbolicBatch(rewritten.proto());
        this.input = proto.getGraph().getInput(0).getName();
        this.output = proto.getGraph().getOutput(0).getName();
        checkCommandLine();
        try {
            this.env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                o.setIntraOpNumThreads(intraOpThreads);
                o.setInterOpNumThreads(1);
                this.session = env.createSession(proto.toByteArray(), o);
            }
        } catch (OrtException e) {
            throw new SampleNormException(SampleNormException.Code.MODEL, "ONNX Runtime cannot load the model: " + e.getMessage(), e);
        } catch (UnsatisfiedLinkError e) {
            throw new SampleNormException(SampleNormException.Code.ENGINE_UNAVAILABLE, "ONNX Runtime's native library cannot be"
                    + " loaded on this machine: " + e.getMessage(), e);
        }
    }

    /**
     * ONNX Runtime 1.29's native start-up kills the JVM with SIGSEGV when the process's command line
     * ({@code /proc/self/cmdline}) is longer than about 3,980 bytes, as a long {@code -cp} makes it
     * (measured: 3,976 bytes run, 3,981 crash). Refused with a message instead of a crash.
     */
    static final int MAX_COMMAND_LINE = 3900;

    private static void checkCommandLine() {
        Path cmdline = Path.of("/proc/self/cmdline");
        long length;
        try {
            if (!Files.isReadable(cmdline)) return;
            length = Files.readAllBytes(cmdline).length;
        } catch (IOException | RuntimeException e) {
            return; // no procfs: nothing to measure
        }
        if (length > MAX_COMMAND_LINE) {
            throw new SampleNormException(SampleNormException.Code.ENGINE_UNAVAILABLE, "the onnxruntime engine cannot start in"
                    + " this JVM: ONNX Runtime crashes the process when its command line is longer than about " + MAX_COMMAND_LINE
                    + " bytes, and this one is " + length + " bytes; start Java with a shorter command line (java -jar with a"
                    + " manifest class path, a class path in an @argfile or in the CLASSPATH environment variable), or use engine"
                    + " opencv");
        }
    }

    /**
     * The model with the batch extent of its data input and outputs declared symbolic: ONNX Runtime
     * refuses a batch size other than a declared one, and one session serves every N.
     */
    static Onnx.ModelProto withSymbolicBatch(Onnx.ModelProto model) {
        Onnx.ModelProto.Builder m = model.toBuilder();
        Onnx.GraphProto.Builder g = m.getGraphBuilder();
        symbolicBatch(g.getInputBuilder(0));
        for (int i = 0; i < g.getOutputCount(); i++) symbolicBatch(g.getOutputBuilder(i));
        return m.build();
    }

    private static void symbolicBatch(Onnx.ValueInfoProto.Builder v) {
        if (!v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) return;
        Onnx.TensorShapeProto.Builder s = v.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
        if (s.getDimCount() > 0) s.setDim(0, Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("N"));
    }

    @Override
    public Mat forward(Mat blob, List<Mat> masks) {
        if (closed) throw new IllegalStateException("this network is closed");
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put(input, view(blob));
            for (int i = 0; i < masks.size(); i++) inputs.put(maskInputs.get(i), view(masks.get(i)));
            try (OrtSession.Result r = session.run(inputs)) {
                OnnxValue v = r.get(0);
                if (!(v instanceof OnnxTensor t) || t.getInfo().type != ai.onnxruntime.OnnxJavaType.FLOAT) {
                    throw new SampleNormException(SampleNormException.Code.MODEL, "expected the model output '" + output
                            + "' to be a float32 tensor, got " + v.getInfo());
                }
                return toMat(t);
            }
        } catch (OrtException e) {
            throw new SampleNormException(SampleNormException.Code.MODEL, "ONNX Runtime failed to run the model on a "
                    + Network.shapeOf(blob) + " input: " + e.getMessage(), e);
        } finally {
            for (OnnxTensor t : inputs.values()) t.close();
        }
    }

    /** A tensor over the Mat's memory (no copy: ORT uses a direct buffer in native order as it is). */
    private OnnxTensor view(Mat m) throws OrtException {
        long[] shape = new long[m.dims()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) count *= shape[i] = m.size(i);
        FloatBuffer b = new FloatPointer(m.data()).capacity(count).asBuffer();
        return OnnxTensor.createTensor(env, b, shape);
    }

    private static Mat toMat(OnnxTensor t) {
        long[] shape = t.getInfo().getShape();
        int[] dims = new int[shape.length];
        for (int i = 0; i < dims.length; i++) dims[i] = Math.toIntExact(shape[i]);
        FloatBuffer values = t.getFloatBuffer();
        Mat out = new Mat(dims, CV_32F);
        try {
            new FloatPointer(out.data()).capacity(values.remaining()).asBuffer().put(values);
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    @Override
    public boolean outputIsNew() {
        return true;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            session.close();
        } catch (OrtException e) {
            throw new SampleNormException(SampleNormException.Code.MODEL, "ONNX Runtime failed to close its session: " + e.getMessage(), e);
        }
    }
}
