package dev.samplenorm.cli;

import static dev.samplenorm.cli.CliTest.assertUserError;
import static dev.samplenorm.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.cli.CliTest.Result;
import dev.samplenorm.io.Npy;
import dev.samplenorm.io.NpyArray;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.ReferenceGenerators;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The developer commands make-model and bench, used by the GPU benchmark script. */
class DevCommandsTest {

    @TempDir
    Path tmp;

    Path tinyUnet() {
        Path model = tmp.resolve("unet_32.onnx");
        Result r = run("make-model", "--arch", "unet_32", "--ngf", "4", "--output", model.toString());
        assertEquals(0, r.code(), r.err());
        return model;
    }

    @Test
    void makeModelWritesTheReferenceGenerator() throws IOException {
        Path model = tinyUnet();
        // The same bytes as the library builds: make-model adds nothing of its own.
        assertArrayEquals(OnnxModel.of(ReferenceGenerators.unet(5, 4, 32, 1, 14)).toByteArray(), Files.readAllBytes(model));
        Result info = run("info", "--model", model.toString());
        assertEquals(0, info.code(), info.err());
        // unet with 5 downsamplings: BatchNorm after downsamplings 2..4 and upsamplings 1..4.
        assertTrue(info.out().contains("BatchNormalization nodes: 7 (7 in training form)"), info.out());
        assertTrue(info.out().contains("3, 32, 32]"), info.out());

        // The model runs through the CLI.
        Path in = tmp.resolve("in.npy");
        try (Mat blob = BenchCommand.randomBlob(2, 32, 32)) {
            Npy.write(in, NpyArray.of(blob));
        }
        Path out = tmp.resolve("out.npy");
        Result t = run("translate", "--model", model.toString(), "--input", in.toString(), "--output", out.toString(), "--stats", "batch",
                "--device", "cpu");
        assertEquals(0, t.code(), t.err());
        assertArrayEquals(new int[] {2, 3, 32, 32}, Npy.read(out).shape());
    }

    @Test
    void makeModelBuildsResnetsAndRefusesUnknownArchitectures() {
        Path resnet = tmp.resolve("r.onnx");
        Result r = run("make-model", "--arch", "resnet_2blocks", "--ngf", "4", "--size", "32", "--output", resnet.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("9 BatchNorm"), r.out()); // 1 + 2 down + 2 per block + 2 up
        assertUserError(run("make-model", "--arch", "vgg16", "--output", tmp.resolve("v.onnx").toString()), "unknown architecture");
        assertUserError(run("make-model", "--arch", "unet_100", "--output", tmp.resolve("v.onnx").toString()), "power of two");
        assertFalse(Files.exists(tmp.resolve("v.onnx")));
    }

    @Test
    void benchTimesEveryModeInputAndBatchSize() throws IOException {
        Path model = tinyUnet();
        Path json = tmp.resolve("bench.json");
        Result r = run("bench", "--model", model.toString(), "--device", "cpu", "--stats", "batch,sample", "--input", "images,blob",
                "--batch-sizes", "1,3", "--warmup", "1", "--runs", "3", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        Pattern row = Pattern.compile("(?m)^(batch|sample)\\s+(images|blob)\\s+N=(\\d+)\\s+first.*median\\s+([0-9.]+).*-> +([0-9.]+) images/s$");
        Matcher m = row.matcher(r.out());
        int rows = 0;
        while (m.find()) {
            rows++;
            double median = Double.parseDouble(m.group(4)), rate = Double.parseDouble(m.group(5));
            int n = Integer.parseInt(m.group(3));
            assertTrue(median > 0, r.out());
            assertEquals(n * 1000.0 / median, rate, rate * 0.02 + 0.1, "images/s = N / median: " + m.group());
        }
        assertEquals(2 * 2 * 2, rows, r.out());
        String text = Files.readString(json);
        assertEquals(8, text.split("\"images_per_s\"", -1).length - 1, text);
        assertTrue(text.contains("\"device\": \"cpu\""), text);
        assertTrue(text.contains("\"dnn_cuda_targets\": "), text);
        assertTrue(text.contains("\"stats\": \"sample\", \"input\": \"blob\", \"n\": 3"), text);
    }

    @Test
    void benchRefusesBadOptions() {
        assertUserError(run("bench", "--input", "video", "--device", "cpu"), "--input must be images or blob");
        assertUserError(run("bench", "--batch-sizes", "0", "--device", "cpu"), "--batch-sizes must be >= 1");
        assertUserError(run("bench", "--stats", "median", "--device", "cpu"), "unknown statistics mode");
    }

    @Test
    void developerCommandsStayOutOfTheHelp() {
        Result r = run("--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("translate"), r.out());
        assertFalse(r.out().contains("make-model"), r.out());
        assertFalse(r.out().contains("bench"), r.out());
    }
}
