package dev.samplenorm.onnx;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.onnx.proto.Onnx.AttributeProto;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import dev.samplenorm.onnx.proto.Onnx.TensorShapeProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Structural checks on an ONNX model, run by {@link OnnxModel} on every model it holds, so that
 * neither the rewrite nor OpenCV's importer ever sees a model that could make native code read out
 * of bounds. OpenCV 4.13's importer trusts the file: a node input that names no tensor crashes it
 * (SIGSEGV), so does an initializer whose dims promise more data than it holds (SIGSEGV; SIGFPE
 * when the data is empty), and data shorter than its dims is read past its end.
 *
 * <p>What is checked, in the main graph and in every subgraph (If / Loop / Scan bodies):
 * <ul>
 *   <li><b>Graph integrity.</b> Every non-empty node input is a graph input, an initializer, or an
 *       output of an earlier node (ONNX requires topological order, so a cycle shows up as a read
 *       before its definition); a subgraph may also read the names visible where its node stands.
 *       Every name is defined once, and every graph output is defined.
 *   <li><b>Tensor data.</b> Every initializer and every tensor-valued attribute (a Constant node's
 *       {@code value}): a known element type, non-negative dims, at most {@link #MAX_RANK} of them,
 *       at most {@link #MAX_TENSOR_ELEMENTS} elements (multiplied overflow-safely), and data of
 *       exactly that many elements, in {@code raw_data} or in the one typed field ONNX assigns to
 *       the type. External data and segments are refused.
 *   <li><b>Limits.</b> Declared graph input, output and value shapes have extents of at most
 *       {@link #MAX_TENSOR_ELEMENTS} and, where fixed, at most that many elements; all constants
 *       together hold at most {@link #MAX_PARAMETER_BYTES}.
 *   <li><b>The operators samplenorm rewrites.</b> BatchNormalization and InstanceNormalization:
 *       {@code epsilon} finite and greater than 0; BatchNormalization's running variance, where it is
 *       a FLOAT constant, finite and non-negative; the per-channel parameters that are constants are
 *       1-D, not empty and of one length.
 *   <li><b>Operators OpenCV divides or indexes by.</b> Conv, ConvTranspose and pooling: {@code group},
 *       kernel extents, strides and dilations from 1 to {@link #MAX_WINDOW}, pads from 0, each list
 *       as long as the weights have spatial axes, weights without a zero extent ({@code group = 0}
 *       and a zero channel extent are SIGFPE in OpenCV 4.13). The inputs an operator of image
 *       generators needs are not left empty (an empty BatchNormalization input is SIGSEGV).
 * </ul>
 * The mutation test ({@code ModelMutationTest}) and the fuzz target ({@code OnnxModelFuzzTest})
 * hold this class to its promise; each crash they found in plain OpenCV is a rule here.
 * Each failure is a {@link SampleNormException} with code {@code MODEL} that names the node or tensor.
 */
public final class ModelValidator {

    /**
     * Most elements one tensor may declare: 2^31 - 1, the largest extent OpenCV's {@code int} sizes
     * and a Java array can hold (a float tensor of this size is 8 GiB).
     */
    public static final long MAX_TENSOR_ELEMENTS = Integer.MAX_VALUE;

    /** Most axes one tensor may declare (OpenCV's own limit is 32; ONNX generators use 4 or 5). */
    public static final int MAX_RANK = 16;

    /**
     * Most bytes all constants of a model may hold together: 4 GiB. A model read from an
     * {@code .onnx} file is held to 2 GiB anyway by protobuf; this bounds models built in code.
     */
    public static final long MAX_PARAMETER_BYTES = 4L << 30;

    /**
     * Largest window extent, stride, dilation, pad and group of a convolution or pooling node:
     * 65536. OpenCV keeps them as {@code int} and divides by stride and group.
     */
    public static final long MAX_WINDOW = 1 << 16;

    /**
     * Inputs that may not be left empty ({@code ""}, ONNX's mark of an omitted optional input), for
     * the operators of image generators: the leading ones, or all listed (-1). OpenCV's importer
     * dereferences such a name without looking (SIGSEGV for an empty BatchNormalization input).
     */
    private static final Map<String, Integer> REQUIRED_INPUTS = Map.ofEntries(Map.entry("BatchNormalization", 5),
            Map.entry("InstanceNormalization", 3), Map.entry("Conv", 2), Map.entry("ConvTranspose", 2), Map.entry("Gemm", 2),
            Map.entry("MatMul", 2), Map.entry("Add", 2), Map.entry("Sub", 2), Map.entry("Mul", 2), Map.entry("Div", 2),
            Map.entry("Pow", 2), Map.entry("PRelu", 2), Map.entry("Concat", -1), Map.entry("Sum", -1), Map.entry("Max", -1),
            Map.entry("Min", -1), Map.entry("Mean", -1), Map.entry("Relu", 1), Map.entry("LeakyRelu", 1), Map.entry("Tanh", 1),
            Map.entry("Sigmoid", 1), Map.entry("Elu", 1), Map.entry("Identity", 1), Map.entry("Dropout", 1), Map.entry("Transpose", 1),
            Map.entry("Reshape", 2), Map.entry("Flatten", 1), Map.entry("Pad", 1), Map.entry("Resize", 1), Map.entry("Upsample", 1),
            Map.entry("MaxPool", 1), Map.entry("AveragePool", 1), Map.entry("Shape", 1), Map.entry("Gather", 2),
            Map.entry("Slice", 1), Map.entry("Cast", 1), Map.entry("Squeeze", 1), Map.entry("Unsqueeze", 1), Map.entry("Softmax", 1),
            Map.entry("Clip", 1), Map.entry("ConstantOfShape", 1), Map.entry("Expand", 2), Map.entry("Where", 3));

    /** Deepest nesting of subgraphs followed (protobuf's own parser stops at 100 message levels). */
    static final int MAX_SUBGRAPH_DEPTH = 32;

    private static final float DEFAULT_EPSILON = 1e-5f;

    private final String what;
    private long parameterBytes;

    private ModelValidator(String what) {
        this.what = what;
    }

    /**
     * Checks {@code model}.
     *
     * @param what how messages name the model, e.g. its file
     * @throws SampleNormException ({@code MODEL}) naming the node or tensor at fault
     */
    public static void validate(ModelProto model, String what) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(what, "what");
        ModelValidator v = new ModelValidator(what);
        if (!model.hasGraph()) throw v.error("the ONNX model has no graph");
        v.graph(model.getGraph(), Set.of(), 0);
    }

    // ---------------------------------------------------------------------------------- graphs

    /** Checks one graph; {@code outer} holds the names visible to it from enclosing graphs. */
    private void graph(GraphProto g, Set<String> outer, int depth) {
        if (depth > MAX_SUBGRAPH_DEPTH) {
            throw error("subgraphs are nested more than " + MAX_SUBGRAPH_DEPTH + " deep in graph '" + g.getName() + "'");
        }
        String where = depth == 0 ? "" : " in subgraph '" + g.getName() + "'";
        Set<String> defined = new HashSet<>(outer);
        Set<String> own = new HashSet<>();
        Map<String, TensorProto> initializers = new HashMap<>();
        for (TensorProto t : g.getInitializerList()) {
            String name = t.getName();
            if (name.isEmpty()) throw error("an initializer" + where + " has no name; expected every initializer to be named");
            if (initializers.put(name, t) != null) throw error("initializer '" + name + "'" + where + " is defined twice");
            tensor(t, "initializer '" + name + "'" + where);
            defined.add(name);
            own.add(name);
        }
        Set<String> inputs = new HashSet<>();
        for (ValueInfoProto v : g.getInputList()) {
            String name = v.getName();
            if (name.isEmpty()) throw error("a graph input" + where + " has no name; expected every input to be named");
            // IR < 4 lists each initializer as an input too (its default value): allowed once.
            if (!inputs.add(name)) throw error("graph input '" + name + "'" + where + " is declared twice");
            shape(v, "graph input '" + name + "'" + where);
            defined.add(name);
            own.add(name);
        }
        for (ValueInfoProto v : g.getOutputList()) shape(v, "graph output '" + v.getName() + "'" + where);
        for (ValueInfoProto v : g.getValueInfoList()) shape(v, "value '" + v.getName() + "'" + where);

        Map<String, Integer> producedAt = new HashMap<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            for (String o : g.getNode(i).getOutputList()) if (!o.isEmpty()) producedAt.putIfAbsent(o, i);
        }
        Map<String, NodeProto> producers = new HashMap<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = g.getNode(i);
            String node = "node " + (i + 1) + " " + Graphs.describe(n) + where;
            for (String in : n.getInputList()) {
                if (in.isEmpty() || defined.contains(in)) continue;
                Integer later = producedAt.get(in);
                if (later != null) {
                    throw error(node + " reads '" + in + "' before node " + (later + 1) + " " + Graphs.describe(g.getNode(later))
                            + " computes it; expected nodes in topological order and no cycle");
                }
                throw error(node + " reads '" + in + "', which is no graph input, initializer or node output; expected every"
                        + " node input to name a tensor");
            }
            for (AttributeProto a : n.getAttributeList()) attribute(a, node, defined, depth);
            for (String o : n.getOutputList()) {
                if (o.isEmpty()) continue;
                if (own.contains(o)) {
                    throw error(node + " writes '" + o + "', which is already a graph input or initializer; expected every tensor"
                            + " name to be assigned once");
                }
                if (producers.put(o, n) != null) {
                    throw error(node + " writes '" + o + "', which an earlier node already writes; expected every tensor name to be"
                            + " assigned once");
                }
                defined.add(o);
            }
            operator(n, node, initializers, producers);
        }
        for (ValueInfoProto v : g.getOutputList()) {
            if (v.getName().isEmpty()) throw error("a graph output" + where + " has no name; expected every output to be named");
            if (!defined.contains(v.getName())) {
                throw error("graph output '" + v.getName() + "'" + where + " is no node output, initializer or graph input;"
                        + " expected every graph output to name a tensor");
            }
        }
    }

    private void attribute(AttributeProto a, String node, Set<String> scope, int depth) {
        String at = node + ", attribute '" + a.getName() + "'";
        if (a.hasT()) tensor(a.getT(), at);
        for (int k = 0; k < a.getTensorsCount(); k++) tensor(a.getTensors(k), at + " tensor " + k);
        if (a.hasG()) graph(a.getG(), Set.copyOf(scope), depth + 1);
        for (GraphProto sub : a.getGraphsList()) graph(sub, Set.copyOf(scope), depth + 1);
    }

    private void shape(ValueInfoProto v, String what) {
        if (!v.hasType() || !v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) return;
        TensorShapeProto s = v.getType().getTensorType().getShape();
        if (s.getDimCount() > MAX_RANK) {
            throw error(what + " declares " + s.getDimCount() + " axes; expected at most " + MAX_RANK);
        }
        long elements = 1;
        for (TensorShapeProto.Dimension d : s.getDimList()) {
            if (!d.hasDimValue()) continue;
            long x = d.getDimValue();
            // A negative extent is read as unknown (TensorInfo), as some exporters write -1.
            if (x < 0) continue;
            if (x > MAX_TENSOR_ELEMENTS || (elements = multiply(elements, x)) > MAX_TENSOR_ELEMENTS) {
                throw error(what + " declares shape " + dims(s) + "; expected at most " + MAX_TENSOR_ELEMENTS + " elements");
            }
        }
    }

    private static String dims(TensorShapeProto s) {
        StringBuilder b = new StringBuilder("[");
        for (TensorShapeProto.Dimension d : s.getDimList()) {
            if (b.length() > 1) b.append(", ");
            b.append(d.hasDimValue() ? Long.toString(d.getDimValue()) : d.hasDimParam() ? d.getDimParam() : "?");
        }
        return b.append(']').toString();
    }

    // ---------------------------------------------------------------------------------- tensors

    /** Element size in bytes and the typed field that holds the values, per ONNX data type. */
    private enum Storage {
        FLOAT(1, 4, "float_data", 1), UINT8(2, 1, "int32_data", 1), INT8(3, 1, "int32_data", 1), UINT16(4, 2, "int32_data", 1),
        INT16(5, 2, "int32_data", 1), INT32(6, 4, "int32_data", 1), INT64(7, 8, "int64_data", 1), STRING(8, 0, "string_data", 1),
        BOOL(9, 1, "int32_data", 1), FLOAT16(10, 2, "int32_data", 1), DOUBLE(11, 8, "double_data", 1),
        UINT32(12, 4, "uint64_data", 1), UINT64(13, 8, "uint64_data", 1), COMPLEX64(14, 8, "float_data", 2),
        COMPLEX128(15, 16, "double_data", 2), BFLOAT16(16, 2, "int32_data", 1);

        final int type;
        final int bytes;
        final String field;
        final int valuesPerElement;

        Storage(int type, int bytes, String field, int valuesPerElement) {
            this.type = type;
            this.bytes = bytes;
            this.field = field;
            this.valuesPerElement = valuesPerElement;
        }

        static Storage of(int type) {
            for (Storage s : values()) if (s.type == type) return s;
            return null;
        }
    }

    private void tensor(TensorProto t, String what) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0) {
            throw error(what + " keeps its data in an external file, which samplenorm does not read (a model must be one"
                    + " self-contained file); expected every tensor inside the model: save it with onnx.save(model, path,"
                    + " save_as_external_data=False)");
        }
        if (t.hasSegment()) {
            throw error(what + " is a segment of a larger tensor; expected whole tensors");
        }
        Storage s = Storage.of(t.getDataType());
        if (s == null) {
            throw error(what + " has element type " + TensorInfo.elementTypeName(t.getDataType())
                    + "; expected one of the ONNX tensor types FLOAT ... BFLOAT16");
        }
        if (t.getDimsCount() > MAX_RANK) {
            throw error(what + " declares " + t.getDimsCount() + " axes; expected at most " + MAX_RANK);
        }
        long n = 1;
        for (long d : t.getDimsList()) {
            if (d < 0) throw error(what + " has dims " + t.getDimsList() + "; expected no negative extent");
            if (d > MAX_TENSOR_ELEMENTS || (n = multiply(n, d)) > MAX_TENSOR_ELEMENTS) {
                throw error(what + " has dims " + t.getDimsList() + "; expected at most " + MAX_TENSOR_ELEMENTS + " elements");
            }
        }
        boolean raw = t.hasRawData() && !t.getRawData().isEmpty();
        int typed = (t.getFloatDataCount() > 0 ? 1 : 0) + (t.getInt32DataCount() > 0 ? 1 : 0) + (t.getStringDataCount() > 0 ? 1 : 0)
                + (t.getInt64DataCount() > 0 ? 1 : 0) + (t.getDoubleDataCount() > 0 ? 1 : 0) + (t.getUint64DataCount() > 0 ? 1 : 0);
        if (typed + (raw ? 1 : 0) > 1) {
            throw error(what + " holds its values in " + (typed + (raw ? 1 : 0)) + " fields; expected them in raw_data or in "
                    + s.field + " only");
        }
        String type = TensorInfo.elementTypeName(s.type);
        if (s == Storage.STRING) {
            if (raw) throw error(what + " is a STRING tensor with raw_data; expected its values in string_data");
            long have = typed == 0 ? 0 : typedCount(t, s);
            if (have != n) {
                throw error(what + " has dims " + t.getDimsList() + " of STRING, which need " + n + " values; its string_data holds "
                        + Math.max(have, 0));
            }
        } else if (typed == 0) {
            long have = t.getRawData().size();
            if (have != n * s.bytes) {
                throw error(what + " has dims " + t.getDimsList() + " of " + type + ", which need " + n * s.bytes + " bytes of data;"
                        + (t.hasRawData() ? " its raw_data holds " + have : " it holds none"));
            }
        } else {
            long have = typedCount(t, s);
            if (have < 0) {
                throw error(what + " is " + type + " but holds its values in another field than " + s.field
                        + "; expected raw_data or " + s.field);
            }
            if (have != n * s.valuesPerElement) {
                throw error(what + " has dims " + t.getDimsList() + " of " + type + ", which need " + n * s.valuesPerElement
                        + " values; its " + s.field + " holds " + have);
            }
        }
        parameterBytes += n * Math.max(s.bytes, 1);
        if (parameterBytes > MAX_PARAMETER_BYTES) {
            throw error("the model's constants hold more than " + MAX_PARAMETER_BYTES + " bytes (reached at " + what
                    + "); expected at most that");
        }
    }

    /** Values in the typed field for {@code s}; -1 when the values sit in another field. */
    private static long typedCount(TensorProto t, Storage s) {
        return switch (s.field) {
            case "float_data" -> t.getFloatDataCount() > 0 ? t.getFloatDataCount() : -1;
            case "int32_data" -> t.getInt32DataCount() > 0 ? t.getInt32DataCount() : -1;
            case "int64_data" -> t.getInt64DataCount() > 0 ? t.getInt64DataCount() : -1;
            case "double_data" -> t.getDoubleDataCount() > 0 ? t.getDoubleDataCount() : -1;
            case "uint64_data" -> t.getUint64DataCount() > 0 ? t.getUint64DataCount() : -1;
            case "string_data" -> t.getStringDataCount() > 0 ? t.getStringDataCount() : -1;
            default -> -1;
        };
    }

    private static long multiply(long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    // ---------------------------------------------------------------------------------- operators

    private void operator(NodeProto n, String node, Map<String, TensorProto> init, Map<String, NodeProto> producers) {
        if (!Graphs.isDefaultDomain(n)) return;
        Integer required = REQUIRED_INPUTS.get(n.getOpType());
        if (required != null) {
            int k = required < 0 ? n.getInputCount() : Math.min(required, n.getInputCount());
            for (int i = 0; i < k; i++) {
                if (n.getInput(i).isEmpty()) {
                    throw error(node + " leaves its input " + i + " empty; expected a tensor name there (" + n.getOpType()
                            + (required < 0 ? " reads every input it lists)" : " needs its first " + required + " inputs)"));
                }
            }
        }
        switch (n.getOpType()) {
            case "BatchNormalization", "InstanceNormalization" -> normalization(n, node, init, producers);
            case "Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool" -> window(n, node, init, producers);
            default -> { }
        }
    }

    private void normalization(NodeProto n, String node, Map<String, TensorProto> init, Map<String, NodeProto> producers) {
        boolean bn = Graphs.is(n, "BatchNormalization");
        for (AttributeProto a : n.getAttributeList()) {
            if (!a.getName().equals("epsilon")) continue;
            float eps = a.getF();
            if (!(eps > 0) || Float.isInfinite(eps)) {
                throw error(node + " has epsilon " + eps + "; expected a finite value greater than 0 (the default is "
                        + DEFAULT_EPSILON + ")");
            }
        }
        // Per-channel parameters: scale, B (and mean, var for BatchNorm).
        int last = bn ? 4 : 2;
        long length = -1;
        String first = null;
        for (int k = 1; k <= last && k < n.getInputCount(); k++) {
            TensorProto t = Tensors.constant(n.getInput(k), init, producers);
            if (t == null) continue;
            String name = "'" + n.getInput(k) + "'";
            if (t.getDimsCount() != 1) {
                throw error(node + ": its per-channel parameter " + name + " has dims " + t.getDimsList() + "; expected one axis");
            }
            if (t.getDims(0) < 1) {
                throw error(node + ": its per-channel parameter " + name + " holds no value; expected one per channel");
            }
            if (length < 0) {
                length = t.getDims(0);
                first = name;
            } else if (t.getDims(0) != length) {
                throw error(node + ": its per-channel parameters " + first + " and " + name + " hold " + length + " and "
                        + t.getDims(0) + " values; expected one value per channel in each");
            }
            if (bn && k == 4) variance(t, node, name);
        }
    }

    /**
     * Convolutions and pooling: OpenCV divides by {@code group} and strides and sizes its loops by
     * the attribute lists, so each must be in range and of the spatial rank of the weights.
     */
    private void window(NodeProto n, String node, Map<String, TensorProto> init, Map<String, NodeProto> producers) {
        boolean conv = Graphs.is(n, "Conv") || Graphs.is(n, "ConvTranspose");
        TensorProto w = conv && n.getInputCount() > 1 ? Tensors.constant(n.getInput(1), init, producers) : null;
        int spatial = -1;
        if (w != null) {
            if (w.getDimsCount() < 3) {
                throw error(node + ": its weights '" + n.getInput(1) + "' have dims " + w.getDimsList() + "; expected (C_out, C_in /"
                        + " group, k1, k2, ...) for Conv or (C_in, C_out / group, k1, k2, ...) for ConvTranspose");
            }
            for (long d : w.getDimsList()) {
                if (d < 1) {
                    // OpenCV divides by the channel extents: SIGFPE on a 0.
                    throw error(node + ": its weights '" + n.getInput(1) + "' have dims " + w.getDimsList()
                            + "; expected every extent >= 1");
                }
            }
            spatial = w.getDimsCount() - 2;
        }
        for (AttributeProto a : n.getAttributeList()) {
            String name = a.getName();
            long lo;
            int length;
            switch (name) {
                case "kernel_shape", "strides", "dilations" -> {
                    lo = 1;
                    length = 1;
                }
                case "pads" -> {
                    lo = 0;
                    length = 2;
                }
                case "output_padding" -> {
                    lo = 0;
                    length = 1;
                }
                case "output_shape" -> {
                    lo = 1;
                    length = 1;
                }
                case "group" -> {
                    if (a.getI() < 1 || a.getI() > MAX_WINDOW) {
                        throw error(node + " has group " + a.getI() + "; expected 1 to " + MAX_WINDOW);
                    }
                    if (w != null && w.getDims(0) % a.getI() != 0) {
                        throw error(node + " has group " + a.getI() + " and weights '" + n.getInput(1) + "' of dims "
                                + w.getDimsList() + "; expected the first extent to be a multiple of group");
                    }
                    continue;
                }
                default -> {
                    continue;
                }
            }
            int count = a.getIntsCount();
            if (spatial < 0 && name.equals("kernel_shape")) spatial = count;
            if (spatial >= 0 && count != length * spatial) {
                throw error(node + " has " + name + " " + a.getIntsList() + "; expected " + length * spatial + " values for "
                        + spatial + " spatial axes");
            }
            for (int i = 0; i < count; i++) {
                long v = a.getInts(i);
                long hi = name.equals("output_shape") ? MAX_TENSOR_ELEMENTS : MAX_WINDOW;
                if (v < lo || v > hi) {
                    throw error(node + " has " + name + " " + a.getIntsList() + "; expected values from " + lo + " to " + hi);
                }
                if (w != null && name.equals("kernel_shape") && v != w.getDims(2 + i)) {
                    throw error(node + " has kernel_shape " + a.getIntsList() + " but weights '" + n.getInput(1) + "' of dims "
                            + w.getDimsList() + "; expected the kernel extents of the weights");
                }
            }
        }
    }

    private void variance(TensorProto t, String node, String name) {
        float[] v = Tensors.floats(t);
        if (v == null) return;
        for (int i = 0; i < v.length; i++) {
            if (!(v[i] >= 0) || Float.isInfinite(v[i])) {
                throw error(node + ": its running variance " + name + " holds " + v[i] + " at channel " + i
                        + "; expected finite values >= 0");
            }
        }
    }

    private SampleNormException error(String message) {
        return new SampleNormException(SampleNormException.Code.MODEL, what + ": " + message);
    }
}
