package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.global.samplenorm;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.opencv.opencv_core.GpuMat;
import org.bytedeco.opencv.opencv_core.Stream;

/**
 * The kernels of {@link HostKernels} on CUDA device memory ({@link GpuMat}), asynchronous on the
 * caller's {@link Stream}. Nothing here synchronizes the device or the stream, except
 * {@link DeviceChannelStats#download(Stream)}, which says so, and the opt-in debug mode of
 * {@link NativeKernels}.
 *
 * <ul>
 *   <li>Results ({@link DeviceChannelStats}) are allocated stream-ordered on this stream and record
 *       an event when written; statistics produced on another stream are waited for on the device
 *       ({@code cudaStreamWaitEvent}) before this stream reads them.
 *   <li>Scratch memory is a workspace per CUDA device, kept by this instance and reused: repeated
 *       calls with the same shapes allocate no scratch ({@link #workspaceAllocations()}).
 *   <li>The calling thread's current device is set to the data's device for each call (and restored).
 * </ul>
 *
 * <p>A blob lives in a CV_32FC1 GpuMat of N*C*H rows and W columns (rows may be pitched); its
 * {@link BlobShape} is passed alongside. Images are CV_8UC1/3/4 GpuMats of one size (at most
 * 512 per call). Creating an instance checks that the GPU variant of the native library is loaded
 * and a CUDA device exists, before any CUDA object is touched. Not thread-safe: use one instance
 * per stream. Closing it frees its workspaces (stream-ordered); the stream stays the caller's.
 */
public final class CudaKernels implements AutoCloseable {

    private final Stream stream;
    private final long streamAddress;
    private final DeviceWorkspaces workspaces;
    private boolean closed;

