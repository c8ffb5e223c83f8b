package dev.samplenorm.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.StatisticsRewrite;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Set;

/**
 * A generator run by ONNX Runtime (CPU, default session options: all graph optimizations, one
 * intra-op thread per physical core), the yardstick for samplenorm's OpenCV path. ORT executes
 * BatchNormalization with {@code training_mode = 1} with the statistics of the batch it is given,
 * so the training export runs as it is, with one change: Dropout nodes are removed, as samplenorm
 * removes them (ORT would draw random masks for a Dropout in training mode).
 */
final class OnnxRuntimeGenerator implements AutoCloseable {

    private static final String INPUT = "input", OUTPUT = "output";

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    OnnxRuntimeGenerator(OnnxModel trainingExport) throws OrtException {
        this(trainingExport, null);
    }

    /** @param profilePrefix where ORT writes its per-node profile (JSON), or null for none */
    OnnxRuntimeGenerator(OnnxModel trainingExport, String profilePrefix) throws OrtException {
        byte[] bytes = StatisticsRewrite.withoutDropout(trainingExport).toByteArray();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            if (profilePrefix != null) o.enableProfiling(profilePrefix);
            session = env.createSession(bytes, o);
        }
    }

    /** A tensor over {@code data} (no copy) for {@link #run(OnnxTensor)}. */
    OnnxTensor tensor(float[] data, int n, int c, int h, int w) throws OrtException {
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(data), new long[] {n, c, h, w});
    }

    /** Runs the network; the result (native memory) belongs to the caller. */
    OrtSession.Result run(OnnxTensor input) throws OrtException {
        return session.run(Map.of(INPUT, input), Set.of(OUTPUT));
    }

    /** Runs the network on an NCHW float array and returns the output as a new array. */
    float[] run(float[] x, int n, int c, int h, int w) throws OrtException {
        try (OnnxTensor in = tensor(x, n, c, h, w); OrtSession.Result r = run(in)) {
            return output(r);
        }
    }

    static float[] output(OrtSession.Result r) throws OrtException {
        FloatBuffer out = ((OnnxTensor) r.get(0)).getFloatBuffer();
        float[] y = new float[out.remaining()];
        out.get(y);
        return y;
    }

    /** Ends profiling and returns the profile file's path. */
    String endProfiling() throws OrtException {
        return session.endProfiling();
    }

    /** 8-bit BGR HWC pixels to a float RGB CHW image with p / 127.5 - 1. */
    static void bgrToModel(byte[] bgr, float[] chw, int h, int w) {
        int plane = h * w;
        for (int p = 0; p < plane; p++) {
            int b = bgr[3 * p] & 0xff, g = bgr[3 * p + 1] & 0xff, r = bgr[3 * p + 2] & 0xff;
            chw[p] = r / 127.5f - 1f;
            chw[plane + p] = g / 127.5f - 1f;
            chw[2 * plane + p] = b / 127.5f - 1f;
        }
    }

    /** The inverse of {@link #bgrToModel}: (v + 1) * 127.5, rounded and saturated, RGB CHW to BGR HWC. */
    static void modelToBgr(float[] chw, byte[] bgr, int h, int w) {
        int plane = h * w;
        for (int p = 0; p < plane; p++) {
            bgr[3 * p] = toByte(chw[2 * plane + p]);
            bgr[3 * p + 1] = toByte(chw[plane + p]);
            bgr[3 * p + 2] = toByte(chw[p]);
        }
    }

    private static byte toByte(float v) {
        int q = Math.round((v + 1f) * 127.5f);
        return (byte) Math.max(0, Math.min(255, q));
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
