package dev.samplenorm.onnx;

import static org.bytedeco.opencv.global.opencv_dnn.readNetFromONNX;

import dev.samplenorm.SampleNormException;
import java.util.Objects;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_dnn.Net;

/** Imports ONNX models into OpenCV DNN and turns OpenCV's exception texts into readable messages. */
public final class OpenCvNets {

    private static final int MAX_MESSAGE = 600;

    private OpenCvNets() {}

    /**
     * Imports {@code model} with OpenCV's ONNX importer, from memory. The caller owns (closes) the Net.
     *
     * @throws SampleNormException ({@code MODEL}) with OpenCV's reason (unsupported operator, bad
     *     attribute, ...) when the importer refuses the model
     */
    public static Net read(OnnxModel model) {
        Objects.requireNonNull(model, "model");
        byte[] bytes = model.toByteArray();
        try (BytePointer buffer = new BytePointer(bytes)) {
            return readNetFromONNX(buffer, bytes.length);
        } catch (RuntimeException e) {
            throw new SampleNormException(SampleNormException.Code.MODEL, "OpenCV DNN cannot import the model: " + message(e), e);
        }
    }

    /**
     * OpenCV's message without the build machine's source paths, on one line: the
     * "error: (code:kind) what" text and the node the importer was handling.
     */
    public static String message(Throwable t) {
        String m = String.valueOf(t.getMessage());
        StringBuilder sb = new StringBuilder();
        for (String line : m.split("\n")) {
            String l = line.strip();
            if (l.isEmpty()) continue;
            l = l.replaceAll("OpenCV\\([^)]*\\) \\S+:\\d+: ", "");
            if (sb.length() > 0) sb.append(" | ");
            sb.append(l);
        }
        String s = sb.toString();
        return s.length() > MAX_MESSAGE ? s.substring(0, MAX_MESSAGE) + "..." : s;
    }
}
