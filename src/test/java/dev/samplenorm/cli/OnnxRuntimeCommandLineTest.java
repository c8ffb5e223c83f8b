package dev.samplenorm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.testing.ChildJvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX Runtime 1.29 kills the JVM at start-up when the process's command line is longer than about
 * 3,980 bytes. The onnxruntime engine must refuse such a JVM with a message, never crash it.
 */
class OnnxRuntimeCommandLineTest {

    @Test
    void aLongCommandLineIsAUserErrorNotACrash(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("o.npy");
        List<String> cmd = new ArrayList<>(ChildJvm.command(Main.class, "translate", "--input", "models/golden/input_n4.npy", "--output",
                out.toString(), "--engine", "onnxruntime"));
        cmd.add(1, "-Dsamplenorm.test.padding=" + "x".repeat(4000));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
        assertEquals(Main.USER_ERROR, p.exitValue(), output);
        assertTrue(output.contains("command line is longer than about 3900 bytes"), output);
        assertFalse(Files.exists(out), "nothing written");
    }
}
