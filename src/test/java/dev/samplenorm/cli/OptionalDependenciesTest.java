package dev.samplenorm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.generator.Engine;
import dev.samplenorm.testing.ChildJvm;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server and metrics libraries and ONNX Runtime are optional dependencies: a library user's
 * class path may lack them. The command line and the OpenCV engine must then still work, and
 * {@code serve} and the onnxruntime engine must say what is missing.
 */
class OptionalDependenciesTest {

    private static final Pattern OPTIONAL = Pattern.compile(
            ".*/(undertow-|xnio-|jboss-|wildfly-|jackson-|micrometer-|HdrHistogram-|LatencyUtils-|prometheus-metrics-|onnxruntime-)[^/]*\\.jar");

    private static ChildJvm.Result runWithoutOptionalJars(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(ChildJvm.command(Main.class, args));
        int cp = cmd.indexOf("-cp") + 1;
        String full = cmd.get(cp);
        String pruned = Arrays.stream(full.split(File.pathSeparator)).filter(e -> !OPTIONAL.matcher(e.replace('\\', '/')).matches())
                .collect(Collectors.joining(File.pathSeparator));
        assertTrue(pruned.length() < full.length(), "the test class path should hold the optional jars to leave out");
        cmd.set(cp, pruned);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
        return new ChildJvm.Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @Test
    void theCommandLineRunsWithoutTheServerAndMetricsLibraries() throws Exception {
        ChildJvm.Result r = runWithoutOptionalJars("info");
        assertEquals(0, r.exitCode(), r.output());
        assertFalse(r.output().contains("NoClassDefFoundError"), r.output());
    }

    @Test
    void theOpenCvEngineRunsWithoutOnnxRuntimeAndAutoFallsBackToIt(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("o.npy");
        ChildJvm.Result r = runWithoutOptionalJars("translate", "--input", "models/golden/input_n4.npy", "--output", out.toString(),
                "--engine", "auto", "--device", "cpu", "--verbose");
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(Files.isRegularFile(out), r.output());
        assertTrue(r.output().contains("engine auto: using opencv on cpu (" + Engine.ONNXRUNTIME_ARTIFACT), r.output());
        assertFalse(r.output().contains("NoClassDefFoundError"), r.output());
    }

    @Test
    void theOnnxRuntimeEngineWithoutItIsAUserErrorNamingTheArtifact(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("o.npy");
        ChildJvm.Result r = runWithoutOptionalJars("translate", "--input", "models/golden/input_n4.npy", "--output", out.toString(),
                "--engine", "onnxruntime");
        assertEquals(Main.USER_ERROR, r.exitCode(), r.output());
        assertTrue(r.output().contains("optional dependency") && r.output().contains(Engine.ONNXRUNTIME_ARTIFACT), r.output());
        assertFalse(r.output().contains("NoClassDefFoundError"), r.output());
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void serveWithoutThemIsAUserErrorNamingWhatIsMissing() throws Exception {
        ChildJvm.Result r = runWithoutOptionalJars("serve", "--port", "0");
        assertEquals(Main.USER_ERROR, r.exitCode(), r.output());
        assertTrue(r.output().contains("optional dependencies"), r.output());
        assertFalse(r.output().contains("NoClassDefFoundError"), r.output());
    }
}
