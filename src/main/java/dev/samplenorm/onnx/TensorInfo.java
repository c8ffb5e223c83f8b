package dev.samplenorm.onnx;

import dev.samplenorm.onnx.proto.Onnx.TensorShapeProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A graph input or output as the model declares it: name, element type and shape. A shape the
 * model does not declare at all has {@link #rankKnown()} false.
 *
 * @param elementType ONNX {@code TensorProto.DataType} number (1 = FLOAT)
 * @param dims one entry per axis; empty when the rank is unknown
 */
public record TensorInfo(String name, int elementType, boolean rankKnown, List<Dimension> dims) {

    /** ONNX element type FLOAT. */
    public static final int FLOAT = 1;

    /** One axis: a fixed extent ({@code value >= 0}) or a named / unnamed symbolic one ({@code value == -1}). */
    public record Dimension(long value, String symbol) {
        public Dimension {
            Objects.requireNonNull(symbol, "symbol");
        }

        public boolean isFixed() {
            return value >= 0;
        }

        @Override
        public String toString() {
            return isFixed() ? Long.toString(value) : symbol.isEmpty() ? "?" : symbol;
        }
    }

    public TensorInfo {
        Objects.requireNonNull(name, "name");
        dims = List.copyOf(dims);
    }

    static TensorInfo of(ValueInfoProto v) {
        List<Dimension> dims = new ArrayList<>();
        boolean rankKnown = false;
        int type = 0;
        if (v.hasType() && v.getType().hasTensorType()) {
            var t = v.getType().getTensorType();
            type = t.getElemType();
            if (t.hasShape()) {
                rankKnown = true;
                for (TensorShapeProto.Dimension d : t.getShape().getDimList()) {
                    dims.add(d.hasDimValue() && d.getDimValue() >= 0 ? new Dimension(d.getDimValue(), "")
                            : new Dimension(-1, d.hasDimParam() ? d.getDimParam() : ""));
                }
            }
        }
        return new TensorInfo(v.getName(), type, rankKnown, dims);
    }

    /** Number of axes; -1 when unknown. */
    public int rank() {
        return rankKnown ? dims.size() : -1;
    }

    /** The extent of {@code axis} when fixed, else -1 (also when the rank is unknown or smaller). */
    public long dim(int axis) {
        return axis < dims.size() ? dims.get(axis).value() : -1;
    }

    /** The element type's ONNX name, e.g. FLOAT. */
    public String elementTypeName() {
        return elementTypeName(elementType);
    }

    static String elementTypeName(int t) {
        String[] names = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL", "FLOAT16",
            "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
        return t >= 0 && t < names.length ? names[t] : "type " + t;
    }

    @Override
    public String toString() {
        return name + ": " + elementTypeName() + (rankKnown ? " " + dims : " (shape not declared)");
    }
}
