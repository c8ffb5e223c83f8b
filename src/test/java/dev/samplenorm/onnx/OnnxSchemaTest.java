package dev.samplenorm.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.testing.Golden;
import dev.samplenorm.testing.TinyNet;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.UnknownFieldSet;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** The project's own ONNX schema reads what ONNX writes and writes back what it read. */
class OnnxSchemaTest {

    @Test
    void bundledExportRoundTripsByteForByte() throws Exception {
        assertTrue(Golden.present(), "missing " + Golden.MODEL);
        byte[] file = Files.readAllBytes(Golden.MODEL);
        OnnxModel m = OnnxModel.parse(file);
        assertArrayEquals(file, m.toByteArray(), "parse -> write must reproduce the PyTorch export exactly");
        assertEquals(m.proto(), OnnxModel.parse(m.toByteArray()).proto());
        assertEquals(51, m.proto().getGraph().getNodeCount());
        assertEquals(14, m.info().opsetVersion());
    }

    @Test
    void unknownFieldsSurviveARoundTrip() throws Exception {
        ModelProto base = TinyNet.builder(14, 3).conv(4, 3, 1, 1, false).batchNorm(TinyNet.BnForm.TRAINING_3).relu().build().proto();
        // Fields of newer ONNX versions this schema does not name: ModelProto.functions (25), NodeProto.overload (8).
        UnknownFieldSet modelExtra = UnknownFieldSet.newBuilder()
                .addField(25, UnknownFieldSet.Field.newBuilder().addLengthDelimited(ByteString.copyFromUtf8("\n\u0003fun")).build()).build();
        UnknownFieldSet nodeExtra = UnknownFieldSet.newBuilder()
                .addField(8, UnknownFieldSet.Field.newBuilder().addLengthDelimited(ByteString.copyFromUtf8("v2")).build()).build();
        NodeProto node = base.getGraph().getNode(0).toBuilder().setUnknownFields(nodeExtra).build();
        ModelProto withExtras = base.toBuilder().setGraph(base.getGraph().toBuilder().setNode(0, node)).setUnknownFields(modelExtra).build();

        byte[] bytes = withExtras.toByteArray();
        ModelProto again = OnnxModel.parse(bytes).proto();
        assertEquals(withExtras, again);
        assertArrayEquals(bytes, again.toByteArray());
        assertTrue(again.getUnknownFields().hasField(25));
        assertTrue(again.getGraph().getNode(0).getUnknownFields().hasField(8));
        // ... and a rewrite keeps them too.
        ModelProto rewritten = StatisticsRewrite.rewrite(OnnxModel.of(again), dev.samplenorm.StatisticsMode.RUNNING, null).proto();
        assertTrue(rewritten.getUnknownFields().hasField(25));
    }

    /** A model encoded by hand with the field numbers of ONNX's onnx.proto, independent of the generated code. */
    @Test
    void fieldNumbersMatchOnnx() throws Exception {
        byte[] dim = message(o -> o.writeString(2, "N")); // Dimension.dim_param = 2
        byte[] shape = message(o -> {
            o.writeByteArray(1, dim); // TensorShapeProto.dim = 1
            o.writeByteArray(1, message(d -> d.writeInt64(1, 3))); // dim_value = 1
        });
        byte[] tensorType = message(o -> {
            o.writeInt32(1, 1); // elem_type = 1 (FLOAT)
            o.writeByteArray(2, shape); // shape = 2
        });
        byte[] type = message(o -> o.writeByteArray(1, tensorType)); // TypeProto.tensor_type = 1
        byte[] valueInfo = message(o -> {
            o.writeString(1, "x");
            o.writeByteArray(2, type);
        });
        byte[] alpha = message(o -> {
            o.writeString(1, "alpha");
            o.writeFloat(2, 0.25f); // f = 2
            o.writeEnum(20, 1); // type = 20 (FLOAT)
        });
        byte[] node = message(o -> {
            o.writeString(1, "x"); // input = 1
            o.writeString(2, "y"); // output = 2
            o.writeString(3, "act"); // name = 3
            o.writeString(4, "LeakyRelu"); // op_type = 4
            o.writeByteArray(5, alpha); // attribute = 5
            o.writeString(7, ""); // domain = 7
        });
        byte[] init = message(o -> {
            o.writeInt64(1, 2); // dims = 1
            o.writeInt32(2, 1); // data_type = 2
            o.writeString(8, "w"); // name = 8
            o.writeByteArray(9, new byte[] {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, 0x40}); // raw_data = 9: 1.0f, 2.0f
        });
        byte[] graph = message(o -> {
            o.writeByteArray(1, node); // node = 1
            o.writeString(2, "g"); // name = 2
            o.writeByteArray(5, init); // initializer = 5
            o.writeByteArray(11, valueInfo); // input = 11
            o.writeByteArray(12, message(v -> v.writeString(1, "y"))); // output = 12
        });
        byte[] model = message(o -> {
            o.writeInt64(1, 8); // ir_version = 1
            o.writeString(2, "hand"); // producer_name = 2
            o.writeByteArray(7, graph); // graph = 7
            o.writeByteArray(8, message(s -> {
                s.writeString(1, ""); // domain = 1
                s.writeInt64(2, 17); // version = 2
            })); // opset_import = 8
        });

        OnnxModel m = OnnxModel.parse(model);
        ModelProto p = m.proto();
        assertEquals(8, p.getIrVersion());
        assertEquals("hand", p.getProducerName());
        assertEquals(17, m.info().opsetVersion());
        NodeProto n = p.getGraph().getNode(0);
        assertEquals("LeakyRelu", n.getOpType());
        assertEquals("act", n.getName());
        assertEquals(0.25f, n.getAttribute(0).getF());
        assertEquals(dev.samplenorm.onnx.proto.Onnx.AttributeProto.AttributeType.FLOAT, n.getAttribute(0).getType());
        assertEquals("w", p.getGraph().getInitializer(0).getName());
        assertArrayEquals(new float[] {1f, 2f}, Tensors.floats(p.getGraph().getInitializer(0)));
        TensorInfo x = m.info().input();
        assertEquals("x", x.name());
        assertEquals("[N, 3]", x.dims().toString());
        assertEquals(TensorInfo.FLOAT, x.elementType());
        assertTrue(p.getUnknownFields().asMap().isEmpty(), "every field above is part of the schema");
        assertArrayEquals(model, p.toByteArray());
    }

    private interface Writer {
        void write(CodedOutputStream o) throws Exception;
    }

    private static byte[] message(Writer w) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream o = CodedOutputStream.newInstance(bytes);
        w.write(o);
        o.flush();
        return bytes.toByteArray();
    }
}