    private CudaKernels(Stream stream) {
        this.stream = stream;
        this.streamAddress = address(stream);
        this.workspaces = new DeviceWorkspaces(new DeviceWorkspaces.Allocator() {
            @Override
            public long allocate(int device, long bytes) {
                try (Scratch scratch = new Scratch()) {
                    PointerPointer<?> out = scratch.pointers(1);
                    NativeKernels.call(() -> samplenorm.cuda_malloc_async(out, bytes, device, NativeKernels.at(streamAddress)));
                    return out.get(0).address();
                }
            }

            @Override
            public void free(int device, long address) {
                NativeKernels.call(() -> samplenorm.cuda_free_async(NativeKernels.at(address), device, NativeKernels.at(streamAddress)));
            }
        });
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

    /** The cudaStream_t of an OpenCV stream, as an address (0 = the legacy default stream). */
    static long address(Stream stream) {
        Pointer p = stream.cudaPtr();
        return p == null ? 0 : p.address();
    }

    /** Statistics of a device blob, left in device memory and ordered on this stream. */
    public DeviceChannelStats statistics(GpuMat blob, BlobShape shape, StatsScope scope) {
        live();
        Checks.gpuBlob(blob, shape, "blob");
        Objects.requireNonNull(scope, "scope");
        int device = device(blob.data(), "blob");
        long wsBytes = querySize(out -> samplenorm.blob_stats_cuda_workspace(shape.n(), shape.c(), shape.h(), shape.w(),
                scope.nativeValue, out));
        long ws = workspaces.get(device, wsBytes);
        DeviceChannelStats stats = DeviceChannelStats.allocate(scope, shape.n(), shape.c(), device, streamAddress, null);
        try {
            NativeKernels.call(() -> samplenorm.blob_stats_cuda(blob.data(), blob.step(), shape.n(), shape.c(), shape.h(), shape.w(),
                    scope.nativeValue, stats.meanPointer(), stats.variancePointer(), NativeKernels.at(ws), wsBytes, stream()));
            stats.produced(streamAddress);
        } catch (RuntimeException e) {
            stats.close();
            throw e;
        }
        return stats;
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
        int device = device(src.data(), "src");
        long wsBytes = querySize(out -> samplenorm.blob_normalize_cuda_workspace(shape.n(), shape.c(), shape.h(), shape.w(), out));
        long ws = workspaces.get(device, wsBytes);
        stats.awaitOn(streamAddress);
        NativeKernels.call(() -> samplenorm.blob_normalize_cuda(src.data(), src.step(), dst.data(), dst.step(), shape.n(), shape.c(),
                shape.h(), shape.w(), stats.scope().nativeValue, stats.meanPointer(), stats.variancePointer(),
                gamma == null ? null : gamma.data(), beta == null ? null : beta.data(), eps, NativeKernels.at(ws), wsBytes, stream()));
        stats.consumedOn(streamAddress);
    }

    /** Exact per-channel statistics of device images (pixel units, image channel order), left on the device. */
    public DeviceChannelStats imageStatistics(List<GpuMat> images, StatsScope scope) {
        live();
        Checks.ImageGeometry g = Checks.images(images, "images");
        Objects.requireNonNull(scope, "scope");
        checkBatchSize(g.n());
        int device = device(images.get(0).data(), "images[0]");
        long wsBytes = querySize(out -> samplenorm.image_stats_cuda_workspace(g.n(), g.h(), g.w(), g.channels(), scope.nativeValue, out));
        long ws = workspaces.get(device, wsBytes);
        DeviceChannelStats stats = DeviceChannelStats.allocate(scope, g.n(), g.channels(), device, streamAddress, null);
        try (Scratch scratch = new Scratch()) {
            PointerPointer<BytePointer> data = pointers(images, scratch);
            SizeTPointer steps = steps(images, scratch);
            NativeKernels.call(() -> samplenorm.image_stats_cuda(data, steps, g.n(), g.h(), g.w(), g.channels(), scope.nativeValue,
                    stats.meanPointer(), stats.variancePointer(), NativeKernels.at(ws), wsBytes, stream()));
            stats.produced(streamAddress);
        } catch (RuntimeException e) {
            stats.close();
            throw e;
        }
        return stats;
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
        checkPositiveDenominator(stats, scale, eps);
        blob.create(g.n() * g.channels() * g.h(), g.w(), CV_32F);
        stats.awaitOn(streamAddress);
        try (Scratch scratch = new Scratch()) {
            PointerPointer<BytePointer> data = pointers(images, scratch);
            SizeTPointer steps = steps(images, scratch);
            NativeKernels.call(() -> samplenorm.images_to_blob_cuda(data, steps, g.n(), g.h(), g.w(), g.channels(), swapRB,
                    stats.scope().nativeValue, stats.meanPointer(), stats.variancePointer(), scale, eps, blob.data(), blob.step(), stream()));
        }
        stats.consumedOn(streamAddress);
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
        checkPositiveDenominator(stats, scale, eps);
        for (int i = 0; i < images.size(); i++) {
            Objects.requireNonNull(images.get(i), "images[" + i + "]").create(shape.h(), shape.w(), CV_8UC(shape.c()));
        }
        stats.awaitOn(streamAddress);
        try (Scratch scratch = new Scratch()) {
            PointerPointer<BytePointer> data = pointers(images, scratch);
            SizeTPointer steps = steps(images, scratch);
            NativeKernels.call(() -> samplenorm.blob_to_images_cuda(blob.data(), blob.step(), shape.n(), shape.c(), shape.h(), shape.w(),
                    swapRB, stats.scope().nativeValue, stats.meanPointer(), stats.variancePointer(), scale, eps, data, steps, stream()));
        }
        stats.consumedOn(streamAddress);
    }

    /** Scratch workspace allocations this instance has made (reused across calls; for tests). */
    public long workspaceAllocations() {
        return workspaces.allocations();
    }

    /** Frees the workspaces, ordered on the stream (no synchronization). Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        workspaces.close();
    }

    private void live() {
        if (closed) {
            throw new IllegalStateException("CudaKernels is closed");
        }
    }

    private Pointer stream() {
        return NativeKernels.at(streamAddress);
    }

    /** The CUDA device of a device pointer; IllegalArgumentException for host memory. */
    private static int device(Pointer p, String name) {
        try (Scratch scratch = new Scratch()) {
            IntPointer out = scratch.ints(1);
            try {
                NativeKernels.call(() -> samplenorm.cuda_pointer_device(p, out));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
            }
            return out.get();
        }
    }

    private interface SizeQuery {
        int query(SizeTPointer out);
    }

    private static long querySize(SizeQuery q) {
        try (Scratch scratch = new Scratch()) {
            SizeTPointer out = scratch.sizes(1);
            NativeKernels.call(() -> q.query(out));
            return out.get();
        }
    }

    private static void checkStats(DeviceChannelStats stats, int n, int channels) {
        Objects.requireNonNull(stats, "stats");
        if (stats.channels() != channels || (stats.scope() == StatsScope.SAMPLE && stats.samples() != n)) {
            throw new IllegalArgumentException("stats: expected " + stats.scope() + " statistics for " + n + " samples and " + channels
                    + " channels, got " + stats.samples() + " samples and " + stats.channels() + " channels");
        }
    }

    /** The host facade's zero-denominator refusal, where the values are known on the host (uploaded statistics). */
    private static void checkPositiveDenominator(DeviceChannelStats stats, double scale, double eps) {
        ChannelStats host = stats.hostValues();
        if (host == null) return;
        for (double v : host.variances()) {
            if (v * scale * scale + eps == 0) {
                throw new IllegalArgumentException("a channel has zero variance and eps is 0: the normalization would divide by zero;"
                        + " pass eps > 0");
            }
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
