package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.global.samplenorm;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.opencv.opencv_core.GpuMat;
import org.bytedeco.opencv.opencv_core.Stream;

/**
 * The kernels of {@link HostKernels} on CUDA device memory ({@link GpuMat}), asynchronous on the
 * caller's {@link Stream}: every call only enqueues work; nothing here synchronizes the device,
 * except {@link DeviceChannelStats#download(Stream)}, which says so.
 *
 * <p>A blob lives in a CV_32FC1 GpuMat of N*C*H rows and W columns (rows may be pitched); its
 * {@link BlobShape} is passed alongside. Images are CV_8UC1/3/4 GpuMats of one size (at most
 * 512 per call). Creating an instance checks that the GPU variant of the native library is loaded
 * and a CUDA device exists, before any CUDA object is touched. Not thread-safe: use one instance
 * per stream. Closing it releases nothing the caller owns (the stream stays the caller's).
 */
public final class CudaKernels implements AutoCloseable {

    private final Stream stream;
    private volatile boolean closed;

    private CudaKernels(Stream stream) {
        this.stream = stream;
    }

    /**
     * Kernels that enqueue on {@code stream}.
     *
     * @throws SampleNormException {@code BUILT_WITHOUT_CUDA} or {@code NO_CUDA_DEVICE} where CUDA cannot be used
     */
    public static CudaKernels on(Stream stream) {
        Objects.requireNonNull(stream, "stream");
        requireCuda();
        return new CudaKernels(stream);
    }

    static void requireCuda() {
        if (!NativeKernels.builtWithCuda()) {
            throw new SampleNormException(SampleNormException.Code.BUILT_WITHOUT_CUDA,
                    "samplenorm: the CPU variant of the native library is loaded (built without CUDA, or libcudart.so.13 not found)");
        }
        if (NativeKernels.cudaDeviceCount() < 1) {
            throw new SampleNormException(SampleNormException.Code.NO_CUDA_DEVICE, "samplenorm: no CUDA device: " + NativeKernels.cudaStatus());
        }
    }

    /** Statistics of a device blob, left in device memory. */
    public DeviceChannelStats statistics(GpuMat blob, BlobShape shape, StatsScope scope) {
        live();
        Checks.gpuBlob(blob, shape, "blob");
        Objects.requireNonNull(scope, "scope");
        DeviceChannelStats out = new DeviceChannelStats(scope, shape.n(), shape.c());
        NativeKernels.call(() -> samplenorm.blob_stats_cuda(new FloatPointer(blob.data()), blob.step(), shape.n(), shape.c(),
                shape.h(), shape.w(), scope.nativeValue, out.meanPointer(), out.variancePointer(), stream()));
        return out;
    }

    /**
     * {@code dst = (src - mean) / sqrt(var + eps) * gamma + beta}; {@code dst} is (re)allocated to
     * the shape of {@code src} and may be {@code src}. {@code gamma} and {@code beta} are device
     * vectors of C floats (1 x C CV_32F GpuMats) or null.
     */
    public void normalize(GpuMat src, GpuMat dst, BlobShape shape, DeviceChannelStats stats, GpuMat gamma, GpuMat beta, double eps) {
        live();
        Checks.gpuBlob(src, shape, "src");
        Objects.requireNonNull(dst, "dst");
        checkStats(stats, shape.n(), shape.c());
        checkVector(gamma, shape.c(), "gamma");
        checkVector(beta, shape.c(), "beta");
        Checks.eps(eps);
        dst.create(src.rows(), src.cols(), CV_32F);
        NativeKernels.call(() -> samplenorm.blob_normalize_cuda(new FloatPointer(src.data()), src.step(), new FloatPointer(dst.data()),
                dst.step(), shape.n(), shape.c(), shape.h(), shape.w(), stats.scope().nativeValue, stats.meanPointer(),
                stats.variancePointer(), gamma == null ? null : new FloatPointer(gamma.data()),
                beta == null ? null : new FloatPointer(beta.data()), eps, stream()));
    }

    /** Exact per-channel statistics of device images (pixel units, image channel order), left on the device. */
    public DeviceChannelStats imageStatistics(List<GpuMat> images, StatsScope scope) {
        live();
        Checks.ImageGeometry g = Checks.images(images, "images");
        Objects.requireNonNull(scope, "scope");
        checkBatchSize(g.n());
        DeviceChannelStats out = new DeviceChannelStats(scope, g.n(), g.channels());
        try (Scratch scratch = new Scratch()) {
            PointerPointer<BytePointer> data = pointers(images, scratch);
            SizeTPointer steps = steps(images, scratch);
            NativeKernels.call(() -> samplenorm.image_stats_cuda(data, steps, g.n(), g.h(), g.w(), g.channels(), scope.nativeValue,
                    out.meanPointer(), out.variancePointer(), stream()));
        }
        return out;
    }

