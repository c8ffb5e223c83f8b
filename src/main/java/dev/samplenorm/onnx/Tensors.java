package dev.samplenorm.onnx;

import dev.samplenorm.onnx.proto.Onnx.AttributeProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/** Reading and writing the values of float tensors. */
final class Tensors {

    private Tensors() {}

    /** Number of elements given by the dims; -1 for a negative extent, Long.MAX_VALUE past the long range. */
    static long elements(TensorProto t) {
        long n = 1;
        for (long d : t.getDimsList()) {
            if (d < 0) return -1;
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                return Long.MAX_VALUE;
            }
        }
        return n;
    }

    /** The values of a FLOAT tensor stored in {@code raw_data} or {@code float_data}; null for any other tensor. */
    static float[] floats(TensorProto t) {
        if (t == null || t.getDataType() != TensorProto.DataType.FLOAT_VALUE) return null;
        long n = elements(t);
        if (n < 0 || n > Integer.MAX_VALUE) return null;
        float[] v = new float[(int) n];
        if (t.hasRawData()) {
            ByteString raw = t.getRawData();
            if (raw.size() != 4L * n) return null;
            raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            return v;
        }
        if (t.getFloatDataCount() != n) return null;
        for (int i = 0; i < v.length; i++) v[i] = t.getFloatData(i);
        return v;
    }

    /** A FLOAT tensor with its values in {@code raw_data}. */
    static TensorProto floatTensor(String name, List<Long> dims, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE).addAllDims(dims)
                .setRawData(ByteString.copyFrom(b.array())).build();
    }

    /** A 1-D INT64 tensor (shapes, pads, Slice bounds). */
    static TensorProto int64(String name, long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(values.length);
        for (long v : values) t.addInt64Data(v);
        return t.build();
    }

    /** The constant behind a tensor name: an initializer, or the value of a Constant node; null if neither. */
    static TensorProto constant(String name, Map<String, TensorProto> initializers, Map<String, NodeProto> producers) {
        TensorProto t = initializers.get(name);
        if (t != null) return t;
        NodeProto p = producers.get(name);
        if (p != null && Graphs.is(p, "Constant")) {
            for (AttributeProto a : p.getAttributeList()) {
                if (a.getName().equals("value") && a.hasT()) return a.getT();
            }
        }
        return null;
    }
}
