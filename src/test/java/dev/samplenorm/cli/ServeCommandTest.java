package dev.samplenorm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** The serve command's option handling (the server itself is tested in dev.samplenorm.server). */
class ServeCommandTest {

    private static int run(StringWriter err, String... args) {
        return Main.execute(args, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
    }

    @Test
    void mistakesInServeOptionsAreUserErrorsNamingWhatWasExpected() {
        StringWriter err = new StringWriter();
        assertEquals(Main.USER_ERROR, run(err, "serve", "--stats", "median"));
        assertTrue(err.toString().contains("expected one of sample, batch, running, input"), err.toString());
        err = new StringWriter();
        assertEquals(Main.USER_ERROR, run(err, "serve", "--max-batch", "0"));
        assertTrue(err.toString().contains("--max-batch"), err.toString());
        err = new StringWriter();
        assertEquals(Main.USER_ERROR, run(err, "serve", "--model", "does/not/exist.onnx"));
        assertTrue(err.toString().contains("model not found"), err.toString());
    }

    @Test
    void maxBodyOutsideOneTo2047MiBIsAUserErrorNamingTheRange() {
        // 2^44 + 1 MiB would wrap to 1 MiB when shifted into bytes.
        for (String bad : new String[] {"0", "-5", "2048", "17592186044417"}) {
            StringWriter err = new StringWriter();
            assertEquals(Main.USER_ERROR, run(err, "serve", "--max-body-mb", bad));
            assertTrue(err.toString().contains("--max-body-mb: expected 1 to 2047 MiB, got " + bad), err.toString());
        }
    }

    @Test
    void computeNiceOutsideZeroToNineteenIsAUserErrorNamingTheRange() {
        for (String bad : new String[] {"-1", "20"}) {
            StringWriter err = new StringWriter();
            assertEquals(Main.USER_ERROR, run(err, "serve", "--compute-nice", bad));
            assertTrue(err.toString().contains("--compute-nice: expected a nice value from 0 (normal priority) to 19 (lowest), got " + bad),
                    err.toString());
        }
        StringWriter err = new StringWriter();
        assertEquals(Main.USER_ERROR, run(err, "serve", "--compute-nice", "low"));
        assertTrue(err.toString().contains("--compute-nice"), err.toString());
    }

    @Test
    void helpListsTheServingOptions() {
        StringWriter out = new StringWriter();
        assertEquals(0, Main.execute(new String[] {"serve", "--help"}, new PrintWriter(out, true), new PrintWriter(new StringWriter(), true)));
        for (String option : new String[] {"--host", "--port", "--instances", "--max-batch", "--max-delay-ms", "--queue", "--timeout-ms",
                "--compute-nice"}) {
            assertTrue(out.toString().contains(option), "help lists " + option);
        }
    }
}
