package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.testing.ChildJvm;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;

/** An output that aliases an input is refused in Java, or (normalize) computed in place exactly. */
class AliasingTest {

    @Test
    void everyAliasedOutputIsRefusedBeforeTheNativeCallInsteadOfCrashingTheJvm() throws Exception {
        // A child JVM: before these checks, the first two calls aborted the JVM.
        ChildJvm.Result r = ChildJvm.run(180, AliasedCalls.class);
        assertFalse(r.crashed(), "the JVM crashed:\n" + r.output());
        assertEquals(0, r.exitCode(), r.output());
        Map<String, String> expected = Map.of(
                "imagesToBlob into an input image", "REFUSED: blob is images[0]: an output must not be one of the inputs",
                "imagesToNormalizedBlob into an input image", "REFUSED: blob is images[1]",
                "imagesToBlob into a blob over an image's memory", "REFUSED: blob shares memory with images",
                "blobToImages into the input blob", "REFUSED: images[0] is blob",
                "blobToImages into an image over the blob's memory", "REFUSED: images[0] shares memory with blob",
                "blobToImages with one Mat for two outputs", "REFUSED: images[0] and images[1] share memory",
                "normalize into a shifted view of the source", "REFUSED: dst shares memory with src");
        assertEquals(expected.keySet(), AliasedCalls.CALLS.keySet(), "every aliased call has an expectation");
        for (var e : expected.entrySet()) {
            assertTrue(r.output().contains(e.getKey() + " -> " + e.getValue()), e.getKey() + " should give '" + e.getValue() + "':\n"
                    + r.output());
        }
    }

    @Test
    void normalizeInPlaceOnAMatGivesTheSameValuesAsIntoANewMat() {
        try (Mat src = AliasedCalls.blob(); Mat expected = new Mat()) {
            ChannelStats stats = HostKernels.statistics(src, StatsScope.SAMPLE);
            float[] gamma = {0.5f, 2f, -1f}, beta = {0.1f, 0f, 3f};
            HostKernels.normalize(src, expected, stats, gamma, beta, 1e-5);
            long address = src.data().address();
            HostKernels.normalize(src, src, stats, gamma, beta, 1e-5);
            assertEquals(address, src.data().address(), "in place: no reallocation");
            assertArrayEquals(values(expected), values(src));
        }
    }

    @Test
    void normalizeInPlaceOnAMatSharingTheSourceMemoryGivesTheSameValues() {
        try (Mat src = AliasedCalls.blob(); Mat expected = new Mat()) {
            ChannelStats stats = HostKernels.statistics(src, StatsScope.BATCH);
            HostKernels.normalize(src, expected, stats, null, null, 1e-5);
            Mat sameMemory = new Mat(new int[] {AliasedCalls.N, AliasedCalls.C, AliasedCalls.H, AliasedCalls.W}, CV_32F, src.data());
            HostKernels.normalize(src, sameMemory, stats, null, null, 1e-5);
            assertArrayEquals(values(expected), values(src));
        }
    }

    @Test
    void normalizeInPlaceOnAJavaArrayGivesTheSameValuesAsIntoANewArray() {
        BlobShape shape = new BlobShape(2, 3, 5, 7);
        float[] x = TestData.gaussian(shape, 3, 10, 2), expected = new float[x.length];
        ChannelStats stats = HostKernels.statistics(x, shape, StatsScope.SAMPLE);
        HostKernels.normalize(x, expected, shape, stats, null, new float[] {1, 2, 3}, 1e-5);
        HostKernels.normalize(x, x, shape, stats, null, new float[] {1, 2, 3}, 1e-5);
        assertArrayEquals(expected, x);
    }

    private static float[] values(Mat blob) {
        float[] v = new float[(int) blob.total()];
        new FloatPointer(blob.data()).get(v);
        return v;
    }
}
