package dev.samplenorm.generator;

import dev.samplenorm.testing.LogCapture;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_AREA;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_LINEAR;
import static org.bytedeco.opencv.global.opencv_imgproc.resize;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.Device;
import dev.samplenorm.Precision;
import dev.samplenorm.SampleNormException;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.environment.Environment;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.testing.Tensor;
import dev.samplenorm.testing.TinyNet;
import dev.samplenorm.testing.TinyNet.BnForm;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The Generator facade on tiny models whose exact output is known from a double-precision reference. */
class GeneratorTest {

    static final int H = 12, W = 16;

    /** A small U-Net-like generator with a fixed 12 x 16 input, training-mode BatchNorm and Dropout. */
    static TinyNet unet(int opset) {
        return TinyNet.builder(opset, 3).inputSize(H, W).conv(6, 3, 2, 1, false).batchNorm(opset >= 14 ? BnForm.TRAINING_3 : BnForm.TRAINING_5)
                .leakyRelu(0.2f).dropout().convTranspose(4, 4, 2, 1, 0, false).batchNorm(opset >= 14 ? BnForm.TRAINING_3 : BnForm.TRAINING_5)
                .relu().conv(3, 3, 1, 1, true).tanh().build();
    }

    /** Same layers, H and W left symbolic. */
    static TinyNet dynamicUnet() {
        return TinyNet.builder(17, 3).conv(6, 3, 2, 1, false).batchNorm(BnForm.TRAINING_3).leakyRelu(0.2f).dropout()
                .convTranspose(4, 4, 2, 1, 0, false).batchNorm(BnForm.TRAINING_3).relu().conv(3, 3, 1, 1, true).tanh().build();
    }

    static GeneratorOptions cpu(StatisticsMode mode) {
        return GeneratorOptions.builder().statistics(mode).device(Device.cpu()).build();
    }

    // ------------------------------------------------------------------------------------------ modes

