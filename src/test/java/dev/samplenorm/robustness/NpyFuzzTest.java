package dev.samplenorm.robustness;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.samplenorm.io.Npy;
import dev.samplenorm.io.NpyArray;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Fuzzes the {@code .npy} reader: any bytes give an array whose shape describes exactly the values
 * it holds, or an {@link IllegalArgumentException}. The shape is checked against the values in
 * Java, with overflow-safe arithmetic, before the array becomes an OpenCV Mat, so a reader bug
 * shows up as a finding rather than as a native crash.
 *
 * <p>Regression inputs: {@code NpyFuzzTestInputs/npyBytesAreRefusedOrRead/}.
 */
class NpyFuzzTest {

    @FuzzTest(maxDuration = "10m")
    void npyBytesAreRefusedOrRead(byte[] bytes) {
        FuzzSupport.recordInput(bytes);
        NpyArray a;
        try {
            a = Npy.parse(bytes);
        } catch (IllegalArgumentException e) {
            return;
        }
        long elements = 1;
        for (int d : a.shape()) elements = Math.multiplyExact(elements, (long) d);
        assertEquals(elements, a.size(), "the shape describes exactly the values read");
        long held = a.floats() != null ? a.floats().length : a.doubles().length;
        assertEquals(elements, held, "the values held");
        if (elements == 0 || a.rank() == 0) return;
        try (Mat m = a.toFloatMat()) {
            assertEquals(elements, m.total() * m.channels(), "the Mat holds every value");
        }
    }
}
