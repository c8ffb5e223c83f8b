package dev.samplenorm.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.Device;
import dev.samplenorm.Precision;
import dev.samplenorm.SampleNormException;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.ReferenceGenerators;
import dev.samplenorm.testing.Tensor;
import dev.samplenorm.testing.TinyNet;
import dev.samplenorm.testing.TinyNet.BnForm;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The OpenCV and ONNX Runtime engines behind one {@link Generator} API: the same rewritten model,
 * pre- and post-processing and dropout masks give outputs within 1e-5 relative L2 of each other in
 * every statistics mode, at N = 1 and N > 1, at fixed and odd symbolic sizes.
 */
class EngineAgreementTest {

    static final double TOLERANCE = 1e-5;

    private static final OnnxModel BUNDLED = OnnxModel.fromResource(OnnxModel.BUNDLED_RESOURCE);
    private static final OnnxModel UNET = OnnxModel.of(ReferenceGenerators.unet(6, 8, 64, 11, 14));
    private static final OnnxModel UNET_OPSET11_DROPOUT = OnnxModel.of(ReferenceGenerators.unet(7, 4, 128, 11, 11));
    /** Symbolic H and W, a stride-2 convolution and its transposed convolution with output_padding. */
    private static final OnnxModel ODD = TinyNet.builder(17, 3).conv(6, 3, 2, 1, false).batchNorm(BnForm.TRAINING_3).leakyRelu(0.2f)
            .convTranspose(3, 3, 2, 1, 1, true).batchNorm(BnForm.TRAINING_3).tanh().build().model();

    static GeneratorOptions.Builder options(StatisticsMode mode, Engine engine) {
        return GeneratorOptions.builder().statistics(mode).device(Device.cpu()).engine(engine);
    }

    /** The same blob through both engines: {OpenCV output, ONNX Runtime output}. */
    static Tensor[] both(OnnxModel model, GeneratorOptions.Builder options, Tensor x) {
        Tensor[] out = new Tensor[2];
        Engine[] engines = {Engine.OPENCV, Engine.ONNXRUNTIME};
        for (int i = 0; i < 2; i++) {
            try (Generator g = Generator.load(model, options.engine(engines[i]).build()); Mat in = x.toMat(); Mat y = g.translateBlob(in)) {
                assertEquals(engines[i], g.engine());
                out[i] = Tensor.of(y);
            }
        }
        return out;
    }

