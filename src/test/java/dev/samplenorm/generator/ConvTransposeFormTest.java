package dev.samplenorm.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.GeneratorOptions.ConvTransposeForm;
import dev.samplenorm.testing.LogCapture;
import dev.samplenorm.testing.Tensor;
import dev.samplenorm.testing.TinyNet;
import dev.samplenorm.testing.TinyNet.BnForm;
import java.util.List;
import java.util.logging.LogRecord;
import java.util.stream.Stream;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The ConvTranspose form through the whole Generator, in every statistics mode (the input mode's
 * normalization included): the sub-pixel form lands on the float64 reference as the exported form
 * does, and within float rounding of it (bounds as in {@code ConvTransposeRewriteTest}), on both CPU
 * engines (OpenCV DNN and ONNX Runtime).
 */
class ConvTransposeFormTest {

    /** A small U-Net-like path: down by a strided Conv, up by Pix2Pix's ConvTranspose(4, 2, 1), and one with output_padding. */
    static TinyNet net() {
        return TinyNet.builder(14, 3).conv(6, 4, 2, 1, false).batchNorm(BnForm.TRAINING_3).leakyRelu(0.2f)
                .convTranspose(5, 4, 2, 1, 0, false).batchNorm(BnForm.TRAINING_3).relu().conv(4, 3, 2, 1, true).batchNorm(BnForm.TRAINING_3)
                .relu().convTranspose(3, 3, 2, 1, 1, true).tanh().build();
    }

    static GeneratorOptions cpu(StatisticsMode mode, ConvTransposeForm form) {
        return cpu(mode, form, Engine.OPENCV);
    }

    static GeneratorOptions cpu(StatisticsMode mode, ConvTransposeForm form, Engine engine) {
        return GeneratorOptions.builder().statistics(mode).device(Device.cpu()).engine(engine).convTranspose(form).build();
    }

    static Stream<Arguments> modesAndEngines() {
        return Stream.of(StatisticsMode.values()).flatMap(m -> Stream.of(Arguments.of(m, Engine.OPENCV), Arguments.of(m, Engine.ONNXRUNTIME)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("modesAndEngines")
    void theSubPixelFormGivesTheExportedFormsOutputInEveryMode(StatisticsMode mode, Engine engine) {
        TinyNet net = net();
        try (Generator sub = Generator.load(net.model(), cpu(mode, ConvTransposeForm.SUB_PIXEL, engine));
                Generator exported = Generator.load(net.model(), cpu(mode, ConvTransposeForm.AS_EXPORTED, engine))) {
            // Odd and even sizes, N = 1 and 4, one network per size reused across batch sizes.
            int[][] shapes = {{1, 12, 16}, {4, 12, 16}, {1, 9, 13}, {4, 9, 13}, {1, 12, 16}};
            for (int[] sh : shapes) {
                Tensor x = Tensor.random(sh[0], 3, sh[1], sh[2], 5 + sh[0] + sh[1]);
                try (Mat in = x.toMat(); Mat a = sub.translateBlob(in); Mat b = exported.translateBlob(in)) {
                    Tensor ya = Tensor.of(a), yb = Tensor.of(b), ref = net.reference(x, mode);
                    assertEquals(ref.h(), ya.h());
                    assertEquals(ref.w(), ya.w());
                    String at = mode + " on " + engine.cliName() + " " + sh[0] + "x3x" + sh[1] + "x" + sh[2];
                    assertTrue(ya.relativeL2(ref) <= 1e-4, at + ": sub-pixel vs float64 " + ya.relativeL2(ref));
                    assertTrue(yb.relativeL2(ref) <= 1e-4, at + ": as exported vs float64 " + yb.relativeL2(ref));
                    assertTrue(ya.relativeL2(yb) <= 1e-5, at + ": sub-pixel vs as exported " + ya.relativeL2(yb));
                }
            }
        }
    }

    @Test
    void autoUsesTheSubPixelFormOnTheCpuOnly() {
        assertTrue(ConvTransposeForm.AUTO.subPixelOn(Device.cpu()));
        assertFalse(ConvTransposeForm.AUTO.subPixelOn(Device.cuda(0)));
        assertTrue(ConvTransposeForm.SUB_PIXEL.subPixelOn(Device.cuda(0)));
        assertFalse(ConvTransposeForm.AS_EXPORTED.subPixelOn(Device.cpu()));
        assertEquals(ConvTransposeForm.AUTO, GeneratorOptions.defaults().convTranspose());
        assertThrows(NullPointerException.class, () -> GeneratorOptions.builder().convTranspose(null));

        List<LogRecord> records = LogCapture.of(Generator.class, () -> {
            try (Generator g = Generator.load(net().model(), GeneratorOptions.builder().device(Device.cpu()).build())) {
                assertEquals(ConvTransposeForm.AUTO, g.options().convTranspose());
            }
        });
        assertTrue(records.stream().anyMatch(r -> r.getMessage().contains("sub-pixel form")), "the generator says it uses it");
        List<LogRecord> ort = LogCapture.of(Generator.class, () -> {
            try (Generator g = Generator.load(net().model(), GeneratorOptions.builder().engine(Engine.ONNXRUNTIME).build())) {
                assertEquals(Engine.ONNXRUNTIME, g.engine());
            }
        });
        assertTrue(ort.stream().anyMatch(r -> r.getMessage().contains("engine onnxruntime")
                && r.getMessage().contains("sub-pixel form")), "the onnxruntime engine says it uses it too");
    }
}
