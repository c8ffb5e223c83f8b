package dev.samplenorm.robustness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.samplenorm.robustness.ModelMutations.Expect;
import dev.samplenorm.robustness.ModelMutations.Mutant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every single-field mutation of a small generator model ends in a {@code MODEL} error or a
 * translation, in each statistics mode, and never crashes the JVM. The mutants run in a child JVM
 * ({@link MutantRunner}), so that a native crash fails this test, naming the mutant, instead of
 * killing the build.
 */
class ModelMutationTest {

    private static final long TIMEOUT_S = 300;

    @Test
    void everySingleFieldMutationIsRefusedOrTranslatedWithoutCrashingTheJvm() throws Exception {
        List<Mutant> mutants = ModelMutations.all();
        assertTrue(mutants.size() > 500, "the catalog covers nodes, tensors, attributes, inputs and outputs: " + mutants.size());
        ForkedJvm.Result r = ForkedJvm.run(MutantRunner.class, TIMEOUT_S, "catalog");
        Map<Integer, String[]> ends = check(r, mutants.size());

        List<String> violations = new ArrayList<>();
        int refused = 0, translated = 0;
        for (int i = 0; i < mutants.size(); i++) {
            String[] end = ends.get(i);
            Mutant m = mutants.get(i);
            if (end[0].equals("REFUSED")) refused++;
            if (end[0].equals("TRANSLATED")) translated++;
            if (end[0].equals("FAILED") || m.expect() == Expect.REFUSED && !end[0].equals("REFUSED")) {
                violations.add(i + " " + m.name() + " (expected " + m.expect() + "): " + end[0] + " " + end[1]);
            }
        }
        assertTrue(violations.isEmpty(), violations.size() + " mutants broke the rule:\n" + String.join("\n", violations));
        assertTrue(translated > 50, "mutations that keep the model valid are translated, not refused wholesale: " + translated);
        assertTrue(refused > 400, "refused: " + refused);
    }

    /**
     * One random byte changed in the structure of the bundled model. Plain OpenCV 4.13 dies with
     * SIGSEGV on mutant 10 of seed 8 (16 of the first 100; benchmarks/RESULTS.md).
     */
    @Test
    void randomOneByteMutantsOfTheBundledModelAreRefusedOrTranslatedWithoutCrashingTheJvm() throws Exception {
        int count = 12;
        ForkedJvm.Result r = ForkedJvm.run(MutantRunner.class, TIMEOUT_S, "bytes", "8", Integer.toString(count));
        Map<Integer, String[]> ends = check(r, count);
        for (Map.Entry<Integer, String[]> e : ends.entrySet()) {
            assertFalse(e.getValue()[0].equals("FAILED"), "mutant " + e.getKey() + ": " + e.getValue()[1]);
        }
    }

    /** Each mutant has its END line, the child finished, and nothing crashed; END lines by index. */
    private static Map<Integer, String[]> check(ForkedJvm.Result r, int expected) {
        Map<Integer, String[]> ends = new HashMap<>();
        String lastBegin = null;
        String done = null;
        StringBuilder crash = new StringBuilder();
        for (String line : r.stdout()) {
            if (line.startsWith("#  SIG") || line.startsWith("# C ") || line.startsWith("# Problematic")) crash.append(line).append('\n');
            if (line.startsWith("BEGIN ")) lastBegin = line;
            if (line.startsWith("DONE ")) done = line;
            if (line.startsWith("END ")) {
                String[] f = line.split(" ", 4);
                ends.put(Integer.parseInt(f[1]), new String[] {f[2], f[3]});
            }
        }
        if (r.timedOut() || r.exitCode() != 0 || done == null) {
            fail("the child JVM " + (r.timedOut() ? "timed out" : "exited with " + r.exitCode()) + " during: " + lastBegin
                    + "\n" + crash + "--- stderr tail ---\n" + r.stderrTail(30));
        }
        assertEquals(expected, ends.size(), "an END line for every mutant; " + done);
        return ends;
    }
}
