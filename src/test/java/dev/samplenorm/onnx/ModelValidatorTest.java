package dev.samplenorm.onnx;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.samplenorm.SampleNormException;
import dev.samplenorm.onnx.proto.Onnx.AttributeProto;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import dev.samplenorm.onnx.proto.Onnx.TensorShapeProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import dev.samplenorm.testing.Golden;
import dev.samplenorm.testing.TinyNet;
import dev.samplenorm.testing.TinyNet.BnForm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** What {@link ModelValidator} refuses before the rewrite or OpenCV sees a model, and what it lets through. */
class ModelValidatorTest {

    /** Conv (weights in float_data) + BatchNorm (training form) + Relu, then the first initializer moved to raw_data. */
    private static ModelProto base() {
        return TinyNet.builder(14, 3).inputSize(8, 8).conv(4, 3, 1, 1, true).batchNorm(BnForm.TRAINING_3).relu().build().proto();
    }

    private static SampleNormException refused(ModelProto m) {
        SampleNormException e = assertThrows(SampleNormException.class, () -> OnnxModel.parse(m.toByteArray()));
        assertEquals(SampleNormException.Code.MODEL, e.code(), e.getMessage());
        return e;
    }

    private static void assertMessage(SampleNormException e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "the message names '" + p + "': " + e.getMessage());
    }

    private static ModelProto editGraph(ModelProto m, UnaryOperator<GraphProto.Builder> edit) {
        return m.toBuilder().setGraph(edit.apply(m.getGraph().toBuilder())).build();
    }

    private static int nodeIndex(ModelProto m, String op) {
        for (int i = 0; i < m.getGraph().getNodeCount(); i++) if (m.getGraph().getNode(i).getOpType().equals(op)) return i;
        throw new AssertionError("no " + op);
    }

    private static ModelProto editNode(ModelProto m, String op, UnaryOperator<NodeProto.Builder> edit) {
        int i = nodeIndex(m, op);
        return editGraph(m, g -> g.setNode(i, edit.apply(g.getNode(i).toBuilder())));
    }

    private static int initializerIndex(ModelProto m, String prefix) {
        for (int i = 0; i < m.getGraph().getInitializerCount(); i++) {
            if (m.getGraph().getInitializer(i).getName().startsWith(prefix)) return i;
        }
        throw new AssertionError("no " + prefix);
    }

    private static ModelProto editInitializer(ModelProto m, String prefix, UnaryOperator<TensorProto.Builder> edit) {
        int i = initializerIndex(m, prefix);
        return editGraph(m, g -> g.setInitializer(i, edit.apply(g.getInitializer(i).toBuilder())));
    }

    private static ByteString floats(int n) {
        return ByteString.copyFrom(new byte[4 * n]);
    }

    // ---------------------------------------------------------------------------------- graph integrity

    @Test
    void modelsThatSamplenormWritesAndReadsPassUnchanged() throws IOException {
        assertDoesNotThrow(() -> OnnxModel.parse(base().toByteArray()));
        assertDoesNotThrow(() -> OnnxModel.read(Golden.MODEL));
        assertDoesNotThrow(() -> OnnxModel.read(Path.of("src/test/resources/resnet_reflect/resnet_reflect_24x40.onnx")));
        assertTrue(Files.size(Golden.MODEL) > 1 << 20, "the bundled model is a real export");
    }

    @Test
    void aNodeInputThatNamesNoTensorIsRefusedNamingTheNodeAndTheName() {
        SampleNormException e = refused(editNode(base(), "Relu", n -> n.setInput(0, "no_such_tensor")));
        assertMessage(e, "node 3 Relu", "'no_such_tensor'", "no graph input, initializer or node output");
    }

    @Test
    void aNodeThatReadsALaterNodesOutputIsRefusedAsOutOfOrder() {
        ModelProto m = base();
        int bn = nodeIndex(m, "BatchNormalization"), relu = nodeIndex(m, "Relu");
        ModelProto swapped = editGraph(m, g -> {
            NodeProto a = g.getNode(bn);
            return g.setNode(bn, g.getNode(relu)).setNode(relu, a);
        });
        assertMessage(refused(swapped), "Relu", "before node 3 BatchNormalization", "topological order and no cycle");
    }

    @Test
    void aCycleIsRefused() {
        // Conv reads the Relu's output, which depends on the Conv.
        ModelProto m = base();
        String reluOut = m.getGraph().getNode(nodeIndex(m, "Relu")).getOutput(0);
        assertMessage(refused(editNode(m, "Conv", n -> n.setInput(0, reluOut))), "node 1 Conv", "'" + reluOut + "' before node 3",
                "no cycle");
    }

    @Test
    void aNameAssignedTwiceIsRefused() {
        ModelProto m = base();
        String convOut = m.getGraph().getNode(nodeIndex(m, "Conv")).getOutput(0);
        assertMessage(refused(editNode(m, "Relu", n -> n.setOutput(0, convOut))), "writes '" + convOut + "'", "assigned once");
        assertMessage(refused(editNode(m, "Relu", n -> n.setOutput(0, "input"))), "already a graph input or initializer");
    }

    @Test
    void aGraphOutputThatNamesNoTensorIsRefused() {
        ModelProto m = editGraph(base(), g -> g.setOutput(0, g.getOutput(0).toBuilder().setName("nowhere")));
        assertMessage(refused(m), "graph output 'nowhere'", "no node output");
    }

    @Test
    void anEmptyNameWhereBatchNormNeedsATensorIsRefused() {
        // OpenCV 4.13 dereferences it: SIGSEGV.
        ModelProto m = editNode(base(), "BatchNormalization", n -> n.setInput(1, ""));
        assertMessage(refused(m), "BatchNormalization", "leaves its input 1 empty");
    }

    @Test
    void aSubgraphMayReadNamesOfTheEnclosingGraphButNotUndefinedOnes() {
        ModelProto m = base();
        String convOut = m.getGraph().getNode(nodeIndex(m, "Conv")).getOutput(0);
        GraphProto body = GraphProto.newBuilder().setName("then")
                .addNode(NodeProto.newBuilder().setOpType("Identity").addInput(convOut).addOutput("then_out"))
                .addOutput(ValueInfoProto.newBuilder().setName("then_out")).build();
        NodeProto cond = TinyNet.constant("cond", "cond_value", TensorProto.newBuilder().setDataType(TensorProto.DataType.BOOL_VALUE)
                .addInt32Data(1).build());
        NodeProto ifNode = NodeProto.newBuilder().setOpType("If").setName("if").addInput("cond_value").addOutput("if_out")
                .addAttribute(AttributeProto.newBuilder().setName("then_branch").setType(AttributeProto.AttributeType.GRAPH).setG(body))
                .addAttribute(AttributeProto.newBuilder().setName("else_branch").setType(AttributeProto.AttributeType.GRAPH).setG(body))
                .build();
        ModelProto withIf = editGraph(m, g -> g.addNode(cond).addNode(ifNode));
        assertDoesNotThrow(() -> ModelValidator.validate(withIf, "model"));

        GraphProto dangling = body.toBuilder().setNode(0, body.getNode(0).toBuilder().setInput(0, "undefined_outer")).build();
        ModelProto bad = editGraph(m, g -> g.addNode(cond).addNode(ifNode.toBuilder().setAttribute(0,
                ifNode.getAttribute(0).toBuilder().setG(dangling))));
        SampleNormException e = assertThrows(SampleNormException.class, () -> ModelValidator.validate(bad, "model"));
        assertMessage(e, "in subgraph 'then'", "'undefined_outer'");
    }

    // ---------------------------------------------------------------------------------- tensor data

    @Test
    void rawDataOfTheWrongLengthIsRefusedNamingTheInitializer() {
        ModelProto m = editInitializer(base(), "conv_w", t -> t.clearFloatData().setRawData(floats(4 * 3 * 3 * 3)));
        assertDoesNotThrow(() -> OnnxModel.parse(m.toByteArray()), "the right length passes");
        // Empty data (SIGFPE in plain OpenCV), dims larger than the data (SIGSEGV), data shorter (an out-of-bounds read).
        for (ByteString data : List.of(ByteString.EMPTY, floats(4 * 3 * 3 * 2), floats(4 * 3 * 3 * 3).substring(1))) {
            SampleNormException e = refused(editInitializer(m, "conv_w", t -> t.setRawData(data)));
            assertMessage(e, "initializer 'conv_w_0'", "dims [4, 3, 3, 3] of FLOAT", "need 432 bytes", "raw_data holds " + data.size());
        }
        SampleNormException longer = refused(editInitializer(m, "conv_w", t -> t.clearDims().addAllDims(List.of(2L, 4L, 3L, 3L, 3L))));
        assertMessage(longer, "dims [2, 4, 3, 3, 3]", "need 864 bytes", "holds 432");
    }

    @Test
    void typedValuesOfTheWrongCountOrFieldAreRefused() {
        ModelProto m = base();
        assertMessage(refused(editInitializer(m, "bn_scale", t -> t.addFloatData(1f))), "initializer 'bn_scale", "need 4 values",
                "float_data holds 5");
        assertMessage(refused(editInitializer(m, "bn_scale", TensorProto.Builder::clearFloatData)), "it holds none");
        assertMessage(refused(editInitializer(m, "bn_scale", t -> t.clearFloatData().addAllInt64Data(List.of(1L, 2L, 3L, 4L)))),
                "is FLOAT but holds its values in another field than float_data");
        assertMessage(refused(editInitializer(m, "bn_scale", t -> t.setRawData(floats(4)))), "2 fields");
        ModelProto int64 = editInitializer(m, "bn_scale", t -> t.clearFloatData().setDataType(TensorProto.DataType.INT64_VALUE)
                .addAllInt64Data(List.of(1L, 2L, 3L)));
        assertMessage(refused(int64), "of INT64, which need 4 values; its int64_data holds 3");
        ModelProto doubles = editInitializer(m, "bn_scale", t -> t.clearFloatData().setDataType(TensorProto.DataType.DOUBLE_VALUE)
                .addAllDoubleData(List.of(1.0, 2.0, 3.0, 4.0)));
        assertDoesNotThrow(() -> ModelValidator.validate(doubles, "model"), "DOUBLE values in double_data");
    }

    @Test
    void negativeAndOverflowingDimsAreRefusedBeforeAnyMultiplicationWraps() {
        ModelProto m = base();
        assertMessage(refused(editInitializer(m, "bn_scale", t -> t.setDims(0, -4))), "dims [-4]", "no negative extent");
        // 2^16 four times wraps to 0 in a plain long multiplication, which would match no data at all.
        ModelProto wraps = editInitializer(m, "bn_scale", t -> t.clearDims().addAllDims(List.of(65536L, 65536L, 65536L, 65536L))
                .clearFloatData());
        assertMessage(refused(wraps), "expected at most " + ModelValidator.MAX_TENSOR_ELEMENTS + " elements");
        ModelProto big = editInitializer(m, "bn_scale", t -> t.setDims(0, ModelValidator.MAX_TENSOR_ELEMENTS + 1));
        assertMessage(refused(big), "expected at most");
    }

    @Test
    void anEmptyTensorWithZeroElementsIsValid() {
        // Exporters write empty tensors, e.g. Resize's unused roi; dims [0] with no data is what ONNX means by that.
        TensorProto empty = TensorProto.newBuilder().setName("roi").setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(0).build();
        assertDoesNotThrow(() -> ModelValidator.validate(editGraph(base(), g -> g.addInitializer(empty)), "model"));
    }

    @Test
    void aConstantNodesValueIsCheckedLikeAnInitializer() {
        TensorProto value = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(3).addFloatData(1f).build();
        ModelProto m = editGraph(base(), g -> g.addNode(TinyNet.constant("const", "const_out", value)));
        assertMessage(refused(m), "Constant 'const'", "attribute 'value'", "need 3 values; its float_data holds 1");
    }

    @Test
    void unknownElementTypesSegmentsAndExternalDataAreRefused() {
        ModelProto m = base();
        assertMessage(refused(editInitializer(m, "bn_scale", t -> t.setDataType(0))), "element type UNDEFINED");
        assertMessage(refused(editInitializer(m, "bn_scale", t -> t.setDataType(42))), "element type type 42");
        assertMessage(refused(editInitializer(m, "bn_scale", t -> t.setSegment(TensorProto.Segment.newBuilder().setBegin(0)))),
                "segment");
        SampleNormException e = refused(editInitializer(m, "bn_scale", t -> t.setDataLocation(TensorProto.DataLocation.EXTERNAL)));
        assertMessage(e, "external file", "samplenorm does not read", "save_as_external_data=False");
    }

    // ---------------------------------------------------------------------------------- limits

    @Test
    void aDeclaredInputShapeOverTheElementLimitIsRefused() {
        ModelProto m = editGraph(base(), g -> {
            ValueInfoProto in = g.getInput(0);
            TensorShapeProto s = in.getType().getTensorType().getShape().toBuilder()
                    .setDim(2, TensorShapeProto.Dimension.newBuilder().setDimValue(1L << 20))
                    .setDim(3, TensorShapeProto.Dimension.newBuilder().setDimValue(1L << 20)).build();
            return g.setInput(0, in.toBuilder().setType(in.getType().toBuilder().setTensorType(in.getType().getTensorType().toBuilder()
                    .setShape(s))));
        });
        assertMessage(refused(m), "graph input 'input'", "[N, 3, 1048576, 1048576]", "expected at most");
    }

    @Test
    void theLimitsAreGenerousForImageGenerators() {
        assertEquals(Integer.MAX_VALUE, ModelValidator.MAX_TENSOR_ELEMENTS);
        assertEquals(4L << 30, ModelValidator.MAX_PARAMETER_BYTES);
        assertTrue(ModelValidator.MAX_RANK >= 8 && ModelValidator.MAX_WINDOW >= 1024);
    }

    // ---------------------------------------------------------------------------------- operators

    @Test
    void batchNormEpsilonMustBeFiniteAndPositive() {
        for (float eps : new float[] {0f, -1e-5f, Float.NaN, Float.POSITIVE_INFINITY}) {
            ModelProto m = editNode(base(), "BatchNormalization", n -> {
                for (int a = 0; a < n.getAttributeCount(); a++) {
                    if (n.getAttribute(a).getName().equals("epsilon")) n.setAttribute(a, n.getAttribute(a).toBuilder().setF(eps));
                }
                return n;
            });
            assertMessage(refused(m), "BatchNormalization", "epsilon " + eps, "finite value greater than 0");
        }
    }

    @Test
    void aNegativeOrNonFiniteRunningVarianceIsRefusedNamingTheChannel() {
        for (float v : new float[] {-0.5f, Float.NaN, Float.POSITIVE_INFINITY}) {
            ModelProto m = editInitializer(base(), "bn_var", t -> t.setFloatData(2, v));
            assertMessage(refused(m), "BatchNormalization", "running variance 'bn_var", "holds " + v + " at channel 2",
                    "finite values >= 0");
        }
        assertDoesNotThrow(() -> ModelValidator.validate(editInitializer(base(), "bn_var", t -> t.setFloatData(2, 0f)), "model"),
                "a zero variance is valid; epsilon keeps the division finite");
    }

    @Test
    void batchNormParametersOfDifferentLengthsAreRefused() {
        ModelProto m = editInitializer(base(), "bn_mean", t -> {
            List<Float> v = List.copyOf(t.getFloatDataList());
            return t.setDims(0, 3).clearFloatData().addAllFloatData(v.subList(0, 3));
        });
        assertMessage(refused(m), "per-channel parameters", "hold 4 and 3 values");
    }

    @Test
    void instanceNormEpsilonMustBeFiniteAndPositive() {
        ModelProto m = editNode(base(), "BatchNormalization", n -> {
            String y = n.getOutput(0);
            List<String> in = List.copyOf(n.getInputList().subList(0, 3));
            return n.setOpType("InstanceNormalization").clearOutput().addOutput(y).clearInput().addAllInput(in).clearAttribute()
                    .addAttribute(AttributeProto.newBuilder().setName("epsilon").setType(AttributeProto.AttributeType.FLOAT).setF(-1f));
        });
        assertMessage(refused(m), "InstanceNormalization", "epsilon -1.0");
    }

    @Test
    void convolutionGroupsStridesAndKernelsOutOfRangeAreRefused() {
        // group = 0 is a division by zero in OpenCV 4.13 (SIGFPE).
        assertMessage(refused(editNode(base(), "Conv", n -> n.addAttribute(TinyNet.integer("group", 0)).removeAttribute(4))),
                "group 0", "expected 1 to 65536");
        assertMessage(refused(editNode(base(), "Conv", n -> n.setAttribute(1, TinyNet.ints("strides", 0, 1)))), "strides [0, 1]");
        assertMessage(refused(editNode(base(), "Conv", n -> n.setAttribute(0, TinyNet.ints("kernel_shape", 3, 3, 1)))),
                "kernel_shape [3, 3, 1]", "expected 2 values for 2 spatial axes");
        assertMessage(refused(editNode(base(), "Conv", n -> n.setAttribute(0, TinyNet.ints("kernel_shape", 3, 5)))),
                "kernel_shape [3, 5] but weights");
        assertMessage(refused(editNode(base(), "Conv", n -> n.setAttribute(2, TinyNet.ints("pads", 1, 1, -1, 1)))),
                "pads [1, 1, -1, 1]", "from 0 to 65536");
    }
}
