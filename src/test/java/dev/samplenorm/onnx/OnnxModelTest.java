package dev.samplenorm.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.StringStringEntryProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import dev.samplenorm.testing.Golden;
import dev.samplenorm.testing.TinyNet;
import dev.samplenorm.testing.TinyNet.BnForm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading models and describing what they contain. */
class OnnxModelTest {

    @TempDir
    Path tmp;

    @Test
    void withSymbolicBatchNamesTheDataInputsAndOutputsFirstDimensionOnly() {
        ModelProto p = OnnxModel.fromResource(OnnxModel.BUNDLED_RESOURCE).proto();
        String data = p.getGraph().getInput(0).getName();
        ModelProto fixed = p.toBuilder().setGraph(p.getGraph().toBuilder()
                .setInput(0, TinyNet.valueInfo(data, 3, 128, 128).toBuilder().setType(fixedBatch(TinyNet.valueInfo(data, 3, 128, 128), 2)))
                .setOutput(0, p.getGraph().getOutput(0).toBuilder().setType(fixedBatch(p.getGraph().getOutput(0), 2)))).build();
        ModelProto symbolic = OnnxModel.of(fixed).withSymbolicBatch(data).proto();
        var before = java.util.List.of(fixed.getGraph().getInput(0), fixed.getGraph().getOutput(0));
        var after = java.util.List.of(symbolic.getGraph().getInput(0), symbolic.getGraph().getOutput(0));
        for (int i = 0; i < 2; i++) {
            var dims = after.get(i).getType().getTensorType().getShape().getDimList();
            var was = before.get(i).getType().getTensorType().getShape().getDimList();
            assertEquals("N", dims.get(0).getDimParam(), after.get(i).getName());
            assertEquals(was.subList(1, was.size()), dims.subList(1, dims.size()), after.get(i).getName() + ": the other dimensions as they were");
        }
        ModelProto other = OnnxModel.of(fixed).withSymbolicBatch("not-an-input").proto();
        assertEquals(2, other.getGraph().getInput(0).getType().getTensorType().getShape().getDim(0).getDimValue(), "other inputs keep their batch");
    }

    private static dev.samplenorm.onnx.proto.Onnx.TypeProto fixedBatch(dev.samplenorm.onnx.proto.Onnx.ValueInfoProto v, long n) {
        var t = v.getType().toBuilder();
        t.getTensorTypeBuilder().getShapeBuilder().setDim(0, dev.samplenorm.onnx.proto.Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(n));
        return t.build();
    }

    @Test
    void aPngIsNotAnOnnxFile() throws IOException {
        byte[] png = Files.readAllBytes(Golden.MODELS.resolve("samples/sketch_01.png"));
        SampleNormException e = assertThrows(SampleNormException.class, () -> OnnxModel.parse(png));
        assertEquals(SampleNormException.Code.MODEL, e.code());
        assertTrue(e.getMessage().startsWith("not an ONNX file"), e.getMessage());
        assertTrue(e.getMessage().contains("expected a protobuf-encoded onnx.ModelProto"), e.getMessage());
        assertTrue(e.getMessage().contains("89 50 4e 47"), "names the first bytes: " + e.getMessage());
    }

    @Test
    void textRandomAndEmptyBytesAreNotOnnxFiles() {
        byte[] random = new byte[4096];
        new Random(7).nextBytes(random);
        for (byte[] b : new byte[][] {new byte[0], "hello, world\n".getBytes(StandardCharsets.UTF_8), random}) {
            SampleNormException e = assertThrows(SampleNormException.class, () -> OnnxModel.parse(b));
            assertTrue(e.getMessage().startsWith("not an ONNX file"), e.getMessage());
        }
    }

    @Test
    void aMissingFileIsAnIOException() {
        IOException e = assertThrows(IOException.class, () -> OnnxModel.read(tmp.resolve("nothing.onnx")));
        assertTrue(e.getMessage().contains("expected a regular file"), e.getMessage());
    }