    static Stream<Arguments> modelsModesAndBatchSizes() {
        List<Arguments> cases = new ArrayList<>();
        for (Named<OnnxModel> m : List.of(Named.of("bundled pix2pix_shapes_128", BUNDLED), Named.of("unet(6, 8, 64)", UNET))) {
            for (StatisticsMode mode : StatisticsMode.values()) {
                for (int n : new int[] {1, 3}) cases.add(Arguments.of(m, mode, n));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, {1}, N = {2}")
    @MethodSource("modelsModesAndBatchSizes")
    void bothEnginesAgreeInEveryMode(OnnxModel model, StatisticsMode mode, int n) {
        int size = (int) model.info().input().dim(2);
        Tensor x = Tensor.random(n, 3, size, size, 100 + n);
        Tensor[] y = both(model, options(mode, Engine.OPENCV), x);
        double err = y[1].relativeL2(y[0]);
        assertTrue(err <= TOLERANCE, mode.cliName() + ", N = " + n + ": ONNX Runtime vs OpenCV relative L2 " + err);
    }

    /** Exporters may list weights (initializers) as graph inputs, also before the data input. */
    @Test
    void aWeightListedAsTheFirstGraphInputIsNotTakenForTheDataInput() {
        dev.samplenorm.onnx.proto.Onnx.ModelProto proto = UNET.proto();
        dev.samplenorm.onnx.proto.Onnx.TensorProto w = proto.getGraph().getInitializer(0);
        dev.samplenorm.onnx.proto.Onnx.TypeProto.Tensor.Builder type = dev.samplenorm.onnx.proto.Onnx.TypeProto.Tensor.newBuilder()
                .setElemType(w.getDataType());
        for (long d : w.getDimsList()) type.getShapeBuilder().addDimBuilder().setDimValue(d);
        dev.samplenorm.onnx.proto.Onnx.ModelProto.Builder b = proto.toBuilder();
        b.getGraphBuilder().addInput(0, dev.samplenorm.onnx.proto.Onnx.ValueInfoProto.newBuilder().setName(w.getName())
                .setType(dev.samplenorm.onnx.proto.Onnx.TypeProto.newBuilder().setTensorType(type)));
        OnnxModel model = OnnxModel.of(b.build());
        assertEquals(w.getName(), model.proto().getGraph().getInput(0).getName());
        int size = (int) UNET.info().input().dim(2);
        Tensor x = Tensor.random(2, 3, size, size, 77);
        Tensor[] y = both(model, options(StatisticsMode.SAMPLE, Engine.OPENCV), x);
        Tensor[] plain = both(UNET, options(StatisticsMode.SAMPLE, Engine.OPENCV), x);
        assertTrue(y[1].relativeL2(plain[1]) <= TOLERANCE, "ONNX Runtime: " + y[1].relativeL2(plain[1]));
        assertTrue(y[1].relativeL2(y[0]) <= TOLERANCE, "ONNX Runtime vs OpenCV: " + y[1].relativeL2(y[0]));
    }

    /**
     * On the bundled model's golden sketches the engines differ by up to 3.3e-5 (batch, N = 4): that is
     * OpenCV's own float32 error against the float64 PyTorch golden, which ONNX Runtime stays 50x below.
     */
    @ParameterizedTest
    @EnumSource(StatisticsMode.class)
    void onnxRuntimeMatchesThePyTorchGoldensToOneMillionth(StatisticsMode mode) throws java.io.IOException {
        try (Generator g = Generator.load(BUNDLED, options(mode, Engine.ONNXRUNTIME).build())) {
            for (int n : new int[] {1, 4, 1}) {
                double err = GoldenModelTest.goldenError(g, mode, n);
                System.out.printf("golden %-7s N=%d on onnxruntime: relative L2 %.2e%n", mode.cliName(), n, err);
                assertTrue(err <= 1e-6, mode.cliName() + " N=" + n + ": relative L2 " + err + " > 1e-6");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(StatisticsMode.class)
    void bothEnginesAgreeAtOddSymbolicSizesAndAfterSizeChanges(StatisticsMode mode) {
        try (Generator cv = Generator.load(ODD, options(mode, Engine.OPENCV).build());
                Generator ort = Generator.load(ODD, options(mode, Engine.ONNXRUNTIME).build())) {
            // More sizes than the network cache holds, and a size seen again after eviction.
            int[][] shapes = {{1, 33, 47}, {3, 17, 9}, {2, 5, 7}, {1, 64, 31}, {4, 9, 11}, {2, 33, 47}};
            for (int[] s : shapes) {
                Tensor x = Tensor.random(s[0], 3, s[1], s[2], s[1] * 100L + s[2]);
                try (Mat in = x.toMat(); Mat a = cv.translateBlob(in); Mat b = ort.translateBlob(in)) {
                    Tensor ta = Tensor.of(a), tb = Tensor.of(b);
                    assertEquals(ta.h(), tb.h());
                    assertEquals(ta.w(), tb.w());
                    double err = tb.relativeL2(ta);
                    assertTrue(err <= TOLERANCE, mode.cliName() + " at " + java.util.Arrays.toString(s) + ": relative L2 " + err);
                }
            }
        }
    }

    /**
     * ONNX Runtime runs strided ConvTranspose layers in the sub-pixel form by default on the CPU too
     * (measured faster there, as on OpenCV): AUTO gives the same bits as SUB_PIXEL, a result that
     * differs in rounding from the form as exported (so the rewrite did apply) and agrees with it,
     * with output_padding, at odd symbolic sizes and with dropout.
     */
    @ParameterizedTest
    @EnumSource(StatisticsMode.class)
    void onnxRuntimeRunsConvTransposeInSubPixelFormByDefaultAndAgreesWithTheFormAsExported(StatisticsMode mode) {
        record Case(OnnxModel model, Tensor x, boolean dropout) {}
        List<Case> cases = List.of(new Case(ODD, Tensor.random(3, 3, 33, 47, 21), false),
                new Case(UNET, Tensor.random(2, 3, 64, 64, 22), false),
                new Case(UNET_OPSET11_DROPOUT, Tensor.random(2, 3, 128, 128, 23), true));
        for (Case c : cases) {
            Tensor[] y = new Tensor[3];
            GeneratorOptions.ConvTransposeForm[] forms = GeneratorOptions.ConvTransposeForm.values();
            for (int i = 0; i < forms.length; i++) {
                GeneratorOptions.Builder o = options(mode, Engine.ONNXRUNTIME).convTranspose(forms[i]);
                if (c.dropout()) o.dropout(42);
                try (Generator g = Generator.load(c.model(), o.build()); Mat in = c.x().toMat(); Mat out = g.translateBlob(in)) {
                    y[forms[i].ordinal()] = Tensor.of(out);
                }
            }
            Tensor auto = y[GeneratorOptions.ConvTransposeForm.AUTO.ordinal()];
            Tensor subPixel = y[GeneratorOptions.ConvTransposeForm.SUB_PIXEL.ordinal()];
            Tensor exported = y[GeneratorOptions.ConvTransposeForm.AS_EXPORTED.ordinal()];
            String what = mode.cliName() + " on " + c.model().info().summary();
            assertTrue(java.util.Arrays.equals(auto.data(), subPixel.data()), what + ": AUTO should run the sub-pixel form on the CPU");
            assertFalse(java.util.Arrays.equals(subPixel.data(), exported.data()), what + ": the sub-pixel form was not applied");
            double err = subPixel.relativeL2(exported);
            assertTrue(err <= TOLERANCE, what + ": sub-pixel vs as exported on ONNX Runtime, relative L2 " + err);
        }
    }

    @Test
    void sampleModeRunsEachImageWithItsOwnStatisticsInOneOnnxRuntimeCall() {
        Tensor x = Tensor.random(4, 3, 64, 64, 3);
        try (Generator g = Generator.load(UNET, options(StatisticsMode.SAMPLE, Engine.ONNXRUNTIME).build());
                Mat all = x.toMat(); Mat out = g.translateBlob(all); Mat firstOnly = x.head(1).toMat();
                Mat one = g.translateBlob(firstOnly)) {
            Tensor whole = Tensor.of(out), single = Tensor.of(one);
            double err = whole.head(1).relativeL2(single);
            assertTrue(err <= 1e-6, "image 0 alone vs in a batch of 4: relative L2 " + err);
        }
        // ... while batch mode on the same engine does depend on the rest of the batch.
        try (Generator g = Generator.load(UNET, options(StatisticsMode.BATCH, Engine.ONNXRUNTIME).build());
                Mat all = x.toMat(); Mat out = g.translateBlob(all); Mat firstOnly = x.head(1).toMat();
                Mat one = g.translateBlob(firstOnly)) {
            assertTrue(Tensor.of(out).head(1).relativeL2(Tensor.of(one)) > 1e-3, "batch statistics should pool the batch");
        }
    }

    @ParameterizedTest
    @EnumSource(StatisticsMode.class)
    void testTimeDropoutDrawsTheSameMasksOnBothEngines(StatisticsMode mode) {
        Tensor x = Tensor.random(2, 3, 128, 128, 9);
        Tensor[] y = both(UNET_OPSET11_DROPOUT, options(mode, Engine.OPENCV).dropout(42), x);
        double err = y[1].relativeL2(y[0]);
        assertTrue(err <= TOLERANCE, mode.cliName() + " with dropout seed 42: relative L2 " + err);
        Tensor[] off = both(UNET_OPSET11_DROPOUT, options(mode, Engine.OPENCV), x);
        assertFalse(java.util.Arrays.equals(off[1].data(), y[1].data()), "dropout on must change the ONNX Runtime output");
    }

    @Test
    void imagesInAndOutAgreeToOneGreyLevel() {
        List<Mat> images = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 3; i++) {
            Mat m = new Mat(100, 140, opencv_core.CV_8UC3); // resized to the model's 128 x 128 and back
            byte[] px = new byte[100 * 140 * 3];
            for (int k = 0; k < px.length; k++) px[k] = (byte) r.nextInt(256);
            m.data().put(px);
            images.add(m);
        }
        try (Generator cv = Generator.load(BUNDLED, options(StatisticsMode.BATCH, Engine.OPENCV).build());
                Generator ort = Generator.load(BUNDLED, options(StatisticsMode.BATCH, Engine.ONNXRUNTIME).build())) {
            List<Mat> a = cv.translate(images), b = ort.translate(images);
            for (int i = 0; i < images.size(); i++) {
                try (Mat ai = a.get(i); Mat bi = b.get(i); Mat diff = new Mat()) {
                    assertEquals(ai.rows(), bi.rows());
                    assertEquals(ai.cols(), bi.cols());
                    opencv_core.absdiff(ai, bi, diff);
                    try (Mat flat = diff.reshape(1)) {
                        double[] max = new double[1];
                        opencv_core.minMaxLoc(flat, null, max, null, null, null);
                        assertTrue(max[0] <= 1, "image " + i + ": 8-bit outputs differ by " + max[0] + " grey levels");
                    }
                }
            }
        } finally {
            for (Mat m : images) m.close();
        }
    }

    // ---------------------------------------------------------------------------------- choice and errors

    @Test
    void autoPicksOnnxRuntimeOnTheCpuWhenItIsOnTheClassPathAndSaysSo() {
        assertTrue(Engine.ONNXRUNTIME.isAvailable(), "the test class path holds ONNX Runtime");
        assertEquals(Engine.ONNXRUNTIME, Engine.autoFor(Device.cpu()));
        assertEquals(Engine.OPENCV, Engine.autoFor(Device.cuda(0)));
        try (Generator g = Generator.load(UNET, options(StatisticsMode.SAMPLE, Engine.AUTO).build())) {
            assertEquals(Engine.ONNXRUNTIME, g.engine());
            assertTrue(g.toString().contains("onnxruntime"), g.toString());
        }
    }

    @Test
    void onnxRuntimeWithDeviceAutoRunsOnTheCpu() {
        GeneratorOptions o = GeneratorOptions.builder().engine("onnxruntime").build();
        try (Generator g = Generator.load(UNET, o)) {
            assertEquals(Device.cpu(), g.device());
            assertEquals(Engine.ONNXRUNTIME, g.engine());
        }
    }

    @Test
    void theDefaultEngineIsOpenCv() {
        assertEquals(Engine.OPENCV, GeneratorOptions.defaults().engine());
        try (Generator g = Generator.load(UNET, GeneratorOptions.builder().device(Device.cpu()).build())) {
            assertEquals(Engine.OPENCV, g.engine());
        }
    }

    @Test
    void anUnknownEngineNameIsRefusedNamingTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GeneratorOptions.builder().engine("tensorrt"));
        assertTrue(e.getMessage().contains("'tensorrt'") && e.getMessage().contains("auto, opencv, onnxruntime"), e.getMessage());
        assertEquals(Engine.ONNXRUNTIME, Engine.parse(" OnnxRuntime "));
    }

    @Test
    void onnxRuntimeOnACudaDeviceOrInFp16IsRefused() {
        IllegalArgumentException cuda = assertThrows(IllegalArgumentException.class,
                () -> GeneratorOptions.builder().engine(Engine.ONNXRUNTIME).device(Device.cuda(0)).build());
        assertTrue(cuda.getMessage().contains("CPU only") && cuda.getMessage().contains("cuda:0"), cuda.getMessage());
        IllegalArgumentException fp16 = assertThrows(IllegalArgumentException.class,
                () -> GeneratorOptions.builder().engine(Engine.ONNXRUNTIME).precision(Precision.FP16).build());
        assertTrue(fp16.getMessage().contains("fp32"), fp16.getMessage());
    }

    @Test
    void closingReleasesTheSessionsOnceAndLaterCallsFail() {
        Generator g = Generator.load(ODD, options(StatisticsMode.BATCH, Engine.ONNXRUNTIME).build());
        try (Mat in = Tensor.random(2, 3, 9, 9, 1).toMat()) {
            g.translateBlob(in).close();
            g.close();
            g.close();
            assertTrue(g.isClosed());
            assertThrows(IllegalStateException.class, () -> g.translateBlob(in));
        }
    }
}