    /** Fused pre-processing on the device: statistics, then convert + normalize + layout change. */
    public DeviceChannelStats imagesToNormalizedBlob(List<GpuMat> images, GpuMat blob, StatsScope scope, boolean swapRB, double scale,
            double eps) {
        Checks.scale(scale);
        Checks.epsOrZero(eps);
        DeviceChannelStats stats = imageStatistics(images, scope);
        try {
            imagesToBlob(images, blob, stats, swapRB, scale, eps);
        } catch (RuntimeException e) {
            stats.close();
            throw e;
        }
        return stats;
    }

    /** Images to a blob normalized with device statistics; {@code blob} is (re)allocated to N*C*H x W CV_32F. */
    public void imagesToBlob(List<GpuMat> images, GpuMat blob, DeviceChannelStats stats, boolean swapRB, double scale, double eps) {
        live();
        Checks.ImageGeometry g = Checks.images(images, "images");
        Objects.requireNonNull(blob, "blob");
        checkBatchSize(g.n());
        checkStats(stats, g.n(), g.channels());
        Checks.scale(scale);
        Checks.epsOrZero(eps);
        blob.create(g.n() * g.channels() * g.h(), g.w(), CV_32F);
        try (Scratch scratch = new Scratch()) {
            PointerPointer<BytePointer> data = pointers(images, scratch);
            SizeTPointer steps = steps(images, scratch);
            NativeKernels.call(() -> samplenorm.images_to_blob_cuda(data, steps, g.n(), g.h(), g.w(), g.channels(), swapRB,
                    stats.scope().nativeValue, stats.meanPointer(), stats.variancePointer(), scale, eps,
                    new FloatPointer(blob.data()), blob.step(), stream()));
        }
    }

    /** The inverse of {@link #imagesToBlob}: {@code images} holds N GpuMats, each (re)allocated to H x W with C channels. */
    public void blobToImages(GpuMat blob, BlobShape shape, List<GpuMat> images, DeviceChannelStats stats, boolean swapRB, double scale,
            double eps) {
        live();
        Checks.gpuBlob(blob, shape, "blob");
        Objects.requireNonNull(images, "images");
        if (shape.c() != 1 && shape.c() != 3 && shape.c() != 4) {
            throw new IllegalArgumentException("blob: expected 1, 3 or 4 channels to write 8-bit images, got " + shape.c());
        }
        if (images.size() != shape.n()) {
            throw new IllegalArgumentException("images: expected " + shape.n() + " GpuMats, one per blob sample, got " + images.size());
        }
        checkBatchSize(shape.n());
        checkStats(stats, shape.n(), shape.c());
        Checks.scale(scale);
        Checks.epsOrZero(eps);
        for (int i = 0; i < images.size(); i++) {
            Objects.requireNonNull(images.get(i), "images[" + i + "]").create(shape.h(), shape.w(), CV_8UC(shape.c()));
        }
        try (Scratch scratch = new Scratch()) {
            PointerPointer<BytePointer> data = pointers(images, scratch);
            SizeTPointer steps = steps(images, scratch);
            NativeKernels.call(() -> samplenorm.blob_to_images_cuda(new FloatPointer(blob.data()), blob.step(), shape.n(), shape.c(),
                    shape.h(), shape.w(), swapRB, stats.scope().nativeValue, stats.meanPointer(), stats.variancePointer(), scale, eps,
                    data, steps, stream()));
        }
    }

    @Override
    public void close() {
        closed = true;
    }

    private void live() {
        if (closed) {
            throw new IllegalStateException("CudaKernels is closed");
        }
    }

    private Pointer stream() {
        return stream.cudaPtr();
    }

    private static void checkStats(DeviceChannelStats stats, int n, int channels) {
        Objects.requireNonNull(stats, "stats");
        if (stats.channels() != channels || (stats.scope() == StatsScope.SAMPLE && stats.samples() != n)) {
            throw new IllegalArgumentException("stats: expected " + stats.scope() + " statistics for " + n + " samples and " + channels
                    + " channels, got " + stats.samples() + " samples and " + stats.channels() + " channels");
        }
    }

    private static void checkVector(GpuMat v, int c, String name) {
        if (v != null && (v.type() != CV_32F || v.rows() != 1 || v.cols() != c)) {
            throw new IllegalArgumentException(name + ": expected a 1 x " + c + " CV_32F GpuMat or null, got " + v.rows() + " x " + v.cols()
                    + " " + Checks.typeName(v.type()));
        }
    }

    private static void checkBatchSize(int n) {
        if (n > samplenorm.SN_CUDA_MAX_IMAGES) {
            throw new IllegalArgumentException("images: at most " + samplenorm.SN_CUDA_MAX_IMAGES + " images per CUDA call, got " + n);
        }
    }

    private static PointerPointer<BytePointer> pointers(List<GpuMat> images, Scratch scratch) {
        PointerPointer<BytePointer> p = scratch.pointers(images.size());
        for (int i = 0; i < images.size(); i++) p.put(i, images.get(i).data());
        return p;
    }

    private static SizeTPointer steps(List<GpuMat> images, Scratch scratch) {
        SizeTPointer s = scratch.sizes(images.size());
        for (int i = 0; i < images.size(); i++) s.put(i, images.get(i).step());
        return s;
    }
}