    @ParameterizedTest
    @EnumSource(StatisticsMode.class)
    void everyModeMatchesTheReferenceWithOneInstanceAtN141(StatisticsMode mode) {
        for (TinyNet net : List.of(unet(11), unet(14), dynamicUnet())) {
            try (Generator g = Generator.load(net.model(), cpu(mode))) {
                assertEquals(Device.cpu(), g.device());
                for (int n : new int[] {1, 4, 1}) {
                    Tensor x = Tensor.random(n, 3, H, W, 100 + n);
                    try (Mat in = x.toMat(); Mat out = g.translateBlob(in)) {
                        double err = Tensor.of(out).relativeL2(net.reference(x, mode));
                        assertTrue(err <= 1e-4, mode + " N=" + n + ": relative L2 " + err);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------ PointerScope

    @ParameterizedTest
    @EnumSource(StatisticsMode.class)
    void networksSurviveACallersPointerScopeAroundLoadAndTheFirstCallAtANewSize(StatisticsMode mode) {
        TinyNet fixed = unet(14), dynamic = dynamicUnet();
        Tensor x = Tensor.random(2, 3, H, W, 77), y = Tensor.random(2, 3, 8, 20, 78);
        Generator g1, g2;
        try (PointerScope scope = new PointerScope()) {
            g1 = Generator.load(fixed.model(), cpu(mode));    // the fixed-size network is built here
            g2 = Generator.load(dynamic.model(), cpu(mode));
            try (Mat in = y.toMat(); Mat out = g2.translateBlob(in)) {   // a new size: its network is built here
                assertTrue(Tensor.of(out).relativeL2(dynamic.reference(y, mode)) <= 1e-4);
            }
        }
        try (g1; g2) {
            for (int round = 0; round < 2; round++) {
                try (Mat in = x.toMat(); Mat out = g1.translateBlob(in)) {
                    assertTrue(Tensor.of(out).relativeL2(fixed.reference(x, mode)) <= 1e-4, mode + ": fixed-size model after the scope");
                }
                try (Mat in = y.toMat(); Mat out = g2.translateBlob(in)) {
                    assertTrue(Tensor.of(out).relativeL2(dynamic.reference(y, mode)) <= 1e-4, mode + ": cached size after the scope");
                }
            }
            List<Mat> images = randomImages(2, H, W, 9);
            try (PointerScope scope = new PointerScope()) {
                g1.translate(images).forEach(Mat::close);
            }
            List<Mat> again = g1.translate(images);
            assertEquals(2, again.size());
            again.forEach(Mat::close);
            images.forEach(Mat::close);
        }
        assertTrue(g1.isClosed() && g2.isClosed());
        assertThrows(IllegalStateException.class, () -> g1.translateBlob(new Mat()));
    }

    // ------------------------------------------------------------------------------------------ precision

    @Test
    void fp16OnTheCpuIsRefusedWithAClearMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GeneratorOptions.builder().device(Device.cpu()).precision(Precision.FP16).build());
        assertTrue(e.getMessage().contains("precision fp16 runs only on a CUDA device"), e.getMessage());
        // auto resolves at load: without a usable CUDA device fp16 fails there, naming why.
        Assumptions.assumeFalse(Environment.current().cudaUsable(), "CUDA is usable here: fp16 under auto runs");
        GeneratorOptions auto = GeneratorOptions.builder().precision(Precision.FP16).build();
        SampleNormException s = assertThrows(SampleNormException.class, () -> Generator.load(unet(14).model(), auto));
        assertEquals(SampleNormException.Code.NO_CUDA_DEVICE, s.code());
        assertTrue(s.getMessage().startsWith("precision fp16 needs a CUDA device but "), s.getMessage());
    }

    @Test
    void fp16RefusesTheModesItIsNotAccurateEnoughFor() {
        for (StatisticsMode mode : StatisticsMode.values()) {
            GeneratorOptions.Builder b = GeneratorOptions.builder().statistics(mode).device(Device.cuda()).precision(Precision.FP16);
            if (GeneratorOptions.FP16_REFUSED.contains(mode)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
                assertTrue(e.getMessage().contains("not offered for statistics mode " + mode.cliName()), e.getMessage());
            } else {
                assertEquals(Precision.FP16, b.build().precision());
            }
        }
    }

    @Test
    void inputModeUsesTheConfiguredEps() {
        TinyNet net = unet(14);
        Tensor x = Tensor.random(2, 3, H, W, 5);
        try (Generator g = Generator.load(net.model(), GeneratorOptions.builder().statistics(StatisticsMode.INPUT).device(Device.cpu())
                .eps(0.5).build()); Mat in = x.toMat(); Mat out = g.translateBlob(in)) {
            Tensor y = Tensor.of(out);
            assertTrue(y.relativeL2(net.reference(x, StatisticsMode.INPUT, 0.5)) <= 1e-4);
            assertTrue(y.relativeL2(net.reference(x, StatisticsMode.INPUT, 1e-5)) > 1e-3, "eps 0.5 must change the result");
        }
    }

    @Test
    void aSymbolicSizeModelRunsAtEachSizeIncludingNonSquare() {
        TinyNet net = dynamicUnet();
        try (Generator g = Generator.load(net.model(), cpu(StatisticsMode.BATCH))) {
            int[][] sizes = {{8, 8}, {12, 20}, {20, 12}, {8, 8}, {4, 28}, {6, 10}};
            for (int[] s : sizes) {
                Tensor x = Tensor.random(3, 3, s[0], s[1], s[0] * 31 + s[1]);
                try (Mat in = x.toMat(); Mat out = g.translateBlob(in)) {
                    double err = Tensor.of(out).relativeL2(net.reference(x, StatisticsMode.BATCH));
                    assertTrue(err <= 1e-4, s[0] + "x" + s[1] + ": " + err);
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------ images

    @ParameterizedTest
    @EnumSource(StatisticsMode.class)
    void translateMapsBgrPixelsThroughTheRgbModel(StatisticsMode mode) {
        TinyNet net = unet(14);
        List<Mat> images = randomImages(3, H, W, 42);
        try (Generator g = Generator.load(net.model(), cpu(mode))) {
            List<Mat> out = g.translate(images);
            try {
                assertEquals(3, out.size());
                int[][] expected = expectedPixels(net, images, mode);
                for (int i = 0; i < 3; i++) {
                    assertEquals(CV_8UC3, out.get(i).type());
                    assertEquals(H, out.get(i).rows());
                    assertEquals(W, out.get(i).cols());
                    assertPixelsClose(expected[i], bytes(out.get(i)), 1, mode + " image " + i);
                }
            } finally {
                close(out);
            }
        } finally {
            close(images);
        }
    }

    @Test
    void swapRBFalseFeedsTheChannelsAsTheyAre() {
        TinyNet net = unet(14);
        List<Mat> images = randomImages(2, H, W, 7);
        GeneratorOptions o = GeneratorOptions.builder().statistics(StatisticsMode.SAMPLE).device(Device.cpu()).swapRB(false).build();
        try (Generator g = Generator.load(net.model(), o)) {
            List<Mat> out = g.translate(images);
            int[][] expected = expectedPixels(net, images, StatisticsMode.SAMPLE, false);
            for (int i = 0; i < 2; i++) assertPixelsClose(expected[i], bytes(out.get(i)), 1, "image " + i);
            close(out);
        } finally {
            close(images);
        }
    }

    @Test
    void imagesOfAnotherSizeAreResizedAndTheirOutputsResizedBack() {
        TinyNet net = unet(14);
        List<Mat> big = randomImages(2, 2 * H, 2 * W, 9);
        List<Mat> small = new ArrayList<>();
        for (Mat m : big) {
            Mat s = new Mat();
            resize(m, s, new Size(W, H), 0, 0, INTER_AREA);
            small.add(s);
        }
        try (Generator g = Generator.load(net.model(), cpu(StatisticsMode.BATCH))) {
            List<Mat> out = g.translate(big);
            int[][] atModelSize = expectedPixels(net, small, StatisticsMode.BATCH);
            for (int i = 0; i < 2; i++) {
                assertEquals(2 * H, out.get(i).rows());
                assertEquals(2 * W, out.get(i).cols());
                try (Mat e = toImage(atModelSize[i], H, W); Mat up = new Mat()) {
                    resize(e, up, new Size(2 * W, 2 * H), 0, 0, INTER_LINEAR);
                    assertPixelsClose(bytes(up), bytes(out.get(i)), 2, "image " + i);
                }
            }
            close(out);
        } finally {
            close(big);
            close(small);
        }
    }

    @Test
    void theRejectPolicyRefusesOtherSizes() {
        List<Mat> images = randomImages(1, H + 1, W, 3);
        GeneratorOptions o = GeneratorOptions.builder().device(Device.cpu()).resize(ResizePolicy.REJECT).build();
        try (Generator g = Generator.load(unet(14).model(), o)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.translate(images));
            assertTrue(e.getMessage().contains("image 0 is 16x13, expected 16x12"), e.getMessage());
        } finally {
            close(images);
        }
    }

    @Test
    void aSymbolicSizeModelNeedsOneSizePerBatch() {
        List<Mat> images = new ArrayList<>(randomImages(1, 8, 8, 1));
        images.addAll(randomImages(1, 8, 12, 2));
        try (Generator g = Generator.load(dynamicUnet().model(), cpu(StatisticsMode.SAMPLE))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.translate(images));
            assertTrue(e.getMessage().contains("the model has no fixed size"), e.getMessage());
            List<Mat> out = g.translate(images.subList(1, 2));
            assertEquals(8, out.get(0).rows());
            assertEquals(12, out.get(0).cols());
            close(out);
        } finally {
            close(images);
        }
    }

    @Test
    void translateNeedsAThreeChannelModelInput() {
        TinyNet gray = TinyNet.builder(15, 1).inputSize(H, W).conv(1, 3, 1, 1, false).batchNorm(BnForm.TRAINING_3).tanh().build();
        List<Mat> images = randomImages(1, H, W, 4);
        try (Generator g = Generator.load(gray.model(), cpu(StatisticsMode.SAMPLE))) {
            SampleNormException e = assertThrows(SampleNormException.class, () -> g.translate(images));
            assertEquals(SampleNormException.Code.MODEL, e.code());
            assertTrue(e.getMessage().contains("has 1 channels (expected NCHW with C = 3)"), e.getMessage());
        } finally {
            close(images);
        }
    }

    @Test
    void onlyEightBitBgrImagesAreTaken() {
        try (Generator g = Generator.load(unet(14).model(), cpu(StatisticsMode.SAMPLE)); Mat gray = new Mat(H, W, CV_8UC1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.translate(List.of(gray)));
            assertTrue(e.getMessage().contains("CV_8UC3"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> g.translate(List.of()));
        }
    }

    // ------------------------------------------------------------------------------------------ validation and life cycle

    @Test
    void blobsOfTheWrongShapeAreRefused() {
        try (Generator g = Generator.load(unet(14).model(), cpu(StatisticsMode.BATCH))) {
            try (Mat wrongSize = Tensor.random(1, 3, H, W + 2, 1).toMat()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.translateBlob(wrongSize));
                assertTrue(e.getMessage().contains("expected shape [N, 3, 12, 16]"), e.getMessage());
            }
            try (Mat twoD = new Mat(H, W, org.bytedeco.opencv.global.opencv_core.CV_32F)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.translateBlob(twoD));
                assertTrue(e.getMessage().contains("4-D float32 NCHW"), e.getMessage());
            }
        }
    }

    @Test
    void closeIsIdempotentAndLaterCallsFail() {
        Generator g = Generator.load(unet(14).model(), cpu(StatisticsMode.SAMPLE));
        g.close();
        g.close();
        assertTrue(g.isClosed());
        try (Mat x = Tensor.random(1, 3, H, W, 1).toMat()) {
            assertThrows(IllegalStateException.class, () -> g.translateBlob(x));
        }
        assertThrows(IllegalStateException.class, () -> g.translate(List.of()));
    }

    @Test
    void concurrentCallsOnOneInstanceAreSerialized() throws Exception {
        TinyNet net = unet(14);
        try (Generator g = Generator.load(net.model(), cpu(StatisticsMode.BATCH))) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Double>> results = new ArrayList<>();
                for (int t = 0; t < 16; t++) {
                    int n = 1 + t % 4;
                    results.add(pool.submit(() -> {
                        Tensor x = Tensor.random(n, 3, H, W, 1000 + n);
                        try (Mat in = x.toMat(); Mat out = g.translateBlob(in)) {
                            return Tensor.of(out).relativeL2(net.reference(x, StatisticsMode.BATCH));
                        }
                    }));
                }
                for (Future<Double> f : results) assertTrue(f.get() <= 1e-4, "relative L2 " + f.get());
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void autoUsesTheCpuWhereCudaIsNotUsable() {
        Assumptions.assumeFalse(Environment.current().cudaUsable(), "CUDA is usable here");
        try (Generator g = Generator.load(unet(14).model(), GeneratorOptions.defaults())) {
            assertSame(Device.cpu(), g.device());
        }
    }

    @Test
    void cudaWithoutAUsableDeviceIsAClearError() {
        Assumptions.assumeFalse(Environment.current().cudaUsable(), "CUDA is usable here");
        GeneratorOptions o = GeneratorOptions.builder().device("cuda").build();
        SampleNormException e = assertThrows(SampleNormException.class, () -> Generator.load(unet(14).model(), o));
        assertEquals(SampleNormException.Code.NO_CUDA_DEVICE, e.code());
        assertTrue(e.getMessage().startsWith("device cuda:0 was requested but "), e.getMessage());
    }

    @Test
    void aModelWithoutBatchNormWarnsAndRuns() {
        TinyNet plain = TinyNet.builder(14, 3).inputSize(H, W).conv(4, 3, 2, 1, true).leakyRelu(0.2f).convTranspose(3, 4, 2, 1, 0, true)
                .tanh().build();
        List<LogRecord> records = LogCapture.of(Generator.class, () -> {
            try (Generator g = Generator.load(plain.model(), cpu(StatisticsMode.BATCH))) {
                Tensor x = Tensor.random(2, 3, H, W, 8);
                try (Mat in = x.toMat(); Mat out = g.translateBlob(in)) {
                    assertTrue(Tensor.of(out).relativeL2(plain.reference(x, StatisticsMode.RUNNING)) <= 1e-4);
                }
            }
        });
        assertTrue(records.stream().anyMatch(r -> r.getLevel() == Level.WARNING && r.getMessage().contains("nothing to rewrite")),
                "a warning says there is nothing to do");
        assertTrue(records.stream().anyMatch(r -> r.getLevel() == Level.WARNING && r.getMessage().contains("exported in eval mode")),
                "a warning suspects an eval-mode export");
        assertTrue(records.stream().anyMatch(r -> r.getMessage().contains("device cpu")), "the device is logged");
    }

    @Test
    void inputModeNeedsAsManyOutputAsInputChannels() {
        TinyNet toGray = TinyNet.builder(14, 3).inputSize(H, W).conv(2, 3, 1, 1, false).batchNorm(BnForm.TRAINING_3).relu()
                .conv(1, 3, 1, 1, true).build();
        ModelProto p = toGray.proto();
        // Declare the output's channel count, as exporters do.
        ModelProto declared = p.toBuilder().setGraph(p.getGraph().toBuilder().setOutput(0, TinyNet.valueInfo("output", 1, H, W))).build();
        SampleNormException e = assertThrows(SampleNormException.class,
                () -> Generator.load(dev.samplenorm.onnx.OnnxModel.of(declared), cpu(StatisticsMode.INPUT)));
        assertTrue(e.getMessage().contains("maps 3 to 1"), e.getMessage());
    }

    @Test
    void aModelWithTwoInputsIsRefused() {
        ModelProto p = unet(14).proto();
        ModelProto two = p.toBuilder().setGraph(p.getGraph().toBuilder().addInput(TinyNet.valueInfo("mask", 1, H, W))).build();
        SampleNormException e = assertThrows(SampleNormException.class,
                () -> Generator.load(dev.samplenorm.onnx.OnnxModel.of(two), cpu(StatisticsMode.SAMPLE)));
        assertTrue(e.getMessage().contains("exactly one data input"), e.getMessage());
    }

    @Test
    void optionsHaveTheDocumentedDefaults() {
        GeneratorOptions o = GeneratorOptions.defaults();
        assertEquals(StatisticsMode.SAMPLE, o.statistics());
        assertEquals(Device.auto(), o.device());
        assertEquals(Precision.FP32, o.precision());
        assertEquals(1e-5, o.eps());
        assertTrue(o.swapRB());
        assertEquals(ResizePolicy.RESIZE, o.resize());
        assertThrows(IllegalArgumentException.class, () -> GeneratorOptions.builder().eps(0));
        assertEquals(Device.cuda(1), GeneratorOptions.builder().device("cuda:1").build().device());
        assertEquals(Device.auto(), GeneratorOptions.builder().device("cpu").device("auto").build().device());
    }

    // ------------------------------------------------------------------------------------------ helpers

    static List<Mat> randomImages(int n, int h, int w, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Mat> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Mat m = new Mat(h, w, CV_8UC3);
            BytePointer p = m.data();
            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int j = 0; j < 3; j++) {
                // Channel-dependent ranges, so a channel mix-up shows.
                p.put(m.step() * y + 3L * x + j, (byte) r.nextInt(40 * j, 256 - 30 * j));
            }
            out.add(m);
        }
        return out;
    }

    static int[][] expectedPixels(TinyNet net, List<Mat> images, StatisticsMode mode) {
        return expectedPixels(net, images, mode, true);
    }

    /** The reference output of 8-bit BGR images as 8-bit BGR pixels (HWC order). */
    static int[][] expectedPixels(TinyNet net, List<Mat> images, StatisticsMode mode, boolean swapRB) {
        int n = images.size(), h = images.get(0).rows(), w = images.get(0).cols();
        Tensor x = Tensor.zeros(n, 3, h, w);
        for (int i = 0; i < n; i++) {
            int[] px = bytes(images.get(i));
            for (int c = 0; c < 3; c++) {
                int j = swapRB ? 2 - c : c;
                for (int k = 0; k < h * w; k++) x.data()[(i * 3 + c) * h * w + k] = px[k * 3 + j] / 127.5 - 1;
            }
        }
        Tensor y = net.reference(x, mode);
        int[][] out = new int[n][h * w * 3];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                int j = swapRB ? 2 - c : c;
                for (int k = 0; k < h * w; k++) {
                    long v = Math.round((y.data()[(i * 3 + c) * h * w + k] + 1) * 127.5);
                    out[i][k * 3 + j] = (int) Math.max(0, Math.min(255, v));
                }
            }
        }
        return out;
    }

    /** HWC pixels of an 8-bit image. */
    static int[] bytes(Mat m) {
        int cn = m.channels();
        int[] v = new int[m.rows() * m.cols() * cn];
        for (int y = 0; y < m.rows(); y++) {
            BytePointer row = m.ptr(y);
            for (int k = 0; k < m.cols() * cn; k++) v[y * m.cols() * cn + k] = row.get(k) & 0xff;
        }
        return v;
    }

    static Mat toImage(int[] hwc, int h, int w) {
        Mat m = new Mat(h, w, CV_8UC3);
        for (int y = 0; y < h; y++) {
            BytePointer row = m.ptr(y);
            for (int k = 0; k < w * 3; k++) row.put(k, (byte) hwc[y * w * 3 + k]);
        }
        return m;
    }

    static void assertPixelsClose(int[] expected, int[] actual, int tolerance, String what) {
        assertEquals(expected.length, actual.length, what + ": size");
        int worst = 0, at = -1;
        for (int i = 0; i < expected.length; i++) {
            int d = Math.abs(expected[i] - actual[i]);
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        assertTrue(worst <= tolerance, what + ": pixel value " + at + " is " + actual[Math.max(at, 0)] + ", expected "
                + expected[Math.max(at, 0)] + " (tolerance " + tolerance + ")");
    }

    static void close(List<Mat> mats) {
        for (Mat m : mats) m.close();
    }
}
