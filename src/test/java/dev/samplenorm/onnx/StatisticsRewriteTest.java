package dev.samplenorm.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.OperatorSetIdProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import dev.samplenorm.onnx.proto.Onnx.TensorShapeProto;
import dev.samplenorm.onnx.proto.Onnx.TypeProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import dev.samplenorm.testing.TinyNet;
import dev.samplenorm.testing.TinyNet.BnForm;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What the rewrite does to a graph, and the errors it reports; numbers are checked in {@link RewriteAgainstReferenceTest}. */
class StatisticsRewriteTest {

    /** Conv(stride 2) -> BN -> LeakyRelu -> Dropout -> ConvTranspose -> BN -> Relu -> Conv -> Tanh, input 10 x 14. */
    static TinyNet unet(int opset, BnForm form) {
        return TinyNet.builder(opset, 3).inputSize(10, 14).conv(6, 3, 2, 1, false).batchNorm(form).leakyRelu(0.2f).dropout()
                .convTranspose(4, 4, 2, 1, 0, false).batchNorm(form).relu().conv(3, 3, 1, 1, true).tanh().build();
    }

    static BnForm trainingForm(int opset) {
        return opset >= 14 ? BnForm.TRAINING_3 : BnForm.TRAINING_5;
    }

    @ParameterizedTest
    @ValueSource(ints = {9, 11, 13, 14, 15, 17})
    void runningFormHasNoDropoutAndSingleOutputBatchNorm(int opset) {
        ModelProto m = StatisticsRewrite.rewrite(unet(opset, trainingForm(opset)).model(), StatisticsMode.RUNNING, null).proto();
        assertEquals(0, count(m, "Dropout"));
        assertEquals(0, count(m, "Constant"), "the Dropout's ratio / training_mode constants go with it");
        // The BN after the ConvTranspose is folded into it (see keepBatchNormOutOfDeconvolution); the other stays.
        assertEquals(1, count(m, "BatchNormalization"));
        for (NodeProto n : m.getGraph().getNodeList()) {
            if (!n.getOpType().equals("BatchNormalization")) continue;
            assertEquals(1, n.getOutputCount());
            assertFalse(Graphs.attribute(n, "training_mode").isPresent());
        }
        assertEquals(List.of("output"), outputs(m));
        assertUniqueOutputs(m);
        assertEquals(0, m.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().startsWith("convt_w") && !t.getName().endsWith("/with_batchnorm")).count(),
                "the unfolded ConvTranspose weights are unused and dropped");
    }

    @ParameterizedTest
    @ValueSource(ints = {9, 11, 13, 14, 15, 17})
    void sampleReplacesEveryBatchNormWithInstanceNormalization(int opset) {
        TinyNet net = unet(opset, trainingForm(opset));
        ModelProto m = StatisticsRewrite.rewrite(net.model(), StatisticsMode.SAMPLE, OpenCvShapes.atInput(1, 3, 10, 14)).proto();
        assertEquals(0, count(m, "BatchNormalization"));
        assertEquals(2, count(m, "InstanceNormalization"));
        assertEquals(0, count(m, "Dropout"));
        assertTrue(m.getGraph().getInitializerList().stream().noneMatch(t -> t.getName().startsWith("bn_mean") || t.getName().startsWith("bn_var")),
                "running statistics are no longer read and are dropped");
        NodeProto in = first(m, "InstanceNormalization");
        assertEquals(1e-5f, Graphs.floatAttribute(in, "epsilon", 0));
        assertUniqueOutputs(m);
    }

    @Test
    void batchPatternHasStaticHeightAndWidthAndAnOpenBatch() {
        ModelProto m = StatisticsRewrite.rewrite(unet(14, BnForm.TRAINING_3).model(), StatisticsMode.BATCH,
                OpenCvShapes.atInput(1, 3, 10, 14)).proto();
        assertEquals(0, count(m, "BatchNormalization"));
        assertEquals(2, count(m, "InstanceNormalization"));
        assertEquals(4, count(m, "Transpose"));
        assertEquals(4, count(m, "Reshape"));
        List<List<Long>> shapes = new ArrayList<>();
        for (NodeProto n : m.getGraph().getNodeList()) {
            if (!n.getOpType().equals("Reshape")) continue;
            TensorProto t = initializer(m, n.getInput(1));
            assertEquals(TensorProto.DataType.INT64_VALUE, t.getDataType(), "Reshape shapes are INT64 constants");
            shapes.add(t.getInt64DataList());
        }
        // First BN sees [N, 6, 5, 7] (after the stride-2 conv), the second [N, 4, 10, 14]: non-square, N never fixed.
        assertEquals(List.of(List.of(1L, 6L, -1L), List.of(6L, -1L, 5L, 7L), List.of(1L, 4L, -1L), List.of(4L, -1L, 10L, 14L)), shapes);
        for (NodeProto n : m.getGraph().getNodeList()) {
            if (n.getOpType().equals("Transpose")) assertEquals(List.of(1L, 0L, 2L, 3L), Graphs.attribute(n, "perm").get().getIntsList());
        }
        assertUniqueOutputs(m);
    }

    @Test
    void withoutDropoutKeepsBatchNormAsExported() {
        ModelProto m = StatisticsRewrite.withoutDropout(unet(14, BnForm.TRAINING_3).model()).proto();
        assertEquals(0, count(m, "Dropout"));
        assertEquals(0, count(m, "Constant"));
        assertEquals(2, count(m, "BatchNormalization"));
        NodeProto bn = first(m, "BatchNormalization");
        assertEquals(3, bn.getOutputCount());
        assertEquals(1, Graphs.intAttribute(bn, "training_mode", 0));
    }

    @Test
    void aDropoutThatWritesTheGraphOutputBecomesAnIdentity() {
        ModelProto m = TinyNet.builder(13, 3).conv(3, 3, 1, 1, true).dropout().build().proto();
        ModelProto r = StatisticsRewrite.rewrite(OnnxModel.of(m), StatisticsMode.RUNNING, null).proto();
        assertEquals(List.of("Conv", "Identity"), ops(r));
        assertEquals("output", r.getGraph().getNode(1).getOutput(0));
    }

    @Test
    void aDropoutMaskThatIsReadIsAnError() {
        ModelProto m = TinyNet.builder(13, 3).conv(3, 3, 1, 1, true).dropout().relu().build().proto();
        String mask = m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Dropout")).findFirst().get().getOutput(1);
        GraphProto g = m.getGraph().toBuilder().addNode(NodeProto.newBuilder().setOpType("Cast").addInput(mask).addOutput("mask_f")
                .addAttribute(TinyNet.integer("to", 1))).addOutput(ValueInfoProto.newBuilder().setName("mask_f")).build();
        SampleNormException e = assertThrows(SampleNormException.class,
                () -> StatisticsRewrite.rewrite(OnnxModel.of(m.toBuilder().setGraph(g).build()), StatisticsMode.RUNNING, null));
        assertTrue(e.getMessage().contains("mask output"), e.getMessage());
    }

    @Test
    void runningStatisticsInTheGraphOutputsAreDroppedButAReaderIsAnError() {
        ModelProto m = TinyNet.builder(14, 3).conv(4, 3, 1, 1, false).batchNorm(BnForm.TRAINING_3).relu().build().proto();
        String runningMean = first(m, "BatchNormalization").getOutput(1);
        ModelProto exposed = m.toBuilder().setGraph(m.getGraph().toBuilder().addOutput(ValueInfoProto.newBuilder().setName(runningMean))).build();
        for (StatisticsMode mode : StatisticsMode.values()) {
            ModelProto r = StatisticsRewrite.rewrite(OnnxModel.of(exposed), mode, OpenCvShapes.atInput(1, 3, 6, 6)).proto();
            assertEquals(List.of("output"), outputs(r), mode.toString());
        }
        ModelProto read = m.toBuilder().setGraph(m.getGraph().toBuilder().addNode(NodeProto.newBuilder().setOpType("Neg")
                .addInput(runningMean).addOutput("neg")).addOutput(ValueInfoProto.newBuilder().setName("neg"))).build();
        SampleNormException e = assertThrows(SampleNormException.class,
                () -> StatisticsRewrite.rewrite(OnnxModel.of(read), StatisticsMode.BATCH, OpenCvShapes.atInput(1, 3, 6, 6)));
        assertTrue(e.getMessage().contains("statistics output '" + runningMean + "' is read by node Neg"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"SAMPLE", "BATCH"})
    void batchNormOnA3DTensorIsRejected(String mode) {
        SampleNormException e = assertThrows(SampleNormException.class,
                () -> StatisticsRewrite.rewrite(conv1d(), StatisticsMode.valueOf(mode), OpenCvShapes.atInput(1, 2, 12)));
        assertEquals(SampleNormException.Code.MODEL, e.code());
        assertTrue(e.getMessage().contains("normalizes a 3-D tensor [1, 4, 12]"), e.getMessage());
        assertTrue(e.getMessage().contains("expects 4-D NCHW"), e.getMessage());
        // Running statistics work on any rank.
        assertEquals(1, count(StatisticsRewrite.rewrite(conv1d(), StatisticsMode.RUNNING, null).proto(), "BatchNormalization"));
    }

    @Test
    void anUnknownShapeIsAnErrorNotAGuess() {
        SampleNormException e = assertThrows(SampleNormException.class,
                () -> StatisticsRewrite.rewrite(unet(14, BnForm.TRAINING_3).model(), StatisticsMode.BATCH, model -> Map.of()));
        assertTrue(e.getMessage().contains("is unknown"), e.getMessage());
    }

    @Test
    void anUnsupportedOperatorWhereShapesAreNeededIsAClearError() {
        ModelProto m = unet(14, BnForm.TRAINING_3).proto();
        // Put an operator OpenCV does not know between the first Conv and its BatchNorm.
        List<NodeProto> nodes = new ArrayList<>(m.getGraph().getNodeList());
        NodeProto conv = nodes.get(0);
        NodeProto bn = nodes.get(1);
        nodes.set(1, bn.toBuilder().setInput(0, "fancy_out").build());
        nodes.add(1, NodeProto.newBuilder().setOpType("FancyNorm").setDomain("com.example").setName("fancy").addInput(conv.getOutput(0))
                .addOutput("fancy_out").build());
        ModelProto bad = m.toBuilder().setGraph(m.getGraph().toBuilder().clearNode().addAllNode(nodes))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.example").setVersion(1)).build();
        SampleNormException e = assertThrows(SampleNormException.class,
                () -> StatisticsRewrite.rewrite(OnnxModel.of(bad), StatisticsMode.BATCH, OpenCvShapes.atInput(1, 3, 10, 14)));
        assertEquals(SampleNormException.Code.MODEL, e.code());
        assertTrue(e.getMessage().contains("cannot find the shapes"), e.getMessage());
        assertTrue(e.getMessage().contains("FancyNorm"), "names the operator: " + e.getMessage());
        assertFalse(e.getMessage().contains("/home/"), "no build-machine paths: " + e.getMessage());
    }

    @Test
    void aTooOldOpsetIsRefused() {
        ModelProto m = unet(9, BnForm.INFERENCE).proto();
        ModelProto old = m.toBuilder().setOpsetImport(0, OperatorSetIdProto.newBuilder().setDomain("").setVersion(6)).build();
        SampleNormException e = assertThrows(SampleNormException.class,
                () -> StatisticsRewrite.rewrite(OnnxModel.of(old), StatisticsMode.RUNNING, null));
        assertTrue(e.getMessage().contains("expected opset 7 or newer"), e.getMessage());
    }

    @Test
    void batchNormAfterAConvTransposeWithComputedWeightsIsKeptApart() {
        ModelProto m = TinyNet.builder(14, 3).convTranspose(4, 4, 2, 1, 0, false).batchNorm(BnForm.TRAINING_3).relu().build().proto();
        List<NodeProto> nodes = new ArrayList<>(m.getGraph().getNodeList());
        NodeProto ct = nodes.get(0);
        // Weights computed at run time (here Neg(Neg(w))) cannot be folded.
        nodes.add(0, NodeProto.newBuilder().setOpType("Neg").addInput(ct.getInput(1)).addOutput("w1").build());
        nodes.add(1, NodeProto.newBuilder().setOpType("Neg").addInput("w1").addOutput("w2").build());
        nodes.set(2, ct.toBuilder().setInput(1, "w2").build());
        ModelProto computed = m.toBuilder().setGraph(m.getGraph().toBuilder().clearNode().addAllNode(nodes)).build();
        ModelProto r = StatisticsRewrite.rewrite(OnnxModel.of(computed), StatisticsMode.RUNNING, null).proto();
        assertEquals(List.of("Neg", "Neg", "ConvTranspose", "Reshape", "BatchNormalization", "Relu"), ops(r));
        assertEquals(List.of(0L, 0L, 0L, 0L), initializer(r, r.getGraph().getNode(3).getInput(1)).getInt64DataList());
    }

    @Test
    void batchNormAfterAConvTransposeIsFoldedIntoItsWeightsAndBias() {
        ModelProto m = TinyNet.builder(14, 3).convTranspose(4, 4, 2, 1, 0, true).batchNorm(BnForm.TRAINING_3).relu().build().proto();
        ModelProto r = StatisticsRewrite.rewrite(OnnxModel.of(m), StatisticsMode.RUNNING, null).proto();
        assertEquals(List.of("ConvTranspose", "Relu"), ops(r));
        NodeProto ct = r.getGraph().getNode(0);
        assertTrue(ct.getInput(1).endsWith("/with_batchnorm") && ct.getInput(2).endsWith("/with_batchnorm"), ct.toString());
        assertEquals(2, r.getGraph().getInitializerCount(), "only the folded weight and bias remain");
    }

    // ------------------------------------------------------------------------------------------ helpers

    /** Input [N, 2, L] -> Conv1d -> BatchNorm1d -> Relu. */
    static OnnxModel conv1d() {
        TensorProto.Builder w = TensorProto.newBuilder().setName("w").setDataType(1).addDims(4).addDims(2).addDims(3);
        for (int i = 0; i < 24; i++) w.addFloatData((i % 5) * 0.1f - 0.2f);
        GraphProto.Builder g = GraphProto.newBuilder().setName("c1d").addInitializer(w);
        for (String p : new String[] {"s", "b", "m", "v"}) {
            g.addInitializer(TensorProto.newBuilder().setName(p).setDataType(1).addDims(4).addFloatData(1).addFloatData(0.5f)
                    .addFloatData(0.25f).addFloatData(2));
        }
        g.addNode(NodeProto.newBuilder().setOpType("Conv").setName("conv").addInput("x").addInput("w").addOutput("c")
                .addAttribute(TinyNet.ints("kernel_shape", 3)).addAttribute(TinyNet.ints("pads", 1, 1)));
        g.addNode(NodeProto.newBuilder().setOpType("BatchNormalization").setName("bn").addInput("c").addInput("s").addInput("b")
                .addInput("m").addInput("v").addOutput("y").addOutput("rm").addOutput("rv").addAttribute(TinyNet.integer("training_mode", 1)));
        g.addNode(NodeProto.newBuilder().setOpType("Relu").addInput("y").addOutput("out"));
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(2)).addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(12));
        g.addInput(ValueInfoProto.newBuilder().setName("x").setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))));
        TensorShapeProto.Builder os = TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(4)).addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(12));
        g.addOutput(ValueInfoProto.newBuilder().setName("out").setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(1).setShape(os))));
        return OnnxModel.of(ModelProto.newBuilder().setIrVersion(8).addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(15))
                .setGraph(g).build());
    }

    static int count(ModelProto m, String op) {
        return (int) m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).count();
    }

    static NodeProto first(ModelProto m, String op) {
        return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).findFirst().orElseThrow();
    }

    static List<String> ops(ModelProto m) {
        return m.getGraph().getNodeList().stream().map(NodeProto::getOpType).toList();
    }

    static List<String> outputs(ModelProto m) {
        return m.getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList();
    }

    static TensorProto initializer(ModelProto m, String name) {
        return m.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no initializer " + name));
    }

    static void assertUniqueOutputs(ModelProto m) {
        Set<String> seen = new HashSet<>();
        for (NodeProto n : m.getGraph().getNodeList()) {
            for (String o : n.getOutputList()) assertTrue(seen.add(o), "tensor '" + o + "' is written twice");
        }
        Set<String> nodeNames = new HashSet<>();
        for (NodeProto n : m.getGraph().getNodeList()) {
            if (!n.getName().isEmpty()) assertTrue(nodeNames.add(n.getName()), "node name '" + n.getName() + "' is used twice");
        }
    }
}
