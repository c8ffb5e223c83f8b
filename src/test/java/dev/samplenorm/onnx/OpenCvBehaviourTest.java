package dev.samplenorm.onnx;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.testing.Tensor;
import dev.samplenorm.testing.TinyNet;
import dev.samplenorm.testing.TinyNet.BnForm;
import org.bytedeco.opencv.opencv_dnn.Net;
import org.junit.jupiter.api.Test;

/**
 * What OpenCV DNN 4.13 does by itself with training-mode exports: the behaviour the rewrite exists
 * to correct. If one of these starts failing, OpenCV changed and the rewrite should be revisited.
 */
class OpenCvBehaviourTest {

    /** training_mode=1 is ignored: a training-mode export is run with its running statistics. */
    @Test
    void aTrainingModeExportRunsWithRunningStatistics() {
        TinyNet net = TinyNet.builder(14, 3).conv(6, 3, 2, 1, false).batchNorm(BnForm.TRAINING_3).leakyRelu(0.2f).conv(3, 3, 1, 1, false)
                .batchNorm(BnForm.TRAINING_3).tanh().build();
        Tensor x = Tensor.random(4, 3, 10, 14, 3);
        try (Net plain = OpenCvNets.read(net.model())) {
            Tensor y = RewriteAgainstReferenceTest.run(plain, x);
            double toRunning = y.relativeL2(net.reference(x, StatisticsMode.RUNNING));
            double toBatch = y.relativeL2(net.reference(x, StatisticsMode.BATCH));
            assertTrue(toRunning <= 1e-4, "plain OpenCV equals running statistics: " + toRunning);
            assertTrue(toBatch > 0.05, "and is far from batch statistics: " + toBatch);
        }
    }

    /**
     * A BatchNorm fused into a preceding ConvTranspose is applied again each time the network is
     * set up for a new batch size; the rewrite folds such BatchNorms itself for that reason.
     */
    @Test
    void aBatchNormFusedIntoAConvTransposeGoesWrongWhenTheBatchSizeChanges() {
        TinyNet net = TinyNet.builder(14, 3).convTranspose(4, 4, 2, 1, 0, false).batchNorm(BnForm.INFERENCE).relu().build();
        Tensor x1 = Tensor.random(1, 3, 5, 7, 1), x4 = Tensor.random(4, 3, 5, 7, 4);
        try (Net plain = OpenCvNets.read(net.model());
                Net rewritten = OpenCvNets.read(StatisticsRewrite.rewrite(net.model(), StatisticsMode.RUNNING, null))) {
            double first = RewriteAgainstReferenceTest.run(plain, x1).relativeL2(net.reference(x1, StatisticsMode.RUNNING));
            double second = RewriteAgainstReferenceTest.run(plain, x4).relativeL2(net.reference(x4, StatisticsMode.RUNNING));
            assertTrue(first <= 1e-4, "the first batch size is right: " + first);
            assertTrue(second > 0.1, "the second is not: " + second);
            for (Tensor x : new Tensor[] {x1, x4, x1}) {
                double err = RewriteAgainstReferenceTest.run(rewritten, x).relativeL2(net.reference(x, StatisticsMode.RUNNING));
                assertTrue(err <= 1e-4, "the folded rewrite is right at N=" + x.n() + ": " + err);
            }
        }
    }
}
