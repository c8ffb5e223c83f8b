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
 * engines use the same number of cores) and one inter-op thread; intra-op spinning stays on (ONNX
 * Runtime's default, as for a plain session). The generator hands it the model with strided
 * ConvTranspose layers in the sub-pixel form where {@link GeneratorOptions#convTranspose()} asks for
 * it (on the CPU by default), with the phases interleaved by Transposes where the shapes are known:
 * measured faster on ONNX Runtime at N = 1, within the noise at N = 4 and 16.
 */
final class OnnxRuntimeNetwork implements Network {

    private final OrtEnvironment env;
    private final OrtSession session;
    private final String input, output;
    private final List<String> maskInputs;
    private boolean closed;

    /**
     * @param dataInput the name of the model's data input ({@code ModelInfo.input()}): not always the
     *     graph's first input, since exporters may list initializers (weights) as inputs too
     */
    OnnxRuntimeNetwork(OnnxModel rewritten, String dataInput, List<String> maskInputs, int intraOpThreads) {
        this.maskInputs = List.copyOf(maskInputs);
        // ONNX Runtime refuses a batch size other than a declared one: one session serves every N.
        Onnx.ModelProto proto = rewritten.withSymbolicBatch(dataInput).proto();
        this.input = dataInput;
        this.output = proto.getGraph().getOutput(0).getName();
        try {
            this.env = environment();
            try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                o.setIntraOpNumThreads(intraOpThreads);
                o.setInterOpNumThreads(1);
                this.session = env.createSession(proto.toByteArray(), o);
            }
        } catch (OrtException e) {
            throw new SampleNormException(SampleNormException.Code.MODEL, "ONNX Runtime cannot load the model: " + e.getMessage(), e);
        } catch (LinkageError e) { // the native library cannot load (UnsatisfiedLinkError), or failed to before
            // (ExceptionInInitializerError, then NoClassDefFoundError)
            throw new SampleNormException(SampleNormException.Code.ENGINE_UNAVAILABLE, "ONNX Runtime's native library cannot be"
                    + " loaded on this machine: " + e.getMessage(), e);
        }
    }

    /**
     * ONNX Runtime 1.29's first {@code OrtEnvironment.getEnvironment()} parses the process's command
     * line ({@code /proc/self/cmdline}) with a recursion whose stack depth grows with its length
     * (measured: about 200 to 700 bytes of stack per byte of command line). With Java's default
     * 1 MiB thread stack a command line longer than about 3,980 bytes, as a long {@code -cp} makes
     * it, killed the JVM with SIGSEGV; 20,000 bytes needed between 4 and 8 MiB, 200,000 bytes at most
     * 100 MiB. So the environment is created once, on a thread of its own whose stack is sized from
     * the command line ({@link #stackFor}); later calls (sessions, runs) do not parse it again.
     * Command lines too long for {@link #MAX_INIT_STACK} are refused with a message, never a crash.
     */
    static final long MAX_INIT_STACK = 1L << 30;

    private static OrtEnvironment environment;

    /** Thread stack for the environment's start-up: 1 KiB per command-line byte, at least 64 MiB. */
    static long stackFor(long commandLineBytes) {
        return Math.max(64L << 20, commandLineBytes * 1024L);
    }

    private static synchronized OrtEnvironment environment() {
        if (environment != null) return environment;
        long length = commandLineLength();
        long stack = stackFor(length);
        if (stack > MAX_INIT_STACK) {
            throw new SampleNormException(SampleNormException.Code.ENGINE_UNAVAILABLE, "the onnxruntime engine cannot start in"
                    + " this JVM: ONNX Runtime's start-up needs about 1 KiB of stack per byte of the process's command line, and"
                    + " this one is " + length + " bytes (at most " + (MAX_INIT_STACK >> 10) + " bytes are supported); start Java"
                    + " with a shorter command line (java -jar with a manifest class path, a class path in an @argfile or in"
                    + " the CLASSPATH environment variable), or use engine opencv");
        }
        Object[] result = new Object[1];
        Thread init = new Thread(null, () -> {
            try {
                result[0] = OrtEnvironment.getEnvironment();
            } catch (Throwable t) {
                result[0] = t;
            }
        }, "samplenorm-onnxruntime-init", stack);
        init.setDaemon(true);
        try {
            init.start();
        } catch (OutOfMemoryError e) { // no room for the thread's stack
            throw new SampleNormException(SampleNormException.Code.OUT_OF_MEMORY, "the onnxruntime engine cannot start: no thread"
                    + " with a " + (stack >> 20) + " MiB stack could be created for ONNX Runtime's start-up (" + e.getMessage()
                    + "); use a shorter command line or engine opencv", e);
        }
        boolean interrupted = false;
        while (true) {
            try {
                init.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the start-up cannot be abandoned half-way; finish it, keep the flag
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        if (result[0] instanceof Error e) throw e;
        if (result[0] instanceof RuntimeException e) throw e;
        if (result[0] instanceof Throwable t) throw new IllegalStateException(t);
        environment = (OrtEnvironment) result[0];
        return environment;
    }

    private static long commandLineLength() {
        Path cmdline = Path.of("/proc/self/cmdline");
        try {
            return Files.isReadable(cmdline) ? Files.readAllBytes(cmdline).length : 0;
        } catch (IOException | RuntimeException e) {
            return 0; // no procfs: ONNX Runtime has nothing to parse either
        }
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
