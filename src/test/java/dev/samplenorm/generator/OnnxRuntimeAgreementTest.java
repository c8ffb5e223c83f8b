package dev.samplenorm.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.io.NpyArray;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.ReferenceGenerators;
import dev.samplenorm.onnx.StatisticsRewrite;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.testing.Tensor;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * samplenorm's {@code batch} and {@code sample} modes against ONNX Runtime (CPU), which executes
 * BatchNormalization with {@code training_mode = 1} itself, i.e. with the statistics of the batch
 * it is given: an independent implementation of train-mode BatchNorm on the very same model.
 * ORT gets the training export with its Dropout nodes removed (ORT would draw random masks for a
 * Dropout in training mode; samplenorm runs Dropout as the identity); its BatchNorm nodes stay in
 * training form.
 */
class OnnxRuntimeAgreementTest {

    static final double TOLERANCE = 1e-4;

    static Stream<Named<ModelProto>> models() {
        return Stream.of(Named.of("unet(6, 8, 64)", ReferenceGenerators.unet(6, 8, 64, 11, 14)),
                Named.of("resnet(2, 8, 64)", ReferenceGenerators.resnet(2, 8, 64, 11, 14)),
                Named.of("unet(6, 8, 64) opset 17", ReferenceGenerators.unet(6, 8, 64, 12, 17)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void batchModeMatchesOnnxRuntimeOnTheWholeBatch(ModelProto model) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession ort = ortSession(env, model);
                Generator g = generator(model, StatisticsMode.BATCH)) {
            for (int n : new int[] {1, 4, 2}) {
                float[] x = random(n * 3 * 64 * 64, 100 + n);
                float[] expected = run(env, ort, x, n);
                float[] actual = translate(g, x, n);
                double err = Tensor.relativeL2(actual, expected);
                assertTrue(err <= TOLERANCE, "batch mode, N = " + n + ": relative L2 to ONNX Runtime " + err);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void sampleModeMatchesOnnxRuntimeOneImageAtATime(ModelProto model) throws OrtException {
        int n = 4, image = 3 * 64 * 64;
        float[] x = random(n * image, 7);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession ort = ortSession(env, model);
                Generator g = generator(model, StatisticsMode.SAMPLE)) {
            float[] actual = translate(g, x, n);
            float[] expected = new float[actual.length];
            for (int i = 0; i < n; i++) {
                float[] one = run(env, ort, Arrays.copyOfRange(x, i * image, (i + 1) * image), 1);
                assertEquals(image, one.length);
                System.arraycopy(one, 0, expected, i * image, image);
            }
            double err = Tensor.relativeL2(actual, expected);
            assertTrue(err <= TOLERANCE, "sample mode, N = " + n + ": relative L2 to ONNX Runtime image by image " + err);
            // The reference must tell the modes apart: the whole batch through ORT is batch statistics, not sample.
            double batchVsSample = Tensor.relativeL2(run(env, ort, x, n), expected);
            assertTrue(batchVsSample > 1e-2, "ONNX Runtime's batch and per-image outputs differ by only " + batchVsSample);
        }
    }

    static Generator generator(ModelProto model, StatisticsMode mode) {
        return Generator.load(OnnxModel.of(model), GeneratorOptions.builder().statistics(mode).device(Device.cpu()).build());
    }

    static OrtSession ortSession(OrtEnvironment env, ModelProto model) throws OrtException {
        byte[] bytes = StatisticsRewrite.withoutDropout(OnnxModel.of(model)).toByteArray();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            return env.createSession(bytes, o);
        }
    }

    static float[] run(OrtEnvironment env, OrtSession session, float[] x, int n) throws OrtException {
        long[] shape = {n, 3, 64, 64};
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), shape);
                OrtSession.Result r = session.run(Map.of("input", in), java.util.Set.of("output"))) {
            FloatBuffer out = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] y = new float[out.remaining()];
            out.get(y);
            return y;
        }
    }

    static float[] translate(Generator g, float[] x, int n) {
        try (Mat blob = new Mat(new int[] {n, 3, 64, 64}, opencv_core.CV_32F)) {
            new FloatPointer(blob.data()).put(x);
            try (Mat out = g.translateBlob(blob)) {
                return NpyArray.of(out).floats();
            }
        }
    }

    static float[] random(int length, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[length];
        for (int i = 0; i < length; i++) v[i] = (float) r.nextDouble(-1, 1);
        return v;
    }
}
