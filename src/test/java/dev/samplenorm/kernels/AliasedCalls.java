package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Host-kernel calls whose output aliases an input, one per name. Run as a main in a child JVM
 * (see {@code AliasingTest}) because such calls crashed the JVM (abort) or read freed memory
 * before they were checked.
 */
final class AliasedCalls {

    static final int N = 2, C = 3, H = 16, W = 24;

    static final Map<String, Consumer<List<Mat>>> CALLS = Map.of(
            // The output blob is one of the input images: create() would reallocate that image.
            "imagesToBlob into an input image",
            images -> HostKernels.imagesToBlob(images, images.get(0), PixelMapping.symmetric(), false),
            "imagesToNormalizedBlob into an input image",
            images -> HostKernels.imagesToNormalizedBlob(images, images.get(1), StatsScope.SAMPLE, false, 1 / 127.5, 1e-5),
            // The output blob is a header over the image's own memory (a buffer big enough for both).
            "imagesToBlob into a blob over an image's memory",
            images -> {
                Mat buffer = new Mat(4 * H, W, CV_8UC3);
                images.get(0).copyTo(buffer.rowRange(0, H));
                Mat blob = new Mat(new int[] {1, C, H, W}, CV_32F, buffer.data());
                HostKernels.imagesToBlob(List.of(buffer.rowRange(0, H)), blob, PixelMapping.symmetric(), false);
            },
            // An output image is the input blob: create() would reallocate the blob.
            "blobToImages into the input blob",
            images -> {
                Mat blob = blob();
                HostKernels.blobToImages(blob, List.of(blob, new Mat()), PixelMapping.symmetric(), false);
            },
            // An output image is a header over the blob's memory.
            "blobToImages into an image over the blob's memory",
            images -> {
                Mat blob = blob();
                HostKernels.blobToImages(blob, List.of(new Mat(H, W, CV_8UC3, blob.data()), new Mat()), PixelMapping.symmetric(), false);
            },
            // Two outputs are one Mat: the second image would overwrite the first.
            "blobToImages with one Mat for two outputs",
            images -> {
                Mat out = new Mat();
                HostKernels.blobToImages(blob(), List.of(out, out), PixelMapping.symmetric(), false);
            },
            // dst starts inside src, one row later: the kernel would read values it already wrote.
            "normalize into a shifted view of the source",
            images -> {
                Mat src = blob(), big = new Mat(new int[] {N + 1, C, H, W}, CV_32F);
                src.copyTo(big.rowRange(0, N));
                Mat dst = new Mat(new int[] {N, C, H, W}, CV_32F, new FloatPointer(big.data()).position(W));
                Mat view = new Mat(new int[] {N, C, H, W}, CV_32F, big.data());
                HostKernels.normalize(view, dst, HostKernels.statistics(view, StatsScope.BATCH), null, null, 1e-5);
            });

    private AliasedCalls() {}

    static Mat blob() {
        Mat blob = new Mat(new int[] {N, C, H, W}, CV_32F);
        float[] values = new float[N * C * H * W];
        for (int i = 0; i < values.length; i++) values[i] = (float) Math.sin(i * 0.37);
        new FloatPointer(blob.data()).put(values);
        return blob;
    }

    /** Runs every call (or the named ones), printing {@code name -> REFUSED: message} or {@code name -> DONE} for each. */
    public static void main(String[] args) {
        for (String name : args.length == 0 ? new java.util.TreeSet<>(CALLS.keySet()) : List.of(args)) {
            Consumer<List<Mat>> call = CALLS.get(name);
            if (call == null) throw new IllegalArgumentException("unknown call " + name + ", expected one of " + CALLS.keySet());
            System.out.println(name + " -> START");
            System.out.flush();
            List<Mat> images = TestData.images(N, H, W, 3, 0, 7);
            try {
                call.accept(images);
                System.out.println(name + " -> DONE");
            } catch (IllegalArgumentException e) {
                System.out.println(name + " -> REFUSED: " + e.getMessage());
            }
            System.out.flush();
        }
    }
}
