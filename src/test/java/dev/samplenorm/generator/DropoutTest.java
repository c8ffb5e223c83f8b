package dev.samplenorm.generator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.OpenCvShapes;
import dev.samplenorm.onnx.ReferenceGenerators;
import dev.samplenorm.onnx.StatisticsRewrite;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.testing.Tensor;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Test-time dropout on a unet_128-shaped U-Net (two Dropout nodes). Agreement with PyTorch's
 * train-mode forward under the same masks is checked by tools/test_pix2pix_export.py, which
 * reproduces the mask stream in Python.
 */
class DropoutTest {

    private static final OnnxModel UNET = OnnxModel.of(ReferenceGenerators.unet(7, 4, 128, 11, 14));

    private static GeneratorOptions options(StatisticsMode mode, Long seed) {
        GeneratorOptions.Builder b = GeneratorOptions.builder().statistics(mode).device(Device.cpu());
        if (seed != null) b.dropout(seed);
        return b.build();
    }

    /** Two forward passes of the same input through one generator. */
    private static Tensor[] twoPasses(StatisticsMode mode, Long seed, Tensor x) {
        try (Generator g = Generator.load(UNET, options(mode, seed)); Mat in = x.toMat();
             Mat a = g.translateBlob(in); Mat b = g.translateBlob(in)) {
            return new Tensor[] {Tensor.of(a), Tensor.of(b)};
        }
    }

    @ParameterizedTest
    @EnumSource(StatisticsMode.class)
    void sameSeedSameSequenceOtherSeedOtherOutput(StatisticsMode mode) {
        Tensor x = Tensor.random(2, 3, 128, 128, 5);
        Tensor[] first = twoPasses(mode, 42L, x);
        Tensor[] again = twoPasses(mode, 42L, x);
        Tensor[] other = twoPasses(mode, 43L, x);
        Tensor[] off = twoPasses(mode, null, x);
        assertArrayEquals(first[0].data(), again[0].data());
        assertArrayEquals(first[1].data(), again[1].data());
        // Under running statistics the random weights damp what dropout changes, so any difference counts:
        // the runs themselves are bit-for-bit deterministic.
        assertFalse(Arrays.equals(first[1].data(), first[0].data()), "each pass draws fresh masks");
        assertFalse(Arrays.equals(other[0].data(), first[0].data()), "another seed gives other masks");
        assertFalse(Arrays.equals(first[0].data(), off[0].data()), "dropout on changes the output");
        if (mode.usesBatchStatisticsInside()) assertTrue(first[0].relativeL2(off[0]) > 1e-3, "dropout on changes the output");
        assertArrayEquals(off[0].data(), off[1].data(), "dropout off is deterministic");
    }

    @Test
    void rewriteTurnsEachDropoutIntoMulByAMaskInput() {
        StatisticsRewrite.WithDropoutMasks r = StatisticsRewrite.rewriteWithDropoutMasks(UNET, StatisticsMode.BATCH,
                OpenCvShapes.atInput(1, 3, 128, 128));
        assertEquals(2, r.masks().size());
        for (StatisticsRewrite.DropoutMask m : r.masks()) {
            assertEquals(0.5f, m.ratio());
            assertEquals(4, m.shape().length);
            assertEquals(1, m.shape()[0]);
        }
        // the innermost Dropout first (graph order): 4x4 maps of ngf*8 = 32 channels, then 8x8
        assertArrayEquals(new int[] {1, 32, 4, 4}, r.masks().get(0).shape());
        assertArrayEquals(new int[] {1, 32, 8, 8}, r.masks().get(1).shape());
        long dropouts = r.model().proto().getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Dropout")).count();
        assertEquals(0, dropouts);
        List<String> mulInputs = r.model().proto().getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Mul"))
                .map(n -> n.getInput(1)).toList();
        assertEquals(List.of(r.masks().get(0).input(), r.masks().get(1).input()), mulInputs);
        assertEquals(3, r.model().proto().getGraph().getInputList().stream()
                .filter(v -> r.model().proto().getGraph().getInitializerList().stream().noneMatch(t -> t.getName().equals(v.getName())))
                .count(), "the data input and one input per mask");
        for (NodeProto n : r.model().proto().getGraph().getNodeList()) {
            assertTrue(!n.getName().contains("dropout_probe"), "no probe node is left: " + n.getName());
        }
    }

    @Test
    void maskStreamIsSplitMix64() {
        DropoutMasks s = new DropoutMasks(0);
        assertEquals(0xE220A8397B1DCDAFL, s.nextLong()); // SplitMix64's first output for seed 0
        StatisticsRewrite.DropoutMask spec = new StatisticsRewrite.DropoutMask("m", new int[] {1, 4, 16, 16}, 0.25f);
        try (Mat m = new DropoutMasks(9).next(spec, 3)) {
            Tensor t = Tensor.of(m);
            assertEquals(3 * 4 * 16 * 16, t.data().length);
            int zeros = 0;
            for (double v : t.data()) {
                assertTrue(v == 0.0 || Math.abs(v - 1.0 / 0.75) < 1e-6, "mask value " + v);
                if (v == 0.0) zeros++;
            }
            assertEquals(0.25, zeros / (double) t.data().length, 0.04);
        }
    }

    @Test
    void modelWithoutDropoutRunsAsWithDropoutOff() {
        OnnxModel plain = StatisticsRewrite.withoutDropout(UNET);
        Tensor x = Tensor.random(1, 3, 128, 128, 8);
        try (Generator on = Generator.load(plain, options(StatisticsMode.SAMPLE, 1L));
             Generator off = Generator.load(UNET, options(StatisticsMode.SAMPLE, null));
             Mat in = x.toMat(); Mat a = on.translateBlob(in); Mat b = off.translateBlob(in)) {
            assertArrayEquals(Tensor.of(b).data(), Tensor.of(a).data());
        }
    }

    @Test
    void optionsSayWhetherDropoutIsOn() {
        assertTrue(GeneratorOptions.defaults().dropoutSeed().isEmpty());
        GeneratorOptions o = GeneratorOptions.builder().dropout(-3).build();
        assertEquals(-3, o.dropoutSeed().getAsLong());
        assertTrue(o.toBuilder().build().dropoutSeed().isPresent());
        assertTrue(o.toBuilder().noDropout().build().dropoutSeed().isEmpty());
        assertTrue(o.toString().contains("dropout=seed -3"));
    }
}
