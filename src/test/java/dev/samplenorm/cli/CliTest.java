package dev.samplenorm.cli;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imread;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imwrite;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.environment.Environment;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.io.Npy;
import dev.samplenorm.io.NpyArray;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI run in-process through {@link Main#execute}, as a user would run it. */
class CliTest {

    static final Path MODEL = Path.of("models/pix2pix_shapes_128.onnx");
    static final Path INPUT_N4 = Path.of("models/golden/input_n4.npy");

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    static void assertUserError(Result r, String fragment) {
        assertEquals(Main.USER_ERROR, r.code(), "exit code; stderr: " + r.err());
        assertTrue(r.err().contains(fragment), "stderr '" + r.err() + "' should mention '" + fragment + "'");
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line on stderr: " + r.err());
    }

    @Test
    void npyRoundTripMatchesTheGeneratorBitForBit() throws IOException {
        Path out = tmp.resolve("out.npy");
        Result r = run("translate", "--model", MODEL.toString(), "--input", INPUT_N4.toString(), "--output", out.toString(),
                "--stats", "batch", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("translated 4 images"), r.out());
        NpyArray cli = Npy.read(out);
        try (Generator g = Generator.load(MODEL, GeneratorOptions.builder().statistics(StatisticsMode.BATCH).device(Device.cpu()).build());
                Mat in = Npy.read(INPUT_N4).toFloatMat(); Mat expected = g.translateBlob(in)) {
            assertArrayEquals(new int[] {4, 3, 128, 128}, cli.shape());
            assertArrayEquals(NpyArray.of(expected).floats(), cli.floats());
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(out), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void aDirectoryOfImagesGivesOneOutputPerImageWithTheSameNames() throws IOException {
        Path in = Files.createDirectories(tmp.resolve("in"));
        for (String name : List.of("a.png", "b.png", "c.jpg")) {
            try (Mat m = new Mat(100, 90, CV_8UC3, new Scalar(200, 180, 160, 0))) {
                assertTrue(imwrite(in.resolve(name).toString(), m));
            }
        }
        Files.writeString(in.resolve("notes.txt"), "not an image");
        Path out = tmp.resolve("out");
        Result r = run("translate", "--input", in.toString(), "--output", out.toString(), "--batch-size", "2", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of("a.png", "b.png", "c.jpg"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        try (Mat a = imread(out.resolve("a.png").toString())) {
            assertEquals(100, a.rows(), "outputs keep the input size");
            assertEquals(90, a.cols());
        }
        assertTrue(r.out().matches("(?s)translated 3 images in .* images/s\\), device cpu, statistics sample\\s*"), r.out());
    }

    @Test
    void demoWritesTheContactSheet() {
        Path sheet = tmp.resolve("demo.png");
        Result r = run("demo", "--output", sheet.toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        try (Mat m = imread(sheet.toString())) {
            // 8 rows (input + 4 modes + 3 dropout seeds) of 128 px and 6 columns of 128 px, 4 px gaps, 120 px labels.
            assertEquals(8 * 132 + 4, m.rows());
            assertEquals(120 + 6 * 132 + 4, m.cols());
        }
        for (String mode : List.of("sample", "batch", "running", "input recipe")) assertTrue(r.out().contains(mode), r.out());
        // Each seed gives its own noise: three different, non-zero distances from the output without dropout.
        java.util.Set<String> distances = new java.util.HashSet<>();
        for (String line : r.out().split("\\R")) {
            if (line.startsWith("seed ")) distances.add(line.substring(line.lastIndexOf(' ') + 1));
        }
        assertEquals(3, distances.size(), r.out());
        assertTrue(distances.stream().allMatch(d -> Double.parseDouble(d) > 0), r.out());
    }

    @Test
    void infoDescribesTheBundledModel() {
        Result r = run("info");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("BatchNormalization nodes: 11 (11 in training form)"), r.out());
        assertTrue(r.out().contains("Dropout nodes: 2"), r.out());
        assertTrue(r.out().contains("exported in training mode: yes"), r.out());
        assertTrue(r.out().contains("cpu: available"), r.out());
    }

    @Test
    void aMissingModelIsAUserError() {
        assertUserError(run("translate", "--model", tmp.resolve("nope.onnx").toString(), "--input", INPUT_N4.toString(), "--output",
                tmp.resolve("o.npy").toString()), "model not found");
    }

    @Test
    void aFileThatIsNotOnnxIsAUserError() throws IOException {
        Path bad = Files.writeString(tmp.resolve("bad.onnx"), "this is not a model");
        assertUserError(run("info", "--model", bad.toString()), "ONNX");
    }

    @Test
    void anUnreadableImageIsAUserError() throws IOException {
        Path bad = Files.write(tmp.resolve("broken.png"), new byte[] {1, 2, 3, 4});
        assertUserError(run("translate", "--input", bad.toString(), "--output", tmp.resolve("o.png").toString(), "--device", "cpu"),
                "cannot decode image");
    }

    @Test
    void aGrayscaleImageIsRefusedWithTheChannelCount() {
        Path gray = tmp.resolve("gray.png");
        try (Mat m = new Mat(32, 32, CV_8UC1, new Scalar(9.0))) {
            assertTrue(imwrite(gray.toString(), m));
        }
        assertUserError(run("translate", "--input", gray.toString(), "--output", tmp.resolve("o.png").toString(), "--device", "cpu"),
                "3-channel");
    }

    @Test
    void mixedImageSizesInOneBatchAreRefusedUnderBatchStatistics() throws IOException {
        Path in = Files.createDirectories(tmp.resolve("mixed"));
        try (Mat a = new Mat(64, 64, CV_8UC3, new Scalar(1.0)); Mat b = new Mat(64, 80, CV_8UC3, new Scalar(2.0))) {
            imwrite(in.resolve("a.png").toString(), a);
            imwrite(in.resolve("b.png").toString(), b);
        }
        Path out = tmp.resolve("out");
        assertUserError(run("translate", "--input", in.toString(), "--output", out.toString(), "--stats", "batch", "--batch-size", "2",
                "--device", "cpu"), "must have one size");
        assertFalse(Files.exists(out.resolve("a.png")), "nothing written for a refused batch");
    }

    @Test
    void anUnknownOptionIsAUserError() {
        assertUserError(run("translate", "--input", "x.npy", "--output", "y.npy", "--frobnicate"), "Unknown option");
        assertUserError(run("translate", "--input", "x.npy", "--output", "y.npy", "--stats", "median"), "unknown statistics mode");
    }

    @Test
    void cudaWithoutADeviceIsAUserError() {
        Assumptions.assumeFalse(Environment.current().cudaUsable(), "CUDA is usable here: the no-device error is covered on machines"
                + " without one");
        assertUserError(run("translate", "--input", INPUT_N4.toString(), "--output", tmp.resolve("o.npy").toString(), "--device", "cuda"),
                "cuda");
    }

    @Test
    void fp16OnTheCpuIsAUserError() {
        assertUserError(run("translate", "--input", INPUT_N4.toString(), "--output", tmp.resolve("o.npy").toString(), "--device", "cpu",
                "--precision", "fp16"), "precision fp16 runs only on a CUDA device");
        assertUserError(run("translate", "--input", INPUT_N4.toString(), "--output", tmp.resolve("o.npy").toString(), "--precision",
                "fp8"), "expected fp32 or fp16");
    }

    @Test
    void theOnnxRuntimeEngineMatchesTheFloat64Golden() throws IOException {
        Path out = tmp.resolve("ort.npy");
        Result r = run("translate", "--model", MODEL.toString(), "--input", INPUT_N4.toString(), "--output", out.toString(),
                "--stats", "batch", "--engine", "onnxruntime");
        assertEquals(0, r.code(), r.err());
        double err = dev.samplenorm.testing.Tensor.relativeL2(Npy.read(out).asDoubles(),
                Npy.read(Path.of("models/golden/batch_n4.npy")).doubles());
        assertTrue(err <= 1e-6, "onnxruntime vs the PyTorch float64 golden: relative L2 " + err);
    }

    @Test
    void anUnknownEngineOrOnnxRuntimeOnCudaIsAUserError() {
        assertUserError(run("translate", "--input", INPUT_N4.toString(), "--output", tmp.resolve("o.npy").toString(), "--engine",
                "tensorrt"), "unknown engine 'tensorrt', expected one of auto, opencv, onnxruntime");
        assertUserError(run("translate", "--input", INPUT_N4.toString(), "--output", tmp.resolve("o.npy").toString(), "--engine",
                "onnxruntime", "--device", "cuda"), "engine onnxruntime runs on the CPU only");
        assertFalse(Files.exists(tmp.resolve("o.npy")));
    }

    @Test
    void infoNamesTheEnginesAndWhatAutoPicks() {
        Result r = run("info");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("onnxruntime: cpu only; available"), r.out());
        assertTrue(r.out().contains("engine auto: onnxruntime on cpu, opencv on cuda"), r.out());
    }

    @Test
    void infoPrintsTheEnvironmentProbe() {
        Result r = run("info");
        assertEquals(0, r.code(), r.err());
        for (String line : Environment.current().describe()) assertTrue(r.out().contains(line), "info lacks '" + line + "':\n" + r.out());
        assertTrue(r.out().contains("device auto: " + (Environment.current().cudaUsable() ? "cuda:0" : "cpu")), r.out());
    }

    @Test
    void verboseAddsTheStackTrace() {
        Result r = run("translate", "--model", tmp.resolve("nope.onnx").toString(), "--input", INPUT_N4.toString(), "--output",
                tmp.resolve("o.npy").toString(), "--verbose");
        assertEquals(Main.USER_ERROR, r.code());
        assertTrue(r.err().contains("\tat "), r.err());
    }
}
