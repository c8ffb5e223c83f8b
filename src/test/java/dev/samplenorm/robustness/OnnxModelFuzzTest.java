package dev.samplenorm.robustness;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.samplenorm.SampleNormException;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.onnx.ModelInfo;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.OpenCvNets;
import dev.samplenorm.onnx.OpenCvShapes;
import dev.samplenorm.onnx.StatisticsRewrite;
import dev.samplenorm.onnx.TensorInfo;
import dev.samplenorm.testing.Golden;
import java.io.IOException;
import java.nio.file.Files;
import org.bytedeco.opencv.opencv_dnn.Net;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the path every user model takes: bytes, {@link OnnxModel#parse} with its validation, the
 * statistics rewrite for each mode, and OpenCV's importer. Whatever the bytes, the outcome is a
 * model OpenCV imported or a {@link SampleNormException} with code {@code MODEL}; any other
 * exception is a finding, and a JVM crash is the finding this target exists for.
 *
 * <p>Regression inputs: {@code OnnxModelFuzzTestInputs/onnxBytesAreRefusedOrImported/} (test models,
 * the mutants that crash plain OpenCV, every finding). The bundled model is run by
 * {@link #theBundledModelIsImportedByTheFuzzTarget()} instead of being copied there.
 */
class OnnxModelFuzzTest {

    /** Input size for the shape probe where the model leaves H and W open or declares them large. */
    private static final int PROBE = 16;

    @FuzzTest(maxDuration = "10m")
    void onnxBytesAreRefusedOrImported(byte[] bytes) {
        FuzzSupport.recordInput(bytes);
        OnnxModel model;
        try {
            model = OnnxModel.parse(bytes);
        } catch (SampleNormException e) {
            assertEquals(SampleNormException.Code.MODEL, e.code(), e.getMessage());
            return;
        }
        for (StatisticsMode mode : new StatisticsMode[] {StatisticsMode.RUNNING, StatisticsMode.SAMPLE, StatisticsMode.BATCH}) {
            try {
                importInto(model, mode);
            } catch (SampleNormException e) {
                assertEquals(SampleNormException.Code.MODEL, e.code(), e.getMessage());
            }
        }
    }

    private static void importInto(OnnxModel model, StatisticsMode mode) {
        ModelInfo info = model.info();
        int c = 3, h = PROBE, w = PROBE;
        if (info.inputs().size() == 1) {
            TensorInfo in = info.input();
            c = extent(in.dim(1), 3, 64);
            h = extent(in.dim(2), PROBE, 256);
            w = extent(in.dim(3), PROBE, 256);
        }
        OnnxModel rewritten = StatisticsRewrite.rewrite(model, mode, OpenCvShapes.atInput(1, c, h, w));
        try (Net net = OpenCvNets.read(rewritten)) {
            if (net.empty()) throw new AssertionError("OpenCV returned an empty network without an error");
        }
    }

    private static int extent(long declared, int dflt, int max) {
        return declared > 0 && declared <= max ? (int) declared : dflt;
    }

    @Test
    void theBundledModelIsImportedByTheFuzzTarget() throws IOException {
        onnxBytesAreRefusedOrImported(Files.readAllBytes(Golden.MODEL));
    }
}
