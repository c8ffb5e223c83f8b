package dev.samplenorm.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class in a child JVM with the test class path, so that a native crash (SIGSEGV,
 * SIGFPE, abort) fails the test that provoked it instead of killing the test JVM.
 */
public final class ChildJvm {

    /** What the child did: its exit code and its stdout and stderr together. */
    public record Result(int exitCode, String output) {
        /** True when the JVM died of a signal or a fatal error rather than exiting on its own. */
        public boolean crashed() {
            return exitCode >= 128 || output.contains("A fatal error has been detected by the Java Runtime Environment");
        }
    }

    private ChildJvm() {}

    /** The command line that starts {@code mainClass} with {@code args} in a JVM like this one. */
    public static List<String> command(Class<?> mainClass, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx1g");
        // No hs_err file in the working directory when a child crashes on purpose.
        cmd.add("-XX:ErrorFile=" + Path.of(System.getProperty("java.io.tmpdir"), "samplenorm-child-hs_err_%p.log"));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        String extension = System.getProperty("org.bytedeco.javacpp.platform.extension");
        if (extension != null) cmd.add("-Dorg.bytedeco.javacpp.platform.extension=" + extension);
        cmd.add(mainClass.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs {@code mainClass} to completion (at most {@code timeoutSeconds}) and returns what it did. */
    public static Result run(long timeoutSeconds, Class<?> mainClass, String... args) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command(mainClass, args)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[][] out = new byte[1][];
        Thread reader = new Thread(() -> {
            try {
                out[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                out[0] = ("(output unreadable: " + e + ")").getBytes(StandardCharsets.UTF_8);
            }
        });
        reader.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor();
            reader.join();
            throw new AssertionError(mainClass.getSimpleName() + " did not finish in " + timeoutSeconds + " s; output:\n"
                    + new String(out[0], StandardCharsets.UTF_8));
        }
        reader.join();
        return new Result(p.exitValue(), new String(out[0], StandardCharsets.UTF_8));
    }
}
