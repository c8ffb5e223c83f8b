package dev.samplenorm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.io.Npy;
import dev.samplenorm.testing.ChildJvm;
import dev.samplenorm.testing.Tensor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX Runtime 1.29's start-up needs stack in proportion to the process's command line: with Java's
 * default 1 MiB thread stack, a command line longer than about 3,980 bytes killed the JVM. The
 * onnxruntime engine starts it on a thread with a stack to match, so a long command line works.
 */
class OnnxRuntimeCommandLineTest {

    @Test
    void aLongCommandLineTranslatesLikeAShortOne(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("o.npy");
        List<String> cmd = new ArrayList<>(ChildJvm.command(Main.class, "translate", "--input", "models/golden/input_n4.npy", "--output",
                out.toString(), "--engine", "onnxruntime"));
        cmd.add(1, "-Dsamplenorm.test.padding=" + "x".repeat(30000));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
        assertEquals(0, p.exitValue(), output);
        double err = Tensor.relativeL2(Npy.read(out).asFloats(), Npy.read(Path.of("models/golden/sample_n4.npy")).asFloats());
        assertTrue(err < 1e-5, "relative L2 " + err);
    }
}
