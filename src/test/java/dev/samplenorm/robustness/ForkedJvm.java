package dev.samplenorm.robustness;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class of the tests in a child JVM with the test class path, so that native code
 * that crashes (SIGSEGV, SIGFPE, abort) takes down the child, and the test that started it fails
 * with the child's output instead of the whole build dying.
 */
final class ForkedJvm {

    /** What the child did: its exit status (128 + signal when a signal killed it) and its output. */
    record Result(int exitCode, List<String> stdout, String stderr, boolean timedOut) {
        /** The last {@code n} lines of stderr, for failure messages. */
        String stderrTail(int n) {
            String[] lines = stderr.split("\n");
            return String.join("\n", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - n), lines.length));
        }
    }

    private ForkedJvm() {}

    /**
     * The class path of the running tests: surefire passes it in {@code surefire.test.class.path}
     * (its own {@code java.class.path} is a manifest-only jar), an IDE in {@code java.class.path}.
     */
    static String testClassPath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    static Result run(Class<?> main, long timeoutSeconds, String... args) throws IOException, InterruptedException {
        Path work = Files.createTempDirectory("samplenorm-forked-");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx1g");
        // A crash writes its report into the scratch folder, never a core file.
        cmd.add("-XX:-CreateCoredumpOnCrash");
        cmd.add("-XX:ErrorFile=" + work.resolve("hs_err_pid%p.log"));
        cmd.add("-cp");
        cmd.add(testClassPath());
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        Path out = work.resolve("stdout.txt"), err = work.resolve("stderr.txt");
        Process p = new ProcessBuilder(cmd).directory(new File(System.getProperty("user.dir"))).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
            p.waitFor();
        }
        Result r = new Result(p.exitValue(), Files.readAllLines(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.ISO_8859_1), !done);
        try (var files = Files.list(work)) {
            for (Path f : files.toList()) Files.deleteIfExists(f);
        }
        Files.deleteIfExists(work);
        return r;
    }
}
