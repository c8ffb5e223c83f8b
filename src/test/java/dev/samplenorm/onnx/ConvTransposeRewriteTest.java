package dev.samplenorm.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.onnx.RewriteAgainstReferenceTest.Case;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.testing.Tensor;
import dev.samplenorm.testing.TinyNet;
import dev.samplenorm.testing.TinyNet.BnForm;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.opencv.opencv_dnn.Net;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The sub-pixel form of ConvTranspose, run by OpenCV DNN (CPU) after the statistics rewrite, against
 * the double-precision forward pass of the same network. One imported network serves N = 1, 4, 1.
 *
 * <p>Tolerance: the rewrite only reorders weights, so it changes nothing but the order of float32
 * sums. The whole-network bound of {@link RewriteAgainstReferenceTest} (1e-4 relative L2 against
 * float64, what float32 accumulation over these depths gives) applies unchanged, and the rewritten
 * network must land within {@link #AGAINST_PLAIN} of the network without the rewrite: float32
 * rounding of sums over at most a few hundred terms, a few units of 2^-24 each, amplified by the
 * normalizations of these small nets.
 */
class ConvTransposeRewriteTest {

    static final double AGAINST_PLAIN = 1e-5;
    static final int[] BATCHES = RewriteAgainstReferenceTest.BATCHES;

    /** ConvTranspose (out, k, s, p, output_padding, bias) between BatchNorms, as in a U-Net's up path. */
    static Case upsampling(int opset, int k, int s, int p, int op, boolean bias, int h, int w) {
        BnForm form = opset >= 14 ? BnForm.TRAINING_3 : BnForm.TRAINING_5;
        TinyNet net = TinyNet.builder(opset, 3).conv(5, 3, 2, 1, false).batchNorm(form).leakyRelu(0.2f)
                .convTranspose(4, k, s, p, op, bias).batchNorm(form).relu().conv(3, 3, 1, 1, true).tanh().build();
        return new Case("k" + k + " s" + s + " p" + p + " op" + op + (bias ? " bias" : "") + " opset " + opset + " " + h + "x" + w,
                net, 3, h, w);
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        // Pix2Pix's up-sampling: kernel 4, stride 2, pad 1; odd and even, square and not.
        cases.add(upsampling(14, 4, 2, 1, 0, false, 16, 16));
        cases.add(upsampling(14, 4, 2, 1, 0, true, 9, 13));
        cases.add(upsampling(11, 4, 2, 1, 0, false, 7, 5));
        cases.add(upsampling(9, 4, 2, 1, 0, true, 10, 6));
        // output_padding, kernels that stride does not divide, no pad, pad beyond the stride.
        cases.add(upsampling(17, 3, 2, 1, 1, true, 11, 7));
        cases.add(upsampling(13, 3, 2, 0, 1, false, 6, 9));
        cases.add(upsampling(15, 2, 2, 0, 0, true, 5, 5));
        cases.add(upsampling(15, 4, 4, 0, 0, true, 5, 6));
        cases.add(upsampling(15, 4, 4, 2, 0, true, 5, 6));
        cases.add(upsampling(15, 4, 4, 0, 3, true, 5, 6));
        cases.add(upsampling(15, 5, 2, 2, 1, false, 9, 8));
        cases.add(upsampling(15, 5, 3, 1, 2, true, 7, 10));
        cases.add(upsampling(9, 3, 3, 0, 0, false, 6, 6));
        cases.add(upsampling(14, 6, 2, 3, 0, true, 8, 11));
        cases.add(upsampling(14, 4, 4, 2, 3, true, 5, 6));
        cases.add(upsampling(14, 1, 2, 0, 1, true, 5, 7));
        // Per output phase with output_padding: kernel 8, stride 4, pad 1, output_padding 2.
        cases.add(upsampling(15, 8, 4, 1, 2, true, 7, 10));
        return cases;
    }

    static Stream<Arguments> casesAndModes() {
        return RewriteAgainstReferenceTest.withGraphModes(cases());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("casesAndModes")
    void theSubPixelFormMatchesTheReferenceAndThePlainNetwork(Case c, StatisticsMode mode) {
        OnnxModel plain = StatisticsRewrite.rewrite(c.net().model(), mode, OpenCvShapes.atInput(1, c.c(), c.h(), c.w()));
        OnnxModel subPixel = ConvTransposeRewrite.rewrite(plain);
        assertEquals(0, count(subPixel, "ConvTranspose"), c + ": every ConvTranspose is rewritten");
        try (Net a = OpenCvNets.read(plain); Net b = OpenCvNets.read(subPixel)) {
            for (int n : BATCHES) {
                Tensor x = Tensor.random(n, c.c(), c.h(), c.w(), 31 + n);
                Tensor ya = RewriteAgainstReferenceTest.run(a, x), yb = RewriteAgainstReferenceTest.run(b, x);
                Tensor ref = c.net().reference(x, mode);
                assertEquals(ref.h(), yb.h(), c + ": output height");
                assertEquals(ref.w(), yb.w(), c + ": output width");
                double toRef = yb.relativeL2(ref), toPlain = yb.relativeL2(ya);
                assertTrue(toRef <= RewriteAgainstReferenceTest.TOLERANCE, c + " " + mode + " N=" + n + ": relative L2 to float64 " + toRef + " (plain: " + ya.relativeL2(ref) + ", to plain " + toPlain + ")");
                assertTrue(toPlain <= AGAINST_PLAIN, c + " " + mode + " N=" + n + ": relative L2 to the plain network " + toPlain);
            }
        }
    }

    /** A case's network rewritten for a mode, and its ConvTranspose's input shape. */
    record Plain(OnnxModel model, Map<String, int[]> convTransposeInputs) {}

    /**
     * The case's network with the statistics rewrite only; the ConvTranspose input shapes come from the
     * statistics rewrite's own probe where it has one ({@link OpenCvShapes#alsoAt}), else from a probe of their own.
     */
    static Plain plain(Case c, StatisticsMode mode) {
        OpenCvShapes shapes = OpenCvShapes.atInput(1, c.c(), c.h(), c.w()).alsoAt(n -> n.getOpType().equals("ConvTranspose"));
        OnnxModel plain = StatisticsRewrite.rewrite(c.net().model(), mode, shapes);
        Map<String, int[]> inputs = mode.usesBatchStatisticsInside() ? shapes.alsoFound()
                : OpenCvShapes.atInput(1, c.c(), c.h(), c.w()).inputShapes(plain.proto(), n -> n.getOpType().equals("ConvTranspose"));
        return new Plain(plain, inputs);
    }

    /** {@code y} has the reference's size, is within the float64 tolerance of it and within {@link #AGAINST_PLAIN} of the plain network. */
    static void assertMatchesReferenceAndPlain(Tensor y, Tensor ref, Tensor plain, String at) {
        assertEquals(ref.h(), y.h(), at + ": output height");
        assertEquals(ref.w(), y.w(), at + ": output width");
        assertTrue(y.relativeL2(ref) <= RewriteAgainstReferenceTest.TOLERANCE, at + ": relative L2 to float64 " + y.relativeL2(ref));
        assertTrue(y.relativeL2(plain) <= AGAINST_PLAIN, at + ": relative L2 to the plain network " + y.relativeL2(plain));
    }

    /**
     * The Transpose interleave (input shapes known) against the DepthToSpace form, the float64
     * reference and the plain network, in every mode; the shapes come from the statistics rewrite's
     * own probe where it has one ({@link OpenCvShapes#alsoAt}), else from a probe of their own.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("casesAndModes")
    void theTransposeInterleaveGivesTheDepthToSpaceFormsOutput(Case c, StatisticsMode mode) {
        Plain pl = plain(c, mode);
        OnnxModel plain = pl.model();
        Map<String, int[]> inputs = pl.convTransposeInputs();
        assertEquals(1, inputs.size(), c + ": the ConvTranspose's input shape is found");
        OnnxModel transposes = ConvTransposeRewrite.rewrite(plain, inputs), depthToSpace = ConvTransposeRewrite.rewrite(plain);
        assertEquals(0, count(transposes, "ConvTranspose"));
        assertEquals(0, count(transposes, "DepthToSpace"));
        assertEquals(2, count(transposes, "Transpose") - count(plain, "Transpose"));
        try (Net a = OpenCvNets.read(plain); Net b = OpenCvNets.read(transposes); Net d = OpenCvNets.read(depthToSpace)) {
            for (int n : BATCHES) {
                Tensor x = Tensor.random(n, c.c(), c.h(), c.w(), 37 + n);
                Tensor ya = RewriteAgainstReferenceTest.run(a, x), yb = RewriteAgainstReferenceTest.run(b, x), yd = RewriteAgainstReferenceTest.run(d, x);
                String at = c + " " + mode + " N=" + n;
                assertMatchesReferenceAndPlain(yb, c.net().reference(x, mode), ya, at);
                // Same sums, other output-channel order of the Conv: equal up to float rounding, in practice bit for bit.
                assertTrue(yb.relativeL2(yd) <= 1e-6, at + ": relative L2 to the DepthToSpace form " + yb.relativeL2(yd));
            }
        }
    }

    /**
     * One Conv per output phase (where the kernel and the output size are multiples of the stride)
     * against the float64 reference, the plain network and the single-Conv Transpose form, in every mode.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("casesAndModes")
    void thePerPhaseFormMatchesTheReferenceAndTheSingleConvForm(Case c, StatisticsMode mode) {
        Plain pl = plain(c, mode);
        OnnxModel plain = pl.model();
        Map<String, int[]> inputs = pl.convTransposeInputs();
        OnnxModel perPhase = ConvTransposeRewrite.rewrite(plain, inputs, 0, Long.MAX_VALUE), single = ConvTransposeRewrite.rewrite(plain, inputs);
        assertEquals(0, count(perPhase, "ConvTranspose"));
        int s = PER_PHASE.entrySet().stream().filter(e -> c.name().startsWith(e.getKey())).mapToInt(Map.Entry::getValue).findFirst().orElse(1);
        assertEquals(s * s, count(perPhase, "Conv") - count(plain, "Conv"), c + ": Conv nodes for the ConvTranspose");
        try (Net a = OpenCvNets.read(plain); Net p = OpenCvNets.read(perPhase); Net one = OpenCvNets.read(single)) {
            for (int n : BATCHES) {
                Tensor x = Tensor.random(n, c.c(), c.h(), c.w(), 41 + n);
                Tensor ya = RewriteAgainstReferenceTest.run(a, x), yp = RewriteAgainstReferenceTest.run(p, x), y1 = RewriteAgainstReferenceTest.run(one, x);
                String at = c + " " + mode + " N=" + n;
                assertMatchesReferenceAndPlain(yp, c.net().reference(x, mode), ya, at);
                assertTrue(yp.relativeL2(y1) <= AGAINST_PLAIN, at + ": relative L2 to the single-Conv form " + yp.relativeL2(y1));
            }
        }
    }

    @Test
    void pix2pixUpsamplingBecomesFourPhaseConvsOnlyInsideTheSizeRange() {
        Case c = upsampling(14, 4, 2, 1, 0, true, 16, 16); // the ConvTranspose sees 8 x 8
        OpenCvShapes shapes = OpenCvShapes.atInput(1, c.c(), c.h(), c.w()).alsoAt(n -> n.getOpType().equals("ConvTranspose"));
        OnnxModel plain = StatisticsRewrite.rewrite(c.net().model(), StatisticsMode.SAMPLE, shapes);
        OnnxModel small = ConvTransposeRewrite.rewrite(plain, shapes.alsoFound(), 64, 64);
        assertEquals(4, count(small, "Conv") - count(plain, "Conv"));
        assertEquals(1, count(small, "Concat") - count(plain, "Concat"));
        assertEquals(0, count(small, "Slice") - count(plain, "Slice"), "the phases are exact: nothing to crop");
        OnnxModel large = ConvTransposeRewrite.rewrite(plain, shapes.alsoFound(), 0, 63);
        assertEquals(1, count(large, "Conv") - count(plain, "Conv"), "8 x 8 = 64 positions is above a limit of 63");
        OnnxModel tiny = ConvTransposeRewrite.rewrite(plain, shapes.alsoFound(), 65, 1000);
        assertEquals(1, count(tiny, "Conv") - count(plain, "Conv"), "8 x 8 = 64 positions is below a minimum of 65");
        assertThrows(IllegalArgumentException.class, () -> ConvTransposeRewrite.rewrite(plain, shapes.alsoFound(), -1, 10));
    }

    /**
     * The cases that take the per-phase form, by name prefix, with their stride (s * s Convs): kernel and
     * output size multiples of the stride and every phase's pads non-negative, worked out by hand; every
     * other case keeps one Conv.
     */
    static final Map<String, Integer> PER_PHASE = Map.of("k4 s2 p1 op0", 2, "k2 s2 p0 op0", 2, "k4 s4 p0 op0", 4, "k3 s3 p0 op0", 3,
            "k6 s2 p3 op0", 2, "k8 s4 p1 op2", 4);

    /**
     * Asymmetric pads and output_padding, which TinyNet does not emit: one ConvTranspose (k 4, s 2, pads
     * top 1, left 0, bottom 2, right 3, output_padding 1, 1, bias) on a 6 x 6 input, per phase against a
     * direct float64 evaluation of the ConvTranspose's definition.
     */
    @Test
    void aWrongInputShapeMakesThePerPhaseFormFailInsteadOfChangingTheBatch() {
        Case c = upsampling(14, 4, 2, 1, 0, true, 16, 16); // the ConvTranspose really sees 8 x 8
        OnnxModel plain = StatisticsRewrite.rewrite(c.net().model(), StatisticsMode.RUNNING, null);
        String out = plain.proto().getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("ConvTranspose")).findFirst().orElseThrow()
                .getOutput(0);
        OnnxModel wrong = ConvTransposeRewrite.rewrite(plain, Map.of(out, new int[] {1, 5, 4, 4}), 0, Long.MAX_VALUE);
        assertEquals(4, count(wrong, "Conv") - count(plain, "Conv"));
        Tensor x = Tensor.random(1, c.c(), c.h(), c.w(), 5);
        assertThrows(RuntimeException.class, () -> {
            try (Net net = OpenCvNets.read(wrong)) {
                RewriteAgainstReferenceTest.run(net, x);
            }
        });
    }

    @Test
    void thePerPhaseFormHandlesAsymmetricPadsAndOutputPadding() {
        int cin = 3, cout = 2, k = 4, s = 2, h = 6, w = 6;
        long[] pads = {1, 0, 2, 3};
        int[] op = {1, 1};
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        float[] wt = new float[cin * cout * k * k], bias = {0.25f, -0.5f};
        for (int i = 0; i < wt.length; i++) wt[i] = (float) r.nextDouble(-0.5, 0.5);
        NodeProto ct = NodeProto.newBuilder().setOpType("ConvTranspose").setName("up").addInput("input").addInput("W").addInput("B").addOutput("output")
                .addAttribute(TinyNet.ints("kernel_shape", k, k)).addAttribute(TinyNet.ints("strides", s, s)).addAttribute(TinyNet.ints("pads", pads))
                .addAttribute(TinyNet.ints("output_padding", op[0], op[1])).build();
        dev.samplenorm.onnx.proto.Onnx.GraphProto g = dev.samplenorm.onnx.proto.Onnx.GraphProto.newBuilder().setName("asym").addNode(ct)
                .addInitializer(Tensors.floatTensor("W", List.of((long) cin, (long) cout, (long) k, (long) k), wt))
                .addInitializer(Tensors.floatTensor("B", List.of((long) cout), bias))
                .addInput(TinyNet.valueInfo("input", cin, h, w)).addOutput(TinyNet.valueInfo("output", cout, -1, -1)).build();
        OnnxModel m = OnnxModel.of(dev.samplenorm.onnx.proto.Onnx.ModelProto.newBuilder().setIrVersion(7).setProducerName("samplenorm-tests")
                .addOpsetImport(dev.samplenorm.onnx.proto.Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13)).setGraph(g).build());
        OnnxModel perPhase = ConvTransposeRewrite.rewrite(m, Map.of("output", new int[] {1, cin, h, w}), 0, Long.MAX_VALUE);
        assertEquals(0, count(perPhase, "ConvTranspose"));
        assertEquals(s * s, count(perPhase, "Conv"), "one Conv per output phase");
        int outH = s * (h - 1) + op[0] + k - (int) pads[0] - (int) pads[2], outW = s * (w - 1) + op[1] + k - (int) pads[1] - (int) pads[3];
        try (Net net = OpenCvNets.read(perPhase)) {
            for (int n : new int[] {1, 3}) {
                Tensor x = Tensor.random(n, cin, h, w, 19 + n);
                Tensor y = RewriteAgainstReferenceTest.run(net, x);
                assertEquals(outH, y.h());
                assertEquals(outW, y.w());
                double num = 0, den = 0;
                for (int b = 0; b < n; b++) for (int co = 0; co < cout; co++) for (int oy = 0; oy < outH; oy++) for (int ox = 0; ox < outW; ox++) {
                    double ref = bias[co];
                    for (int ci = 0; ci < cin; ci++) for (int iy = 0; iy < h; iy++) for (int ix = 0; ix < w; ix++) {
                        int ty = oy + (int) pads[0] - s * iy, tx = ox + (int) pads[1] - s * ix;
                        if (ty >= 0 && ty < k && tx >= 0 && tx < k) ref += x.at(b, ci, iy, ix) * wt[((ci * cout + co) * k + ty) * k + tx];
                    }
                    double d = y.at(b, co, oy, ox) - ref;
                    num += d * d;
                    den += ref * ref;
                }
                assertTrue(Math.sqrt(num / den) <= 1e-6, "N=" + n + ": relative L2 to the ConvTranspose's definition " + Math.sqrt(num / den));
            }
        }
    }

    @Test
    void theStatisticsProbeAlsoFindsTheConvTransposeInputShapes() {
        Case c = upsampling(14, 4, 2, 1, 0, true, 16, 12);
        OpenCvShapes shapes = OpenCvShapes.atInput(1, 3, 16, 12).alsoAt(n -> n.getOpType().equals("ConvTranspose"));
        assertTrue(shapes.alsoFound().isEmpty(), "nothing before the probe");
        OnnxModel inferenceForm = StatisticsRewrite.rewrite(c.net().model(), StatisticsMode.RUNNING, null);
        Map<String, int[]> bn = shapes.of(inferenceForm.proto());
        java.util.Set<String> bnOutputs = new java.util.HashSet<>();
        for (NodeProto n : inferenceForm.proto().getGraph().getNodeList()) if (n.getOpType().equals("BatchNormalization")) bnOutputs.add(n.getOutput(0));
        assertEquals(bnOutputs, bn.keySet(), "only the BatchNorm shapes go to the statistics rewrite");
        Map<String, int[]> found = shapes.alsoFound();
        assertEquals(1, found.size());
        // Conv(5, k 3, s 2, p 1) halves 16 x 12.
        assertArrayEquals(new int[] {1, 5, 8, 6}, found.values().iterator().next());
        assertTrue(OpenCvShapes.atInput(1, 3, 16, 12).alsoFound().isEmpty());
        // A second probe with the same instance, of a model without ConvTranspose: the first model's shapes are gone.
        OnnxModel second = ConvTransposeRewrite.rewrite(inferenceForm);
        assertEquals(0, count(second, "ConvTranspose"));
        shapes.of(second.proto());
        assertTrue(shapes.alsoFound().isEmpty(), "the shapes of the last probed model only");
    }

    @Test
    void aShapeThatDisagreesWithTheWeightsKeepsDepthToSpace() {
        OnnxModel m = upsampling(14, 4, 2, 1, 0, true, 8, 8).net().model();
        String out = m.proto().getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("ConvTranspose")).findFirst().orElseThrow()
                .getOutput(0);
        OnnxModel wrongChannels = ConvTransposeRewrite.rewrite(m, Map.of(out, new int[] {1, 7, 4, 4}));
        assertEquals(1, count(wrongChannels, "DepthToSpace"));
        OnnxModel emptyExtent = ConvTransposeRewrite.rewrite(m, Map.of(out, new int[] {1, 5, 0, 4}));
        assertEquals(1, count(emptyExtent, "DepthToSpace"), "an empty extent is not a shape to fix");
        OnnxModel right = ConvTransposeRewrite.rewrite(m, Map.of(out, new int[] {1, 5, 4, 4}));
        assertEquals(0, count(right, "DepthToSpace"));
        assertEquals(2, count(right, "Transpose"));
        assertEquals(3, count(right, "Reshape"));
    }

    @Test
    void pix2pixUpsamplingBecomesConvDepthToSpaceAndSlice() {
        OnnxModel m = ConvTransposeRewrite.rewrite(upsampling(14, 4, 2, 1, 0, true, 8, 8).net().model());
        assertEquals(0, count(m, "ConvTranspose"));
        assertEquals(1, count(m, "DepthToSpace"));
        assertEquals(1, count(m, "Slice"));
        assertEquals(3, count(m, "Conv"));
        assertEquals(new ConvTransposeRewrite.Report(0, List.of()), ConvTransposeRewrite.report(m));
    }

    @Test
    void aModelWithoutConvTransposeIsReturnedAsItIs() {
        OnnxModel m = TinyNet.builder(14, 3).conv(3, 3, 1, 1, true).relu().build().model();
        assertSame(m, ConvTransposeRewrite.rewrite(m));
    }

    @Test
    void stride1AndDilatedConvTransposeAreLeftAndReported() {
        OnnxModel m = TinyNet.builder(14, 3).convTranspose(3, 3, 1, 1, 0, true).relu().build().model();
        ConvTransposeRewrite.Report r = ConvTransposeRewrite.report(m);
        assertEquals(0, r.rewritten());
        assertEquals(1, r.skipped().size());
        assertTrue(r.skipped().get(0).contains("strides 1, 1"), r.skipped().toString());
        assertSame(m, ConvTransposeRewrite.rewrite(m));


        var proto = upsampling(14, 4, 2, 1, 0, false, 8, 8).net().proto().toBuilder();
        var g = proto.getGraphBuilder();
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (!g.getNode(i).getOpType().equals("ConvTranspose")) continue;
            var node = g.getNodeBuilder(i);
            for (int j = 0; j < node.getAttributeCount(); j++) {
                if (node.getAttribute(j).getName().equals("dilations")) node.setAttribute(j, TinyNet.ints("dilations", 2, 2));
            }
        }
        OnnxModel dilated = OnnxModel.of(proto.build());
        r = ConvTransposeRewrite.report(dilated);
        assertEquals(0, r.rewritten());
        assertTrue(r.skipped().get(0).contains("dilations 2, 2"), r.skipped().toString());
        assertSame(dilated, ConvTransposeRewrite.rewrite(dilated));
    }

    static int count(OnnxModel m, String op) {
        int k = 0;
        for (NodeProto n : m.proto().getGraph().getNodeList()) if (n.getOpType().equals(op)) k++;
        return k;
    }
}
