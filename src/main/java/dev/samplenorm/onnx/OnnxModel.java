package dev.samplenorm.onnx;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.TensorShapeProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Objects;

/**
 * An ONNX model held as its protobuf message. Immutable; reading validates that the bytes are an
 * ONNX model (an {@code ir_version}, an operator set and a graph with nodes), so a wrong file fails
 * here with a message saying what was expected rather than deep inside OpenCV. Every model, read or
 * built in code, also passes {@link ModelValidator}: a model held by an {@code OnnxModel} is safe to
 * hand to the rewrite and to OpenCV's importer.
 */
public final class OnnxModel {

    private final ModelProto proto;
    private volatile ModelInfo info;

    private OnnxModel(ModelProto proto) {
        this.proto = proto;
    }

    /**
     * Wraps a message built in code (tests, tools).
     *
     * @throws SampleNormException ({@code MODEL}) if it is not a usable ONNX model
     */
    public static OnnxModel of(ModelProto proto) {
        Objects.requireNonNull(proto, "proto");
        validate(proto, "model");
        return new OnnxModel(proto);
    }

    /** Reads an {@code .onnx} file. */
    public static OnnxModel read(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        if (!Files.isRegularFile(path)) {
            throw new IOException("ONNX model " + path + ": expected a regular file, found " + (Files.exists(path) ? "something else"
                    : "nothing"));
        }
        return parse(Files.readAllBytes(path), path.toString());
    }

    /** Parses the bytes of an {@code .onnx} file. */
    public static OnnxModel parse(byte[] bytes) {
        return parse(bytes, "bytes");
    }

    /**
     * The class path resource of the model bundled in the library jar (pix2pix_shapes_128, the
     * command line's default model), for {@link #fromResource}.
     */
    public static final String BUNDLED_RESOURCE = "dev/samplenorm/models/pix2pix_shapes_128.onnx";

    /**
     * Reads a model from the class path, e.g. {@code "models/net.onnx"} (no leading slash), through
     * the context class loader or, without one, this class's loader.
     */
    public static OnnxModel fromResource(String resource) {
        Objects.requireNonNull(resource, "resource");
        String name = resource.startsWith("/") ? resource.substring(1) : resource;
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) loader = OnnxModel.class.getClassLoader();
        try (InputStream in = loader.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalArgumentException("ONNX model resource '" + name + "' not found on the class path");
            }
            return parse(in.readAllBytes(), "resource " + name);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read ONNX model resource '" + name + "'", e);
        }
    }

    private static OnnxModel parse(byte[] bytes, String what) {
        Objects.requireNonNull(bytes, "bytes");
        ModelProto proto;
        try {
            proto = ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw notOnnx(what, bytes, "the protobuf decoder failed: " + e.getMessage());
        }
        if (!proto.hasIrVersion() || !proto.hasGraph() || proto.getGraph().getNodeCount() == 0) {
            // Random bytes often decode as a message of unknown fields only.
            throw notOnnx(what, bytes, "no ir_version or no graph with nodes");
        }
        validate(proto, what);
        return new OnnxModel(proto);
    }

    private static SampleNormException notOnnx(String what, byte[] bytes, String why) {
        int k = Math.min(bytes.length, 8);
        String head = HexFormat.ofDelimiter(" ").formatHex(bytes, 0, k);
        return new SampleNormException(SampleNormException.Code.MODEL, "not an ONNX file (" + what + ", " + bytes.length
                + " bytes, starting " + (k == 0 ? "with nothing" : head) + "): expected a protobuf-encoded onnx.ModelProto as"
                + " written by torch.onnx.export or onnx.save; " + why);
    }

    private static void validate(ModelProto proto, String what) {
        if (!proto.hasGraph()) {
            throw new SampleNormException(SampleNormException.Code.MODEL, what + ": the ONNX model has no graph");
        }
        if (proto.getOpsetImportCount() == 0) {
            throw new SampleNormException(SampleNormException.Code.MODEL, what + ": the ONNX model imports no operator set;"
                    + " expected an opset_import entry for the default domain");
        }
        ModelValidator.validate(proto, what);
    }

    /**
     * This model with the batch extent (first dimension) of {@code dataInput} and of every output
     * declared symbolic ("N"), so that one ONNX Runtime session serves every batch size (it refuses a
     * batch size other than a declared one). Only dimension names change, so nothing is validated again.
     */
    public OnnxModel withSymbolicBatch(String dataInput) {
        Objects.requireNonNull(dataInput, "dataInput");
        ModelProto.Builder m = proto.toBuilder();
        GraphProto.Builder g = m.getGraphBuilder();
        for (int i = 0; i < g.getInputCount(); i++) {
            if (g.getInput(i).getName().equals(dataInput)) symbolicBatch(g.getInputBuilder(i));
        }
        for (int i = 0; i < g.getOutputCount(); i++) symbolicBatch(g.getOutputBuilder(i));
        return new OnnxModel(m.build());
    }

    private static void symbolicBatch(ValueInfoProto.Builder v) {
        if (!v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) return;
        TensorShapeProto.Builder s = v.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
        if (s.getDimCount() > 0) s.setDim(0, TensorShapeProto.Dimension.newBuilder().setDimParam("N"));
    }

    /** The protobuf message. */
    public ModelProto proto() {
        return proto;
    }

    /** The model serialized as an {@code .onnx} file's bytes. */
    public byte[] toByteArray() {
        return proto.toByteArray();
    }

    /** Writes the model as an {@code .onnx} file. */
    public void write(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        Files.write(path, toByteArray());
    }

    /** What the model contains: operator set, inputs and outputs, BatchNorm and Dropout nodes, warnings. */
    public ModelInfo info() {
        ModelInfo i = info;
        if (i == null) {
            i = ModelInfo.of(proto);
            info = i;
        }
        return i;
    }

    @Override
    public String toString() {
        return "OnnxModel{" + info().summary() + "}";
    }
}
