package dev.samplenorm.robustness;

import com.google.protobuf.ByteString;
import dev.samplenorm.onnx.proto.Onnx.AttributeProto;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.StringStringEntryProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import dev.samplenorm.onnx.proto.Onnx.TensorShapeProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import dev.samplenorm.testing.TinyNet;
import dev.samplenorm.testing.TinyNet.BnForm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Every single-field mutation of a small generator model: one change to one node, tensor,
 * attribute, graph input or output at a time. A mutant marked {@link Expect#REFUSED} breaks the
 * model's integrity (a name that points nowhere, data that does not match its dims, an epsilon
 * or variance that makes BatchNorm meaningless) and must be refused with a {@code MODEL} error; the
 * others may be refused or translated, but must never crash nor throw anything else.
 */
final class ModelMutations {

    /** The generator's fixed input size; fixed so that loading builds the network at once. */
    static final int C = 3, H = 8, W = 8;

    enum Expect {
        REFUSED, EITHER
    }

    record Mutant(String name, ModelProto model, Expect expect) {}

    private ModelMutations() {}

    /**
     * The model mutated: Conv + BatchNorm (training form) + LeakyRelu + Dropout (with its Constant
     * inputs) + ConvTranspose + BatchNorm + Relu + Conv + Tanh, at opset 14. Half of its FLOAT
     * initializers keep their values in {@code raw_data}, half in {@code float_data}, as exporters
     * write either.
     */
    static ModelProto base() {
        ModelProto m = TinyNet.builder(14, C).inputSize(H, W).conv(6, 3, 2, 1, true).batchNorm(BnForm.TRAINING_3).leakyRelu(0.2f)
                .dropout().convTranspose(4, 4, 2, 1, 0, true).batchNorm(BnForm.TRAINING_5).relu().conv(C, 3, 1, 1, true).tanh().build()
                .proto();
        GraphProto.Builder g = m.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i += 2) g.setInitializer(i, toRaw(g.getInitializer(i)));
        return m.toBuilder().setGraph(g).build();
    }

    private static TensorProto toRaw(TensorProto t) {
        ByteBuffer b = ByteBuffer.allocate(4 * t.getFloatDataCount()).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : t.getFloatDataList()) b.putFloat(f);
        return t.toBuilder().clearFloatData().setRawData(ByteString.copyFrom(b.array())).build();
    }

    static List<Mutant> all() {
        ModelProto base = base();
        List<Mutant> out = new ArrayList<>();
        GraphProto g = base.getGraph();
        for (int i = 0; i < g.getNodeCount(); i++) nodeMutants(base, i, out);
        for (int i = 0; i < g.getInitializerCount(); i++) {
            int k = i;
            tensorMutants(base, "initializer " + g.getInitializer(i).getName(), g.getInitializer(i),
                    t -> graph(base, b -> b.setInitializer(k, t)), out);
            String name = g.getInitializer(i).getName();
            out.add(new Mutant("initializer " + name + ": removed", graph(base, b -> b.removeInitializer(k)), Expect.REFUSED));
            out.add(new Mutant("initializer " + name + ": renamed", graph(base, b -> b.setInitializer(k,
                    b.getInitializer(k).toBuilder().setName(name + "_renamed"))), Expect.REFUSED));
            out.add(new Mutant("initializer " + name + ": defined twice", graph(base, b -> b.addInitializer(b.getInitializer(k))),
                    Expect.REFUSED));
        }
        valueInfoMutants(base, true, out);
        valueInfoMutants(base, false, out);
        out.add(new Mutant("opset 6", base.toBuilder().setOpsetImport(0, base.getOpsetImport(0).toBuilder().setVersion(6)).build(),
                Expect.REFUSED));
        out.add(new Mutant("opset 1000", base.toBuilder().setOpsetImport(0, base.getOpsetImport(0).toBuilder().setVersion(1000))
                .build(), Expect.EITHER));
        out.add(new Mutant("no opset import", base.toBuilder().clearOpsetImport().build(), Expect.REFUSED));
        out.add(new Mutant("ir_version 0", base.toBuilder().setIrVersion(0).build(), Expect.EITHER));
        out.add(new Mutant("no nodes", graph(base, GraphProto.Builder::clearNode), Expect.REFUSED));
        return out;
    }

    private static void nodeMutants(ModelProto base, int i, List<Mutant> out) {
        NodeProto n = base.getGraph().getNode(i);
        String id = "node " + i + " " + n.getOpType() + " '" + n.getName() + "'";
        out.add(new Mutant(id + ": removed", graph(base, b -> b.removeNode(i)), Expect.REFUSED));
        if (i > 0) {
            out.add(new Mutant(id + ": swapped with the node before", graph(base, b -> {
                NodeProto prev = b.getNode(i - 1);
                b.setNode(i - 1, b.getNode(i)).setNode(i, prev);
            }), dependsOn(n, base.getGraph().getNode(i - 1)) ? Expect.REFUSED : Expect.EITHER));
        }
        out.add(new Mutant(id + ": unknown operator", node(base, i, b -> b.setOpType("NoSuchOperator")), Expect.EITHER));
        out.add(new Mutant(id + ": other domain", node(base, i, b -> b.setDomain("com.example")), Expect.EITHER));
        out.add(new Mutant(id + ": name cleared", node(base, i, NodeProto.Builder::clearName), Expect.EITHER));
        out.add(new Mutant(id + ": extra input naming nothing", node(base, i, b -> b.addInput("dangling")), Expect.REFUSED));
        out.add(new Mutant(id + ": extra empty input", node(base, i, b -> b.addInput("")), Expect.EITHER));
        out.add(new Mutant(id + ": inputs cleared", node(base, i, NodeProto.Builder::clearInput), Expect.EITHER));
        out.add(new Mutant(id + ": outputs cleared", node(base, i, NodeProto.Builder::clearOutput), Expect.REFUSED));
        for (int k = 0; k < n.getInputCount(); k++) {
            int kk = k;
            out.add(new Mutant(id + ": input " + k + " names nothing", node(base, i, b -> b.setInput(kk, "dangling")), Expect.REFUSED));
            out.add(new Mutant(id + ": input " + k + " empty", node(base, i, b -> b.setInput(kk, "")), Expect.EITHER));
            out.add(new Mutant(id + ": input " + k + " removed", node(base, i, b -> {
                List<String> in = new ArrayList<>(b.getInputList());
                in.remove(kk);
                b.clearInput().addAllInput(in);
            }), Expect.EITHER));
            out.add(new Mutant(id + ": input " + k + " reads its own output", node(base, i, b -> b.setInput(kk, b.getOutput(0))),
                    Expect.REFUSED));
        }
        for (int k = 0; k < n.getOutputCount(); k++) {
            int kk = k;
            // Only the first output is read (BatchNorm's statistics outputs and Dropout's mask are not).
            out.add(new Mutant(id + ": output " + k + " renamed", node(base, i, b -> b.setOutput(kk, b.getOutput(kk) + "_renamed")),
                    k == 0 ? Expect.REFUSED : Expect.EITHER));
            out.add(new Mutant(id + ": output " + k + " renamed to the graph input", node(base, i, b -> b.setOutput(kk, "input")),
                    Expect.REFUSED));
        }
        for (int a = 0; a < n.getAttributeCount(); a++) attributeMutants(base, i, a, id, out);
    }

    private static boolean dependsOn(NodeProto n, NodeProto before) {
        for (String o : before.getOutputList()) if (!o.isEmpty() && n.getInputList().contains(o)) return true;
        return false;
    }

    private static void attributeMutants(ModelProto base, int i, int a, String id, List<Mutant> out) {
        NodeProto n = base.getGraph().getNode(i);
        AttributeProto attr = n.getAttribute(a);
        String at = id + ": attribute " + attr.getName();
        boolean normEps = n.getOpType().equals("BatchNormalization") && attr.getName().equals("epsilon");
        out.add(new Mutant(at + " removed", node(base, i, b -> b.removeAttribute(a)), Expect.EITHER));
        out.add(new Mutant(at + " of type UNDEFINED", attribute(base, i, a, b -> b.setType(AttributeProto.AttributeType.UNDEFINED)),
                Expect.EITHER));
        switch (attr.getType()) {
            case FLOAT -> {
                for (float f : new float[] {Float.NaN, Float.POSITIVE_INFINITY, -1f, 0f, 1e30f}) {
                    boolean bad = normEps && !(f > 0 && f < Float.POSITIVE_INFINITY);
                    out.add(new Mutant(at + " = " + f, attribute(base, i, a, b -> b.setF(f)), bad ? Expect.REFUSED : Expect.EITHER));
                }
            }
            case INT -> {
                for (long v : new long[] {-1, 0, 2, 1L << 40}) out.add(new Mutant(at + " = " + v, attribute(base, i, a, b -> b.setI(v)),
                        Expect.EITHER));
            }
            case INTS -> {
                out.add(new Mutant(at + " emptied", attribute(base, i, a, AttributeProto.Builder::clearInts), Expect.EITHER));
                out.add(new Mutant(at + " with one more value", attribute(base, i, a, b -> b.addInts(1)), Expect.EITHER));
                for (int k = 0; k < attr.getIntsCount(); k++) {
                    int kk = k;
                    for (long v : new long[] {-1, 0, 1L << 40}) {
                        out.add(new Mutant(at + "[" + k + "] = " + v, attribute(base, i, a, b -> b.setInts(kk, v)), Expect.EITHER));
                    }
                }
            }
            case TENSOR -> tensorMutants(base, at, attr.getT(), t -> attribute(base, i, a, b -> b.setT(t)), out);
            default -> { }
        }
    }

    /** Mutations of one tensor's dims, type and data; {@code put} builds the model with the tensor replaced. */
    private static void tensorMutants(ModelProto base, String id, TensorProto t, java.util.function.Function<TensorProto, ModelProto> put,
            List<Mutant> out) {
        boolean raw = t.hasRawData();
        long n = 1;
        for (long d : t.getDimsList()) n *= d;
        int elemBytes = t.getDataType() == TensorProto.DataType.INT64_VALUE ? 8 : t.getDataType() == TensorProto.DataType.BOOL_VALUE
                ? 1 : 4;
        for (int k = 0; k < t.getDimsCount(); k++) {
            int kk = k;
            long d = t.getDims(k);
            for (long v : new long[] {d * 2, d + 1, d - 1, 0, -1, 1L << 40, 1L << 62, Long.MAX_VALUE}) {
                if (v == d) continue;
                boolean same = n != 0 && d != 0 && v >= 0 && v < (1L << 40) && n / d * v == n;
                out.add(new Mutant(id + ": dim " + k + " = " + v, put.apply(t.toBuilder().setDims(kk, v).build()),
                        same ? Expect.EITHER : Expect.REFUSED));
            }
        }
        for (int k = 0; k < t.getDimsCount(); k++) {
            // Two fields, one meaning: a valid tensor with no elements where the graph expects some.
            out.add(new Mutant(id + ": no elements (dim " + k + " = 0, no data)", put.apply(t.toBuilder().setDims(k, 0).clearRawData()
                    .clearFloatData().clearInt32Data().clearInt64Data().build()), Expect.EITHER));
        }
        out.add(new Mutant(id + ": dims cleared", put.apply(t.toBuilder().clearDims().build()), n == 1 ? Expect.EITHER : Expect.REFUSED));
        out.add(new Mutant(id + ": extra dim 2", put.apply(t.toBuilder().addDims(2).build()), Expect.REFUSED));
        out.add(new Mutant(id + ": extra dim 1", put.apply(t.toBuilder().addDims(1).build()), Expect.EITHER));
        out.add(new Mutant(id + ": 20 dims of 1", put.apply(withDims(t, 20)), Expect.REFUSED));
        if (raw) {
            ByteString data = t.getRawData();
            out.add(new Mutant(id + ": raw_data emptied", put.apply(t.toBuilder().setRawData(ByteString.EMPTY).build()),
                    n == 0 ? Expect.EITHER : Expect.REFUSED));
            out.add(new Mutant(id + ": raw_data removed", put.apply(t.toBuilder().clearRawData().build()),
                    n == 0 ? Expect.EITHER : Expect.REFUSED));
            if (data.size() >= elemBytes) {
                out.add(new Mutant(id + ": raw_data one element short", put.apply(t.toBuilder().setRawData(data.substring(0,
                        data.size() - elemBytes)).build()), Expect.REFUSED));
                out.add(new Mutant(id + ": raw_data one byte short", put.apply(t.toBuilder().setRawData(data.substring(0,
                        data.size() - 1)).build()), Expect.REFUSED));
                out.add(new Mutant(id + ": raw_data halved", put.apply(t.toBuilder().setRawData(data.substring(0, data.size() / 2))
                        .build()), data.size() / 2 == data.size() ? Expect.EITHER : Expect.REFUSED));
            }
            out.add(new Mutant(id + ": raw_data one element long", put.apply(t.toBuilder().setRawData(data.concat(ByteString.copyFrom(
                    new byte[elemBytes]))).build()), Expect.REFUSED));
            out.add(new Mutant(id + ": also float_data", put.apply(t.toBuilder().addFloatData(1f).build()), Expect.REFUSED));
        } else {
            TensorProto.Builder none = t.toBuilder().clearFloatData().clearInt32Data().clearInt64Data();
            out.add(new Mutant(id + ": values removed", put.apply(none.build()), n == 0 ? Expect.EITHER : Expect.REFUSED));
            out.add(new Mutant(id + ": empty raw_data instead", put.apply(none.clone().setRawData(ByteString.EMPTY).build()),
                    n == 0 ? Expect.EITHER : Expect.REFUSED));
            if (t.getFloatDataCount() > 0) {
                List<Float> v = t.getFloatDataList();
                out.add(new Mutant(id + ": float_data one short", put.apply(t.toBuilder().clearFloatData().addAllFloatData(
                        v.subList(0, v.size() - 1)).build()), Expect.REFUSED));
                out.add(new Mutant(id + ": float_data one long", put.apply(t.toBuilder().addFloatData(0.5f).build()), Expect.REFUSED));
                out.add(new Mutant(id + ": values in int32_data", put.apply(none.clone().addInt32Data(1).build()), Expect.REFUSED));
                out.add(new Mutant(id + ": values in double_data", put.apply(none.clone().addDoubleData(1).build()), Expect.REFUSED));
            }
        }
        for (int type : new int[] {0, TensorProto.DataType.DOUBLE_VALUE, TensorProto.DataType.INT64_VALUE,
            TensorProto.DataType.FLOAT16_VALUE, TensorProto.DataType.STRING_VALUE, TensorProto.DataType.UINT8_VALUE, 99}) {
            if (type == t.getDataType()) continue;
            out.add(new Mutant(id + ": data_type " + type, put.apply(t.toBuilder().setDataType(type).build()),
                    sameBytes(t, type) ? Expect.EITHER : Expect.REFUSED));
        }
        out.add(new Mutant(id + ": external data", put.apply(t.toBuilder().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("weights.bin")).build()),
                Expect.REFUSED));
        out.add(new Mutant(id + ": a segment", put.apply(t.toBuilder().setSegment(TensorProto.Segment.newBuilder().setBegin(0)
                .setEnd(1)).build()), Expect.REFUSED));
        if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE && n > 0) {
            for (float f : new float[] {-1f, Float.NaN, Float.POSITIVE_INFINITY}) {
                boolean variance = id.contains("bn_var");
                out.add(new Mutant(id + ": first value " + f, put.apply(withFirstFloat(t, f)), variance ? Expect.REFUSED : Expect.EITHER));
            }
        }
    }

    /** A type change keeps the tensor valid when raw data keeps its element size, or typed values keep their field. */
    private static boolean sameBytes(TensorProto t, int type) {
        int from = t.getDataType();
        if (type == 0 || type == 99 || type == TensorProto.DataType.STRING_VALUE) return false;
        if (t.hasRawData()) return elementBytes(from) == elementBytes(type);
        return field(from).equals(field(type));
    }

    private static int elementBytes(int type) {
        return switch (type) {
            case 2, 3, 9 -> 1;
            case 4, 5, 10, 16 -> 2;
            case 1, 6, 12 -> 4;
            case 7, 11, 13, 14 -> 8;
            default -> 16;
        };
    }

    private static String field(int type) {
        return switch (type) {
            case 1 -> "float";
            case 7 -> "int64";
            case 11 -> "double";
            default -> "int32";
        };
    }

    private static TensorProto withDims(TensorProto t, int rank) {
        TensorProto.Builder b = t.toBuilder();
        while (b.getDimsCount() < rank) b.addDims(1);
        return b.build();
    }

    private static TensorProto withFirstFloat(TensorProto t, float f) {
        if (t.hasRawData()) {
            byte[] b = t.getRawData().toByteArray();
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, f);
            return t.toBuilder().setRawData(ByteString.copyFrom(b)).build();
        }
        return t.toBuilder().setFloatData(0, f).build();
    }

    private static void valueInfoMutants(ModelProto base, boolean input, List<Mutant> out) {
        GraphProto g = base.getGraph();
        String id = input ? "graph input" : "graph output";
        ValueInfoProto v = input ? g.getInput(0) : g.getOutput(0);
        java.util.function.Function<ValueInfoProto, ModelProto> put = x -> graph(base, b -> {
            if (input) b.setInput(0, x);
            else b.setOutput(0, x);
        });
        out.add(new Mutant(id + ": renamed", put.apply(v.toBuilder().setName(v.getName() + "_renamed").build()), Expect.REFUSED));
        out.add(new Mutant(id + ": name cleared", put.apply(v.toBuilder().clearName().build()), Expect.REFUSED));
        out.add(new Mutant(id + ": removed", graph(base, b -> {
            if (input) b.removeInput(0);
            else b.removeOutput(0);
        }), Expect.EITHER));
        out.add(new Mutant(id + ": declared twice", graph(base, b -> {
            if (input) b.addInput(v);
            else b.addOutput(v);
        }), input ? Expect.REFUSED : Expect.EITHER));
        out.add(new Mutant(id + ": shape removed", put.apply(v.toBuilder().setType(v.getType().toBuilder().setTensorType(
                v.getType().getTensorType().toBuilder().clearShape())).build()), Expect.EITHER));
        out.add(new Mutant(id + ": element type DOUBLE", put.apply(v.toBuilder().setType(v.getType().toBuilder().setTensorType(
                v.getType().getTensorType().toBuilder().setElemType(11))).build()), Expect.EITHER));
        TensorShapeProto shape = v.getType().getTensorType().getShape();
        for (int k = 0; k < shape.getDimCount(); k++) {
            int kk = k;
            for (long d : new long[] {0, 1, 5, -7, 1L << 31, 1L << 40, Long.MAX_VALUE}) {
                TensorShapeProto s = shape.toBuilder().setDim(kk, TensorShapeProto.Dimension.newBuilder().setDimValue(d)).build();
                boolean huge = d > Integer.MAX_VALUE;
                out.add(new Mutant(id + ": dim " + k + " = " + d, put.apply(v.toBuilder().setType(v.getType().toBuilder().setTensorType(
                        v.getType().getTensorType().toBuilder().setShape(s))).build()), huge ? Expect.REFUSED : Expect.EITHER));
            }
        }
        out.add(new Mutant(id + ": rank 20", put.apply(v.toBuilder().setType(v.getType().toBuilder().setTensorType(
                v.getType().getTensorType().toBuilder().setShape(withRank(shape, 20)))).build()), Expect.REFUSED));
    }

    private static TensorShapeProto withRank(TensorShapeProto s, int rank) {
        TensorShapeProto.Builder b = s.toBuilder();
        while (b.getDimCount() < rank) b.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(1));
        return b.build();
    }

    private interface GraphEdit {
        void apply(GraphProto.Builder b);
    }

    private static ModelProto graph(ModelProto m, GraphEdit edit) {
        GraphProto.Builder b = m.getGraph().toBuilder();
        edit.apply(b);
        return m.toBuilder().setGraph(b).build();
    }

    private interface NodeEdit {
        void apply(NodeProto.Builder b);
    }

    private static ModelProto node(ModelProto m, int i, NodeEdit edit) {
        return graph(m, b -> {
            NodeProto.Builder n = b.getNode(i).toBuilder();
            edit.apply(n);
            b.setNode(i, n);
        });
    }

    private interface AttributeEdit {
        void apply(AttributeProto.Builder b);
    }

    private static ModelProto attribute(ModelProto m, int i, int a, AttributeEdit edit) {
        return node(m, i, n -> {
            AttributeProto.Builder b = n.getAttribute(a).toBuilder();
            edit.apply(b);
            n.setAttribute(a, b);
        });
    }
}
