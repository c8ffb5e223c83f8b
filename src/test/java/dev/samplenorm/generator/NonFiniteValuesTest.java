package dev.samplenorm.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.OperatorSetIdProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import dev.samplenorm.testing.LogCapture;
import dev.samplenorm.testing.Tensor;
import dev.samplenorm.testing.TinyNet;
import dev.samplenorm.testing.TinyNet.BnForm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;

/** The NaN and infinity policy: values pass unchanged, and one warning line says how many there were. */
class NonFiniteValuesTest {

    private static final int H = 6, W = 5;
    /** Large enough that x * SCALE overflows float for |x| > 1.134. */
    private static final float SCALE = 3.0e38f;

    @Test
    void anInputBlobWithNanAndInfinityIsTranslatedWithOneWarningThatCountsThem() {
        TinyNet net = TinyNet.builder(14, 3).inputSize(H, W).conv(4, 3, 1, 1, true).batchNorm(BnForm.TRAINING_3).relu()
                .conv(3, 3, 1, 1, true).tanh().build();
        Tensor x = Tensor.random(2, 3, H, W, 5);
        List<LogRecord> records;
        try (Generator g = Generator.load(net.model(), GeneratorOptions.builder().statistics(StatisticsMode.SAMPLE).device("cpu")
                .build()); Mat in = x.toMat()) {
            float[] v = values(in);
            v[0] = Float.NaN;
            v[7] = Float.POSITIVE_INFINITY;
            v[v.length - 1] = Float.NEGATIVE_INFINITY;
            put(in, v);
            records = capture(() -> {
                try (Mat out = g.translateBlob(in)) {
                    // Unchanged: the NaN of image 0 reaches its output; image 1 has only its own infinity.
                    float[] y = values(out);
                    assertTrue(Float.isNaN(y[0]), "the NaN is passed on, not replaced");
                }
            });
        }
        List<String> warnings = warnings(records);
        assertTrue(warnings.contains("input blob: 3 of " + 2 * 3 * H * W + " values are NaN or infinite; passed on unchanged"),
                "one line counts the input's values: " + warnings);
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("model output for a batch of 2: ")), "and one the output's: "
                + warnings);
    }

    @Test
    void anOutputThatOverflowsIsReturnedWithOneWarningThatCountsItsValues() {
        Tensor x = Tensor.random(1, 3, H, W, 11).map((c, v) -> 2 * v);
        long expected = 0;
        try (Mat in = x.toMat()) {
            for (float f : values(in)) if (Float.isInfinite(f * SCALE)) expected++;
        }
        assertTrue(expected > 0, "the input has values that overflow: " + expected);
        List<LogRecord> records;
        try (Generator g = Generator.load(scaling(), GeneratorOptions.builder().statistics(StatisticsMode.RUNNING).device("cpu")
                .build()); Mat in = x.toMat()) {
            records = capture(() -> {
                try (Mat out = g.translateBlob(in)) {
                    float[] y = values(out), v = values(in);
                    for (int i = 0; i < y.length; i++) assertEquals(v[i] * SCALE, y[i], "value " + i + " is the product as computed");
                }
            });
        }
        List<String> warnings = warnings(records);
        assertEquals(List.of("model output for a batch of 1: " + expected + " of " + 3 * H * W
                + " values are NaN or infinite; passed on unchanged"), warnings.stream().filter(w -> w.startsWith("model output"))
                .toList());
        assertTrue(warnings.stream().noneMatch(w -> w.startsWith("input")), "a finite input gives no input warning: " + warnings);
    }

    @Test
    void finiteInputsAndOutputsGiveNoWarning() {
        TinyNet net = TinyNet.builder(14, 3).inputSize(H, W).conv(3, 3, 1, 1, true).batchNorm(BnForm.TRAINING_3).tanh().build();
        List<LogRecord> records;
        try (Generator g = Generator.load(net.model(), GeneratorOptions.builder().device("cpu").build());
                Mat in = Tensor.random(2, 3, H, W, 3).toMat()) {
            records = capture(() -> g.translateBlob(in).close());
        }
        assertTrue(warnings(records).stream().noneMatch(w -> w.contains("NaN")), warnings(records).toString());
    }

    @Test
    void countingSeesNanBothInfinitiesAndNothingElse() {
        try (Mat m = Tensor.random(1, 2, 3, 4, 1).toMat()) {
            float[] v = values(m);
            v[1] = Float.NaN;
            v[2] = Float.POSITIVE_INFINITY;
            v[3] = Float.NEGATIVE_INFINITY;
            v[4] = Float.MAX_VALUE;
            v[5] = -Float.MIN_VALUE;
            put(m, v);
            assertEquals(3, NonFinite.count(m));
        }
    }

    /** Y = X * 3e38: a one-node model whose output overflows for |X| > 1.134. */
    private static OnnxModel scaling() {
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, SCALE);
        TensorProto scale = TensorProto.newBuilder().setName("scale").setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setRawData(ByteString.copyFrom(b.array())).build();
        GraphProto g = GraphProto.newBuilder().setName("scaling").addInitializer(scale)
                .addNode(NodeProto.newBuilder().setOpType("Mul").setName("mul").addInput("input").addInput("scale").addOutput("output"))
                .addInput(TinyNet.valueInfo("input", 3, H, W)).addOutput(TinyNet.valueInfo("output", 3, -1, -1)).build();
        return OnnxModel.of(ModelProto.newBuilder().setIrVersion(8).addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(14))
                .setGraph(g).build());
    }

    private static float[] values(Mat m) {
        float[] v = new float[(int) m.total()];
        new org.bytedeco.javacpp.FloatPointer(m.data()).get(v);
        return v;
    }

    private static void put(Mat m, float[] v) {
        new org.bytedeco.javacpp.FloatPointer(m.data()).put(v);
    }

    private static List<String> warnings(List<LogRecord> records) {
        return records.stream().filter(r -> r.getLevel() == Level.WARNING).map(LogRecord::getMessage).toList();
    }

    private static List<LogRecord> capture(Runnable r) {
        return LogCapture.of(Generator.class, r);
    }
}
