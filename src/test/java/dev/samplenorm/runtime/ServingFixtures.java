package dev.samplenorm.runtime;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.ReferenceGenerators;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.TensorShapeProto;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;

/** Models, images and comparisons shared by the runtime and server tests. */
public final class ServingFixtures {

    /** The bundled 128 x 128 model, as the CLI packages it. */
    public static final String BUNDLED_MODEL = OnnxModel.BUNDLED_RESOURCE;

    private ServingFixtures() {}

    public static OnnxModel bundled() {
        return OnnxModel.fromResource(BUNDLED_MODEL);
    }

    /**
     * A small U-Net whose input leaves H and W open: 32 x 32 runs, while 4 x 4 fails inside OpenCV (five
     * stride-2 convolutions shrink it below one pixel).
     */
    public static OnnxModel symbolicUnet() {
        ModelProto p = ReferenceGenerators.unet(5, 2, 32, 7, 17);
        ModelProto.Builder b = p.toBuilder();
        for (var io : List.of(b.getGraphBuilder().getInputBuilder(0), b.getGraphBuilder().getOutputBuilder(0))) {
            TensorShapeProto.Builder shape = io.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
            shape.setDim(2, TensorShapeProto.Dimension.newBuilder().setDimParam("H"));
            shape.setDim(3, TensorShapeProto.Dimension.newBuilder().setDimParam("W"));
        }
        return OnnxModel.of(b.build());
    }

    /** A seeded random 8-bit BGR image. */
    public static Mat image(int width, int height, long seed) {
        Mat m = new Mat(height, width, CV_8UC3);
        byte[] bytes = new byte[width * height * 3];
        new SplittableRandom(seed).nextBytes(bytes);
        m.data().put(bytes);
        return m;
    }

    /** A seeded random float blob in [-1, 1]. */
    public static Mat blob(int n, int c, int h, int w, long seed) {
        Mat m = new Mat(new int[] {n, c, h, w}, CV_32F);
        float[] v = new float[n * c * h * w];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        new FloatPointer(m.data()).put(v);
        return m;
    }

    public static float[] floats(Mat m) {
        long count = m.total() * m.channels();
        float[] v = new float[(int) count];
        new FloatPointer(m.data()).get(v);
        return v;
    }

    public static byte[] bytes(Mat m) {
        byte[] v = new byte[(int) (m.total() * m.channels())];
        m.data().get(v);
        return v;
    }

    /** {@code ||a - b|| / ||b||}. */
    public static double relativeL2(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        double d = 0, n = 0;
        for (int i = 0; i < a.length; i++) {
            d += (double) (a[i] - b[i]) * (a[i] - b[i]);
            n += (double) b[i] * b[i];
        }
        return Math.sqrt(d / n);
    }

    /** A slice [from, from + count) of a blob along N, as a new blob. */
    public static float[] slice(float[] blob, int from, int count, int perImage) {
        float[] out = new float[count * perImage];
        System.arraycopy(blob, from * perImage, out, 0, out.length);
        return out;
    }

    /** Records what a service reports. */
    public static final class Recorder implements ServiceMetrics {
        public final List<Integer> batchSizes = new ArrayList<>();
        public int accepted, rejected, succeeded, failed, timedOut, cancelled;

        @Override
        public synchronized void requestAccepted() {
            accepted++;
        }

        @Override
        public synchronized void requestRejected() {
            rejected++;
        }

        @Override
        public synchronized void requestSucceeded(long latencyNanos) {
            succeeded++;
        }

        @Override
        public synchronized void requestFailed(long latencyNanos) {
            failed++;
        }

        @Override
        public synchronized void requestTimedOut() {
            timedOut++;
        }

        @Override
        public synchronized void requestCancelled() {
            cancelled++;
        }

        @Override
        public synchronized void batchComputed(int batchSize, long computeNanos) {
            batchSizes.add(batchSize);
        }

        public synchronized List<Integer> batchSizes() {
            return List.copyOf(batchSizes);
        }
    }
}
