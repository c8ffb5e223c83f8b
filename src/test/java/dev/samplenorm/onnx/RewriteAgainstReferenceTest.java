package dev.samplenorm.onnx;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.testing.Tensor;
import dev.samplenorm.testing.TinyNet;
import dev.samplenorm.testing.TinyNet.BnForm;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_dnn.Net;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Rewritten tiny models run by OpenCV DNN (CPU, {@code readNetFromONNX} from bytes) against an
 * independent double-precision forward pass of the same network. One imported network serves
 * N = 1, 4, 1, so nothing may depend on the batch size it first ran with.
 */
class RewriteAgainstReferenceTest {

    static final double TOLERANCE = 1e-4;
    static final int[] BATCHES = {1, 4, 1};

    record Case(String name, TinyNet net, int c, int h, int w) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (int opset : new int[] {9, 11, 13, 14, 15, 17}) {
            List<BnForm> forms = opset >= 14 ? List.of(BnForm.TRAINING_3, BnForm.INFERENCE)
                    : List.of(BnForm.TRAINING_5, BnForm.TRAINING_3, BnForm.INFERENCE);
            for (BnForm form : forms) {
                // Non-square, a strided Conv and a ConvTranspose back, Dropout in between.
                cases.add(new Case("unet opset " + opset + " " + form, StatisticsRewriteTest.unet(opset, form), 3, 10, 14));
            }
        }
        // One channel everywhere: BatchNorm with C = 1.
        cases.add(new Case("C=1 opset 15", TinyNet.builder(15, 1).conv(1, 3, 1, 1, false).batchNorm(BnForm.TRAINING_3).relu()
                .conv(1, 3, 1, 1, true).tanh().build(), 1, 7, 5));
        // ConvTranspose with output_padding and bias, a non-default BatchNorm eps, tall input.
        cases.add(new Case("output_padding opset 11", TinyNet.builder(11, 3).conv(5, 3, 2, 1, true).batchNorm(BnForm.TRAINING_5, 1e-3f)
                .relu().dropout().convTranspose(3, 3, 2, 1, 1, true).batchNorm(BnForm.TRAINING_5, 1e-3f).relu().build(), 3, 12, 6));
        // Dynamic H and W in the model input.
        cases.add(new Case("symbolic H W opset 17", TinyNet.builder(17, 3).conv(4, 3, 1, 1, false).batchNorm(BnForm.TRAINING_3)
                .leakyRelu(0.2f).conv(3, 3, 1, 1, false).batchNorm(BnForm.TRAINING_3).tanh().build(), 3, 9, 11));
        return cases;
    }

    static Stream<Arguments> casesAndModes() {
        return withGraphModes(cases());
    }

    /** Each case with each mode the graph rewrite decides alone ({@code input} only adds pre/post-processing). */
    static Stream<Arguments> withGraphModes(List<Case> cases) {
        List<Arguments> a = new ArrayList<>();
        for (Case c : cases) {
            for (StatisticsMode m : new StatisticsMode[] {StatisticsMode.SAMPLE, StatisticsMode.BATCH, StatisticsMode.RUNNING}) {
                a.add(Arguments.of(c, m));
            }
        }
        return a.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("casesAndModes")
    void rewrittenModelMatchesTheReference(Case c, StatisticsMode mode) {
        OnnxModel rewritten = StatisticsRewrite.rewrite(c.net().model(), mode, OpenCvShapes.atInput(1, c.c(), c.h(), c.w()));
        try (Net net = OpenCvNets.read(rewritten)) {
            for (int n : BATCHES) {
                Tensor x = Tensor.random(n, c.c(), c.h(), c.w(), 17 + n);
                Tensor y = run(net, x);
                double err = y.relativeL2(c.net().reference(x, mode));
                assertTrue(err <= TOLERANCE, c + " " + mode + " N=" + n + ": relative L2 " + err);
            }
        }
    }

    /** The reference itself must tell the modes apart, or the comparisons above prove little. */
    @Test
    void theModesGiveDifferentOutputs() {
        for (Case c : cases()) {
            Tensor x = Tensor.random(4, c.c(), c.h(), c.w(), 21);
            Tensor batch = c.net().reference(x, StatisticsMode.BATCH);
            for (StatisticsMode other : new StatisticsMode[] {StatisticsMode.SAMPLE, StatisticsMode.RUNNING, StatisticsMode.INPUT}) {
                double d = c.net().reference(x, other).relativeL2(batch);
                assertTrue(d > 1e-2, c + ": " + other + " is only " + d + " away from batch");
            }
        }
    }

    static Tensor run(Net net, Tensor x) {
        try (Mat in = x.toMat()) {
            net.setInput(in);
            try (Mat out = net.forward()) {
                return Tensor.of(out);
            }
        }
    }
}
