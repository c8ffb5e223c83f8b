package dev.samplenorm.generator;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Counts NaN and infinite values in float32 blobs, for the generator's input policy: such values
 * are passed through unchanged and reported in one warning line.
 */
final class NonFinite {

    private NonFinite() {}

    /** NaN and infinite values of a continuous CV_32F Mat; 0 for any other Mat. */
    static long count(Mat m) {
        if (m == null || m.isNull() || m.empty() || m.depth() != CV_32F || !m.isContinuous()) return 0;
        long n = m.total() * m.channels();
        FloatBuffer b = new FloatPointer(m.data()).capacity(n).limit(n).asBuffer();
        long bad = 0;
        for (int i = 0, k = b.limit(); i < k; i++) {
            float v = b.get(i);
            // v - v is 0 for finite values, NaN for NaN and both infinities.
            if (v - v != 0) bad++;
        }
        return bad;
    }

    /** Logs one WARNING line when {@code m} holds NaN or infinite values; returns their count. */
    static long warn(Logger log, Mat m, String what) {
        long bad = count(m);
        if (bad > 0) {
            log.log(Level.WARNING, what + ": " + bad + " of " + m.total() * m.channels() + " values are NaN or infinite; passed on"
                    + " unchanged");
        }
        return bad;
    }
}