    @Test
    void readsFromFileAndWritesBack() throws IOException {
        TinyNet net = TinyNet.builder(13, 3).conv(4, 3, 1, 1, false).batchNorm(BnForm.TRAINING_5).relu().build();
        Path p = tmp.resolve("tiny.onnx");
        net.model().write(p);
        assertEquals(net.proto(), OnnxModel.read(p).proto());
    }

    @Test
    void aMissingResourceIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OnnxModel.fromResource("no/such/model.onnx"));
        assertTrue(e.getMessage().contains("no/such/model.onnx"), e.getMessage());
    }

    @Test
    void externalTensorDataIsRefused() {
        ModelProto m = TinyNet.builder(14, 3).conv(4, 3, 1, 1, false).relu().build().proto();
        TensorProto w = m.getGraph().getInitializer(0).toBuilder().clearFloatData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("weights.bin")).build();
        ModelProto ext = m.toBuilder().setGraph(m.getGraph().toBuilder().setInitializer(0, w)).build();
        SampleNormException e = assertThrows(SampleNormException.class, () -> OnnxModel.parse(ext.toByteArray()));
        assertTrue(e.getMessage().contains("external file"), e.getMessage());
    }

    @Test
    void describesTheBundledTrainingModeExport() {
        ModelInfo i = load(Golden.MODEL).info();
        assertEquals(14, i.opsetVersion());
        assertEquals(11, i.batchNormCount());
        assertEquals(11, i.trainingBatchNormCount());
        assertEquals(2, i.dropoutCount());
        assertEquals(7, i.operatorCounts().get("ConvTranspose"));
        assertEquals("input: FLOAT [N, 3, 128, 128]", i.input().toString());
        assertEquals(1, i.outputs().size());
        assertTrue(i.warnings().isEmpty(), i.warnings().toString());
    }

    @Test
    void trainingFormIsDetectedByAttributeOrOutputCount() {
        assertEquals(2, TinyNet.builder(14, 3).conv(4, 3, 1, 1, false).batchNorm(BnForm.TRAINING_3).relu().conv(4, 3, 1, 1, false)
                .batchNorm(BnForm.TRAINING_3).build().model().info().trainingBatchNormCount());
        assertEquals(1, TinyNet.builder(11, 3).conv(4, 3, 1, 1, false).batchNorm(BnForm.TRAINING_5).relu().conv(4, 3, 1, 1, false)
                .batchNorm(BnForm.INFERENCE).build().model().info().trainingBatchNormCount());
    }

    @Test
    void aModelWithoutBatchNormIsFlagged() {
        ModelInfo i = TinyNet.builder(14, 3).conv(4, 3, 2, 1, true).leakyRelu(0.2f).convTranspose(3, 4, 2, 1, 0, true).tanh().build()
                .model().info();
        assertEquals(0, i.batchNormCount());
        assertEquals(1, i.warnings().size());
        assertTrue(i.warnings().get(0).contains("no BatchNormalization"), i.warnings().get(0));
        assertTrue(i.warnings().get(0).contains("eval mode"), i.warnings().get(0));
    }

    @Test
    void batchNormOnlyAfterConvTransposeLooksLikeAnEvalExport() {
        // What PyTorch's eval-mode export of a U-Net leaves: Conv+BN folded, ConvTranspose+BN not.
        ModelInfo i = TinyNet.builder(14, 3).conv(4, 3, 2, 1, true).leakyRelu(0.2f).conv(4, 3, 1, 1, true).relu()
                .convTranspose(4, 4, 2, 1, 0, false).batchNorm(BnForm.INFERENCE).relu().conv(3, 3, 1, 1, true).tanh().build().model().info();
        assertEquals(1, i.warnings().size());
        assertTrue(i.warnings().get(0).contains("eval-mode export"), i.warnings().get(0));
        ModelInfo training = TinyNet.builder(14, 3).conv(4, 3, 2, 1, false).batchNorm(BnForm.TRAINING_3).relu()
                .convTranspose(4, 4, 2, 1, 0, false).batchNorm(BnForm.TRAINING_3).relu().build().model().info();
        assertFalse(training.warnings().stream().anyMatch(w -> w.contains("eval")), training.warnings().toString());
    }

    private static OnnxModel load(Path p) {
        try {
            return OnnxModel.read(p);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
