package dev.samplenorm.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.io.NpyArray;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;

class ReferenceGeneratorsTest {

    static long parameters(ModelProto m, String prefix) {
        long total = 0;
        for (TensorProto t : m.getGraph().getInitializerList()) {
            if (!t.getName().startsWith(prefix)) continue;
            long n = 1;
            for (long d : t.getDimsList()) n *= d;
            total += n;
        }
        return total;
    }

    @Test
    void unet256HasTheReferenceSizeAndStructure() {
        ModelProto m = ReferenceGenerators.unet(8, 64, 256, 1, 14);
        ModelInfo info = OnnxModel.of(m).info();
        assertEquals(13, info.batchNormCount());
        assertEquals(13, info.trainingBatchNormCount());
        assertEquals(3, info.dropoutCount());
        long params = parameters(m, "conv_") + parameters(m, "deconv_") + parameters(m, "bn_scale") + parameters(m, "bn_bias");
        // pytorch-CycleGAN-and-pix2pix reports 54.414 M parameters for unet_256.
        assertEquals(54_414_000, params, 1_000);
    }

    @Test
    void resnet9BlocksHasTheReferenceStructure() {
        ModelInfo info = OnnxModel.of(ReferenceGenerators.resnet(9, 64, 256, 1, 14)).info();
        // 1 + 2 down + 9 * 2 + 2 up BatchNorms, no Dropout.
        assertEquals(23, info.batchNormCount());
        assertEquals(0, info.dropoutCount());
        assertEquals(Integer.valueOf(9), info.operatorCounts().get("Add"));
    }

    @Test
    void smallVariantsRunInEveryModeAndOpset() {
        for (int opset : new int[] {9, 11, 13, 14, 17}) {
            for (ModelProto m : new ModelProto[] {ReferenceGenerators.unet(5, 4, 32, 3, opset), ReferenceGenerators.resnet(2, 4, 32, 3, opset)}) {
                float[] previous = null;
                for (StatisticsMode mode : StatisticsMode.values()) {
                    try (Generator g = Generator.load(OnnxModel.of(m),
                            GeneratorOptions.builder().statistics(mode).device(Device.cpu()).build());
                            Mat in = randomBlob(2, 32); Mat out = g.translateBlob(in)) {
                        float[] y = NpyArray.of(out).floats();
                        for (float v : y) assertTrue(Float.isFinite(v) && Math.abs(v) <= 1f, "Tanh output in [-1, 1]");
                        if (previous != null && mode != StatisticsMode.BATCH) {
                            assertTrue(distance(previous, y) > 1e-6, "modes give different outputs (" + mode + ", opset " + opset + ")");
                        }
                        previous = y;
                    }
                }
            }
        }
    }

    static Mat randomBlob(int n, int size) {
        Mat m = new Mat(new int[] {n, 3, size, size}, opencv_core.CV_32F);
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        float[] v = new float[n * 3 * size * size];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextDouble(-1, 1);
        new FloatPointer(m.data()).put(v);
        return m;
    }

    static double distance(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (a[i] - b[i]) * (double) (a[i] - b[i]);
        return Math.sqrt(s / a.length);
    }
}
