package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC;

import dev.samplenorm.global.samplenorm;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Batch statistics, fused normalization and fused image-batch conversion on host memory
 * ({@link Mat} or Java arrays). Stateless and thread-safe; every native temporary of a call is
 * freed before it returns.
 *
 * <p>Blobs are 4-D continuous CV_32F Mats (as OpenCV DNN uses them); images are 2-D 8-bit Mats with
 * 1, 3 or 4 interleaved channels, all of one size per batch. Arguments are checked here, before any
 * native call, and a bad one raises {@link IllegalArgumentException} naming what was expected.
 * That includes aliasing: an output Mat may not be an input Mat, share memory with one, or share
 * memory with another output. The one exception is {@link #normalize}, which runs in place when
 * {@code dst} is {@code src}.
 *
 * <p>NaN and infinity are not filtered: a channel containing them gets non-finite statistics and
 * normalized values; conversion to 8-bit saturates infinities and writes 0 for NaN.
 */
public final class HostKernels {

    private HostKernels() {}

    /** Mean and biased variance per channel ({@link StatsScope#BATCH}) or per image and channel ({@link StatsScope#SAMPLE}). */
    public static ChannelStats statistics(Mat blob, StatsScope scope) {
        BlobShape s = Checks.blob(blob, "blob");
        Objects.requireNonNull(scope, "scope");
        int k = count(s, scope);
        double[] mean = new double[k], var = new double[k];
        try (Scratch scratch = new Scratch()) {
            DoublePointer m = scratch.doubles(k), v = scratch.doubles(k);
            NativeKernels.call(() -> samplenorm.blob_stats(new FloatPointer(blob.data()), rowStep(s), s.n(), s.c(), s.h(), s.w(),
                    scope.nativeValue, m, v));
            m.get(mean);
            v.get(var);
        }
        return new ChannelStats(scope, s.n(), s.c(), mean, var);
    }

    /** As {@link #statistics(Mat, StatsScope)} for a blob held in a Java array. */
    public static ChannelStats statistics(float[] blob, BlobShape shape, StatsScope scope) {
        Checks.array(blob, shape, "blob");
        Objects.requireNonNull(scope, "scope");
        int k = count(shape, scope);
        double[] mean = new double[k], var = new double[k];
        NativeKernels.call(() -> samplenorm.blob_stats(blob, rowStep(shape), shape.n(), shape.c(), shape.h(), shape.w(),
                scope.nativeValue, mean, var));
        return new ChannelStats(scope, shape.n(), shape.c(), mean, var);
    }

    /**
     * {@code dst = (src - mean) / sqrt(var + eps) * gamma + beta} in one pass. {@code dst} is
     * (re)allocated to the shape of {@code src} unless it already has it, and may be {@code src}
     * itself (in place). {@code gamma} and {@code beta} hold one value per channel, or are null (1 and 0).
     *
     * @throws IllegalArgumentException if {@code dst} overlaps {@code src} without being exactly its memory
     */
    public static void normalize(Mat src, Mat dst, ChannelStats stats, float[] gamma, float[] beta, double eps) {
        BlobShape s = Checks.blob(src, "src");
        Objects.requireNonNull(dst, "dst");
        checkNormalize(s, stats, gamma, beta, eps);
        dst.create(new int[] {s.n(), s.c(), s.h(), s.w()}, CV_32F);
        // In place is exact (each element is read once, then written); a partial overlap is not.
        Checks.Span in = Checks.span(src), out = Checks.span(dst);
        if (!in.equals(out) || !dst.isContinuous()) {
            Checks.noOverlap(dst, "dst", List.of(src), "src");
        }
        try (Scratch scratch = new Scratch()) {
            DoublePointer m = scratch.doubles(stats.meansUnsafe()), v = scratch.doubles(stats.variancesUnsafe());
            FloatPointer g = gamma == null ? null : scratch.floats(gamma);
            FloatPointer b = beta == null ? null : scratch.floats(beta);
            NativeKernels.call(() -> samplenorm.blob_normalize(new FloatPointer(src.data()), rowStep(s), new FloatPointer(dst.data()),
                    rowStep(s), s.n(), s.c(), s.h(), s.w(), stats.scope().nativeValue, m, v, g, b, eps));
        }
    }

    /** As {@link #normalize(Mat, Mat, ChannelStats, float[], float[], double)} on Java arrays; {@code dst} may be {@code src}. */
    public static void normalize(float[] src, float[] dst, BlobShape shape, ChannelStats stats, float[] gamma, float[] beta,
            double eps) {
        Checks.array(src, shape, "src");
        Checks.array(dst, shape, "dst");
        checkNormalize(shape, stats, gamma, beta, eps);
        NativeKernels.call(() -> samplenorm.blob_normalize(src, rowStep(shape), dst, rowStep(shape), shape.n(), shape.c(),
                shape.h(), shape.w(), stats.scope().nativeValue, stats.meansUnsafe(), stats.variancesUnsafe(), gamma, beta, eps));
    }

    /** Exact mean and biased variance of 8-bit images per channel, in pixel units and image channel order. */
    public static ChannelStats imageStatistics(List<Mat> images, StatsScope scope) {
        Checks.ImageGeometry g = Checks.images(images, "images");
        Objects.requireNonNull(scope, "scope");
        int k = scope == StatsScope.BATCH ? g.channels() : g.n() * g.channels();
        double[] mean = new double[k], var = new double[k];
        try (Scratch scratch = new Scratch()) {
            ImagePointers p = ImagePointers.of(images, scratch);
            DoublePointer m = scratch.doubles(k), v = scratch.doubles(k);
            NativeKernels.call(() -> samplenorm.image_stats(p.data, p.steps, g.n(), g.h(), g.w(), g.channels(), scope.nativeValue, m, v));
            m.get(mean);
            v.get(var);
        }
        return new ChannelStats(scope, g.n(), g.channels(), mean, var);
    }

    /**
     * The fused pre-processing of train-mode inference: takes the batch's statistics (one pass)
     * and writes the NCHW blob {@code (p * scale - mean * scale) / sqrt(var * scale^2 + eps)}
     * (second pass: convert, normalize, HWC to CHW, optional BGR/RGB swap).
     *
     * @return the statistics used, in pixel units and image channel order
     */
    public static ChannelStats imagesToNormalizedBlob(List<Mat> images, Mat blob, StatsScope scope, boolean swapRB, double scale,
            double eps) {
        Checks.images(images, "images");
        Objects.requireNonNull(blob, "blob");
        Checks.scale(scale);
        Checks.epsOrZero(eps);
        ChannelStats stats = imageStatistics(images, scope);
        imagesToBlob(images, blob, stats, swapRB, scale, eps);
        return stats;
    }

    /** Images to blob normalized with the given statistics (pixel units, image channel order). */
    public static void imagesToBlob(List<Mat> images, Mat blob, ChannelStats stats, boolean swapRB, double scale, double eps) {
        Checks.ImageGeometry g = Checks.images(images, "images");
        Objects.requireNonNull(blob, "blob");
        Checks.stats(stats, g.n(), g.channels(), "stats");
        Checks.scale(scale);
        Checks.epsOrZero(eps);
        checkPositiveDenominator(stats, scale, eps);
        Checks.notAnInput(blob, "blob", images, "images");
        blob.create(new int[] {g.n(), g.channels(), g.h(), g.w()}, CV_32F);
        Checks.noOverlap(blob, "blob", images, "images");
        try (Scratch scratch = new Scratch()) {
            ImagePointers p = ImagePointers.of(images, scratch);
            DoublePointer m = scratch.doubles(stats.meansUnsafe()), v = scratch.doubles(stats.variancesUnsafe());
            NativeKernels.call(() -> samplenorm.images_to_blob(p.data, p.steps, g.n(), g.h(), g.w(), g.channels(), swapRB,
                    stats.scope().nativeValue, m, v, scale, eps, new FloatPointer(blob.data()), (long) g.w() * Float.BYTES));
        }
    }

    /** Images to blob with a fixed mapping such as {@link PixelMapping#symmetric()}. */
    public static void imagesToBlob(List<Mat> images, Mat blob, PixelMapping mapping, boolean swapRB) {
        Checks.ImageGeometry g = Checks.images(images, "images");
        Objects.requireNonNull(mapping, "mapping");
        imagesToBlob(images, blob, mapping.asPixelStats(g.channels()), swapRB, mapping.scale(), 0.0);
    }

    /**
     * The fused post-processing: the inverse of {@link #imagesToBlob(List, Mat, ChannelStats, boolean, double, double)}
     * with the same parameters, rounded to nearest and saturated to 8 bits. {@code images} must hold
     * N Mats; each is (re)allocated to H x W with C channels unless it already has that shape.
     */
    public static void blobToImages(Mat blob, List<Mat> images, ChannelStats stats, boolean swapRB, double scale, double eps) {
        BlobShape s = Checks.blob(blob, "blob");
        Objects.requireNonNull(images, "images");
        if (s.c() != 1 && s.c() != 3 && s.c() != 4) {
            throw new IllegalArgumentException("blob: expected 1, 3 or 4 channels to write 8-bit images, got " + s.c());
        }
        if (images.size() != s.n()) {
            throw new IllegalArgumentException("images: expected " + s.n() + " Mats, one per blob sample, got " + images.size());
        }
        Checks.stats(stats, s.n(), s.c(), "stats");
        Checks.scale(scale);
        Checks.epsOrZero(eps);
        checkPositiveDenominator(stats, scale, eps);
        for (int i = 0; i < images.size(); i++) {
            Mat m = Objects.requireNonNull(images.get(i), "images[" + i + "]");
            if (Checks.sameHeader(m, blob)) {
                throw new IllegalArgumentException("images[" + i + "] is blob: an output must not be the input; pass a new Mat");
            }
        }
        for (int i = 0; i < images.size(); i++) {
            images.get(i).create(s.h(), s.w(), CV_8UC(s.c()));
        }
        for (int i = 0; i < images.size(); i++) {
            Checks.noOverlap(images.get(i), "images[" + i + "]", List.of(blob), "blob");
        }
        Checks.distinctOutputs(images, "images");
        try (Scratch scratch = new Scratch()) {
            ImagePointers p = ImagePointers.of(images, scratch);
            DoublePointer m = scratch.doubles(stats.meansUnsafe()), v = scratch.doubles(stats.variancesUnsafe());
            NativeKernels.call(() -> samplenorm.blob_to_images(new FloatPointer(blob.data()), rowStep(s), s.n(), s.c(), s.h(), s.w(),
                    swapRB, stats.scope().nativeValue, m, v, scale, eps, p.data, p.steps));
        }
    }

    /** Blob to images with a fixed mapping such as {@link PixelMapping#symmetric()}. */
    public static void blobToImages(Mat blob, List<Mat> images, PixelMapping mapping, boolean swapRB) {
        BlobShape s = Checks.blob(blob, "blob");
        Objects.requireNonNull(mapping, "mapping");
        blobToImages(blob, images, mapping.asPixelStats(s.c()), swapRB, mapping.scale(), 0.0);
    }

    private static void checkNormalize(BlobShape s, ChannelStats stats, float[] gamma, float[] beta, double eps) {
        Checks.stats(stats, s.n(), s.c(), "stats");
        Checks.perChannel(gamma, s.c(), "gamma");
        Checks.perChannel(beta, s.c(), "beta");
        Checks.eps(eps);
    }

    private static void checkPositiveDenominator(ChannelStats stats, double scale, double eps) {
        for (double v : stats.variancesUnsafe()) {
            if (v * scale * scale + eps == 0) {
                throw new IllegalArgumentException("a channel has zero variance and eps is 0: the normalization would divide by zero;"
                        + " pass eps > 0");
            }
        }
    }

    private static int count(BlobShape s, StatsScope scope) {
        return scope == StatsScope.BATCH ? s.c() : s.n() * s.c();
    }

    private static long rowStep(BlobShape s) {
        return (long) s.w() * Float.BYTES;
    }

    /** Row pointers and steps of an image batch, in the caller's scratch memory. */
    private record ImagePointers(PointerPointer<BytePointer> data, SizeTPointer steps) {
        static ImagePointers of(List<Mat> images, Scratch scratch) {
            PointerPointer<BytePointer> data = scratch.pointers(images.size());
            SizeTPointer steps = scratch.sizes(images.size());
            for (int i = 0; i < images.size(); i++) {
                Mat m = images.get(i);
                data.put(i, m.data());
                steps.put(i, m.step());
            }
            return new ImagePointers(data, steps);
        }
    }
}
