package dev.samplenorm.generator;

import java.util.List;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * One rewritten model, ready to run on one engine at one input size. Owned by its {@link Generator},
 * which closes it; used under the generator's lock, one call at a time.
 */
interface Network extends AutoCloseable {

    /**
     * Runs a batch.
     *
     * @param blob the continuous float32 NCHW input
     * @param masks the values of the model's dropout mask inputs, in the order the rewrite listed them
     *     (empty without test-time dropout)
     * @return the float32 NCHW output: new and owned by the caller when {@link #outputIsNew()}, else a
     *     Mat that shares the network's memory until its next run (the caller still closes the header)
     * @throws dev.samplenorm.SampleNormException ({@code MODEL}) when the engine fails to run it
     */
    Mat forward(Mat blob, List<Mat> masks);

    /** Whether {@link #forward} returns memory of its own (no copy is needed to keep it). */
    boolean outputIsNew();

    /** A Mat's shape as {@code [n, c, h, w]}, for messages. */
    static String shapeOf(Mat m) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < m.dims(); i++) sb.append(i == 0 ? "" : ", ").append(m.size(i));
        return sb.append(']').toString();
    }

    /** Frees the engine's resources of this network. Idempotent. */
    @Override
    void close();
}
