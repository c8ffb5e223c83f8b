package dev.samplenorm.generator;

import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.Device;
import dev.samplenorm.SampleNormException;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.io.Npy;
import dev.samplenorm.io.NpyArray;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.OpenCvNets;
import dev.samplenorm.onnx.StatisticsRewrite;
import dev.samplenorm.testing.Golden;
import dev.samplenorm.testing.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_dnn.Net;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The bundled trained Pix2Pix generator (a training-mode PyTorch export) against its float64
 * PyTorch goldens, and what plain OpenCV makes of the same export.
 */
class GoldenModelTest {

    @BeforeAll
    static void modelIsThere() {
        assertTrue(Golden.present(), "the bundled model and goldens are missing under " + Golden.MODELS.toAbsolutePath());
    }

    /** On the CPU; the same on CUDA, in fp32 and fp16, is {@code GeneratorCudaTest}. */
    @ParameterizedTest
    @EnumSource(StatisticsMode.class)
    void everyModeMatchesItsGoldenWithOneInstanceAtN141(StatisticsMode mode) throws IOException {
        GeneratorOptions o = GeneratorOptions.builder().statistics(mode).device(Device.cpu()).build();
        try (Generator g = Generator.load(Golden.MODEL, o)) {
            for (int n : new int[] {1, 4, 1}) {
                double err = goldenError(g, mode, n);
                System.out.printf("golden %-7s N=%d on cpu: relative L2 %.2e%n", mode.cliName(), n, err);
                assertTrue(err <= 1e-4, mode.cliName() + " N=" + n + ": relative L2 " + err + " > 1e-4");
            }
        }
    }

    /** Relative L2 distance of the generator's output on the golden input of batch size {@code n} from its float64 golden. */
    static double goldenError(Generator g, StatisticsMode mode, int n) throws IOException {
        try (Mat in = Npy.read(Golden.input(n)).toFloatMat(); Mat out = g.translateBlob(in)) {
            return Tensor.relativeL2(NpyArray.of(out).asDoubles(), Npy.read(Golden.output(mode.cliName(), n)).doubles());
        }
    }

    /** OpenCV 4.13's importer rejects the BOOL constant of the exported Dropout's training_mode input. */
    @Test
    void plainOpenCvCannotImportTheUnmodifiedExport() throws IOException {
        SampleNormException e = assertThrows(SampleNormException.class, () -> OpenCvNets.read(OnnxModel.read(Golden.MODEL)).close());
        assertTrue(e.getMessage().contains("BOOL"), e.getMessage());
    }

    /**
     * Why the rewrite exists: with only the Dropout nodes removed, OpenCV imports the training-mode
     * export without a word and normalizes with the running statistics, not the batch's.
     */
    @Test
    void plainOpenCvSilentlyUsesRunningStatistics() throws IOException {
        OnnxModel minimal = StatisticsRewrite.withoutDropout(OnnxModel.read(Golden.MODEL));
        assertEquals(11, minimal.info().trainingBatchNormCount(), "BatchNorm stays as exported: training_mode=1, 3 outputs");
        for (int n : new int[] {1, 4}) {
            // A fresh network per batch size: see OpenCvBehaviourTest for what a reused one does.
            try (Net net = OpenCvNets.read(minimal); Mat in = Npy.read(Golden.input(n)).toFloatMat()) {
                net.setInput(in);
                double[] y;
                try (Mat out = net.forward()) {
                    y = NpyArray.of(out).asDoubles();
                }
                double toRunning = Tensor.relativeL2(y, Npy.read(Golden.output("running", n)).doubles());
                double toBatch = Tensor.relativeL2(y, Npy.read(Golden.output("batch", n)).doubles());
                System.out.printf("plain OpenCV N=%d: relative L2 %.2e to running, %.2e to batch%n", n, toRunning, toBatch);
                assertTrue(toRunning <= 1e-4, "plain OpenCV equals the running golden: " + toRunning);
                assertTrue(toBatch > 1e-2, "and is far from the batch golden: " + toBatch);
            }
        }
    }

    /** End to end on image files: the sketches as OpenCV reads them (BGR) give the golden's pixels. */
    @Test
    void translatingTheSampleSketchesGivesTheGoldenPixels() throws IOException {
        List<Mat> images = new ArrayList<>();
        for (int i = 1; i <= 4; i++) images.add(imread(Golden.MODELS.resolve("samples/sketch_0" + i + ".png").toString(), IMREAD_COLOR));
        try (Generator g = Generator.load(Golden.MODEL, GeneratorOptions.builder().device(Device.cpu()).build())) {
            assertEquals(StatisticsMode.SAMPLE, g.statistics());
            List<Mat> out = g.translate(images);
            double[] golden = Npy.read(Golden.output("sample", 4)).doubles();
            int hw = 128 * 128;
            for (int i = 0; i < 4; i++) {
                int[] px = GeneratorTest.bytes(out.get(i));
                int worst = 0;
                for (int c = 0; c < 3; c++) {
                    for (int k = 0; k < hw; k++) {
                        long e = Math.max(0, Math.min(255, Math.round((golden[(i * 3 + c) * hw + k] + 1) * 127.5)));
                        worst = Math.max(worst, (int) Math.abs(e - px[k * 3 + (2 - c)]));
                    }
                }
                assertTrue(worst <= 1, "sketch " + (i + 1) + ": a pixel is " + worst + " levels from the golden");
            }
            GeneratorTest.close(out);
        } finally {
            GeneratorTest.close(images);
        }
    }
}
