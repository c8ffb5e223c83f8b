package dev.samplenorm.server;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.samplenorm.onnx.TensorInfo;
import dev.samplenorm.runtime.TranslationService;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * KServe's Open Inference Protocol (v2) over REST for one image-to-image model: metadata documents,
 * and infer requests and responses with FP32 tensors as JSON or through the binary tensor data
 * extension (as Triton implements it: an {@code Inference-Header-Content-Length} header gives the
 * length of the JSON part, raw little-endian tensor bytes follow it in input order, each input saying
 * its {@code binary_data_size}).
 */
final class InferenceProtocol {

    /** The binary extension's header: length of the JSON part of a request or response body. */
    static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    static final String VERSION = "1";

    private final ObjectMapper json;
    private final TranslationService service;
    private final String name;
    private final String inputName, outputName;

    InferenceProtocol(ObjectMapper json, TranslationService service, String name) {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalStateException("the binary tensor extension is implemented for little-endian hosts only");
        }
        this.json = json;
        this.service = service;
        this.name = name;
        this.inputName = service.modelInfo().input().name();
        this.outputName = service.modelInfo().outputs().isEmpty() ? "output" : service.modelInfo().outputs().get(0).name();
    }

    /** A parsed infer request: the input blob (owned by the caller) and how to answer. */
    record InferRequest(String id, Mat blob, boolean binaryOutput) {}

    ObjectNode serverMetadata() {
        ObjectNode n = json.createObjectNode();
        n.put("name", "samplenorm");
        n.put("version", serverVersion());
        n.putArray("extensions").add("binary_tensor_data");
        return n;
    }

    ObjectNode modelMetadata() {
        ObjectNode n = json.createObjectNode();
        n.put("name", name);
        n.putArray("versions").add(VERSION);
        n.put("platform", "onnx_opencv_dnn");
        int[] in = service.inputShape();
        tensorMetadata(n.putArray("inputs"), inputName, in);
        TensorInfo out = service.modelInfo().outputs().isEmpty() ? null : service.modelInfo().outputs().get(0);
        int[] outShape = out == null ? new int[] {-1, -1, -1, -1}
                : new int[] {-1, (int) out.dim(1), (int) out.dim(2), (int) out.dim(3)};
        tensorMetadata(n.putArray("outputs"), outputName, outShape);
        ObjectNode p = n.putObject("parameters");
        p.put("statistics", service.statistics().cliName());
        p.put("max_batch_size", service.maxBatchSize());
        return n;
    }

    private static void tensorMetadata(ArrayNode list, String name, int[] shape) {
        ObjectNode t = list.addObject();
        t.put("name", name);
        t.put("datatype", "FP32");
        ArrayNode s = t.putArray("shape");
        for (int d : shape) s.add(d);
    }

    /**
     * Parses an infer request body.
     *
     * @param jsonLength the value of {@link #HEADER_LENGTH}, or -1 when the body is JSON only
     * @throws IllegalArgumentException naming what was expected, for every client mistake
     */
    InferRequest parse(byte[] body, int jsonLength) {
        if (jsonLength > body.length) {
            throw new IllegalArgumentException(HEADER_LENGTH + " is " + jsonLength + " but the body has only " + body.length + " bytes");
        }
        int jsonEnd = jsonLength < 0 ? body.length : jsonLength;
        JsonNode root;
        try {
            root = json.readTree(body, 0, jsonEnd);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("expected a JSON infer request object: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException("expected a JSON infer request object");
        String id = root.hasNonNull("id") ? root.get("id").asText() : null;
        JsonNode inputs = root.get("inputs");
        if (inputs == null || !inputs.isArray() || inputs.size() != 1) {
            throw new IllegalArgumentException("expected \"inputs\": an array of exactly one tensor named '" + inputName + "'");
        }
        JsonNode input = inputs.get(0);
        if (!input.isObject()) throw new IllegalArgumentException("expected inputs[0] to be a tensor object");
        String n = text(input, "name");
        if (!inputName.equals(n)) {
            throw new IllegalArgumentException("expected input name '" + inputName + "', got " + (n == null ? "none" : "'" + n + "'"));
        }
        String datatype = text(input, "datatype");
        if (!"FP32".equals(datatype)) {
            throw new IllegalArgumentException("expected datatype FP32 for input '" + inputName + "', got " + (datatype == null ? "none" : datatype));
        }
        int[] shape = shape(input.get("shape"));
        service.checkBlobShape(shape[0], shape[1], shape[2], shape[3]);
        int count = shape[0] * shape[1] * shape[2] * shape[3];
        boolean binaryOutput = binaryOutput(root);
        Mat blob = new Mat(shape, CV_32F);
        try {
            JsonNode params = input.get("parameters");
            JsonNode size = params == null ? null : params.get("binary_data_size");
            if (size != null) {
                if (jsonLength < 0) {
                    throw new IllegalArgumentException("input '" + inputName + "' has binary_data_size but the request has no " + HEADER_LENGTH
                            + " header");
                }
                long bytes = size.asLong(-1);
                if (!size.canConvertToLong() || bytes != 4L * count) {
                    throw new IllegalArgumentException("expected binary_data_size " + 4L * count + " (FP32 " + count + " values) for input '"
                            + inputName + "', got " + size);
                }
                if (body.length - jsonEnd != bytes) {
                    throw new IllegalArgumentException("expected " + bytes + " bytes of binary tensor data after the JSON header, got "
                            + (body.length - jsonEnd));
                }
                BytePointer dst = blob.data();
                dst.put(body, jsonEnd, (int) bytes); // little-endian FP32, the host's own order
            } else {
                if (jsonLength >= 0 && jsonLength != body.length) {
                    throw new IllegalArgumentException("the body has " + (body.length - jsonEnd) + " bytes after the JSON header but no input"
                            + " declares binary_data_size");
                }
                JsonNode data = input.get("data");
                if (data == null || !data.isArray()) {
                    throw new IllegalArgumentException("expected \"data\": an array of " + count + " numbers for input '" + inputName
                            + "' (or parameters.binary_data_size with the binary extension)");
                }
                float[] values = new float[count];
                int filled = flatten(data, values, 0);
                if (filled != count) {
                    throw new IllegalArgumentException("expected " + count + " values for shape " + java.util.Arrays.toString(shape)
                            + ", got " + filled);
                }
                try (FloatPointer fp = new FloatPointer(blob.data())) {
                    fp.put(values);
                }
            }
            return new InferRequest(id, blob, binaryOutput);
        } catch (RuntimeException e) {
            blob.close();
            throw e;
        }
    }

    private boolean binaryOutput(JsonNode root) {
        boolean binary = false;
        JsonNode params = root.get("parameters");
        if (params != null && params.has("binary_data_output")) binary = params.get("binary_data_output").asBoolean(false);
        JsonNode outputs = root.get("outputs");
        if (outputs != null) {
            if (!outputs.isArray()) throw new IllegalArgumentException("expected \"outputs\" to be an array of requested outputs");
            for (JsonNode o : outputs) {
                String n = o.isObject() ? text(o, "name") : null;
                if (!outputName.equals(n)) {
                    throw new IllegalArgumentException("expected requested output name '" + outputName + "', got "
                            + (n == null ? "none" : "'" + n + "'"));
                }
                JsonNode p = o.get("parameters");
                if (p != null && p.has("binary_data")) binary = p.get("binary_data").asBoolean(false);
            }
        }
        return binary;
    }

    private static int flatten(JsonNode node, float[] out, int at) {
        for (JsonNode v : node) {
            if (v.isArray()) {
                at = flatten(v, out, at);
            } else if (v.isNumber()) {
                if (at >= out.length) return at + 1; // too many; reported by the caller
                out[at++] = v.floatValue();
            } else {
                throw new IllegalArgumentException("expected FP32 numbers in \"data\", got " + (v.isTextual() ? "a string" : v.getNodeType()));
            }
        }
        return at;
    }

    private static int[] shape(JsonNode s) {
        if (s == null || !s.isArray() || s.size() != 4) {
            throw new IllegalArgumentException("expected \"shape\": [N, C, H, W] (4 integers), got " + (s == null ? "none" : s.toString()));
        }
        int[] shape = new int[4];
        for (int i = 0; i < 4; i++) {
            JsonNode d = s.get(i);
            if (!d.canConvertToInt() || !d.isIntegralNumber()) {
                throw new IllegalArgumentException("expected \"shape\": [N, C, H, W] (4 integers), got " + s);
            }
            shape[i] = d.intValue();
        }
        return shape;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && v.isTextual() ? v.asText() : null;
    }

    /** A response body, and the JSON length when binary data follows it (else -1). */
    record Response(byte[] body, int jsonLength) {}

    Response response(String id, Mat out, boolean binary) {
        int[] shape = {out.size(0), out.size(1), out.size(2), out.size(3)};
        int count = shape[0] * shape[1] * shape[2] * shape[3];
        float[] values = new float[count];
        try (FloatPointer fp = new FloatPointer(out.data())) {
            fp.get(values);
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream(binary ? 256 + 4 * count : 64 + 12 * count);
        try (JsonGenerator g = json.getFactory().createGenerator(buf)) {
            g.writeStartObject();
            g.writeStringField("model_name", name);
            g.writeStringField("model_version", VERSION);
            if (id != null) g.writeStringField("id", id);
            g.writeArrayFieldStart("outputs");
            g.writeStartObject();
            g.writeStringField("name", outputName);
            g.writeStringField("datatype", "FP32");
            g.writeFieldName("shape");
            g.writeArray(shape, 0, 4);
            if (binary) {
                g.writeObjectFieldStart("parameters");
                g.writeNumberField("binary_data_size", 4L * count);
                g.writeEndObject();
            } else {
                g.writeArrayFieldStart("data");
                for (float v : values) g.writeNumber(v);
                g.writeEndArray();
            }
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!binary) return new Response(buf.toByteArray(), -1);
        int jsonLength = buf.size();
        byte[] raw = new byte[4 * count];
        out.data().get(raw);
        buf.write(raw, 0, raw.length);
        return new Response(buf.toByteArray(), jsonLength);
    }

    private static String serverVersion() {
        String v = InferenceProtocol.class.getPackage().getImplementationVersion();
        return v == null ? "development" : v;
    }
}
