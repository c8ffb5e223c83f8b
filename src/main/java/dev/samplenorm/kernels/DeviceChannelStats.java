package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_64F;

import java.util.Objects;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.opencv.opencv_core.GpuMat;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Stream;

/**
 * Statistics held in device memory (a 2 x K CV_64F GpuMat: row 0 the means, row 1 the variances),
 * so that a statistics kernel can feed a normalization kernel on the same stream without a round
 * trip to the host. Owns its device memory: close it (idempotent); use after close is refused.
 */
public final class DeviceChannelStats implements AutoCloseable {

    private final StatsScope scope;
    private final int samples;
    private final int channels;
    private GpuMat values;

    DeviceChannelStats(StatsScope scope, int samples, int channels) {
        this.scope = scope;
        this.samples = samples;
        this.channels = channels;
        this.values = new GpuMat(2, scope == StatsScope.BATCH ? channels : samples * channels, CV_64F);
    }

    /** Copies host statistics to the device, asynchronously on {@code stream} (staged through pageable memory). */
    public static DeviceChannelStats upload(ChannelStats stats, Stream stream) {
        Objects.requireNonNull(stats, "stats");
        Objects.requireNonNull(stream, "stream");
        CudaKernels.requireCuda();
        DeviceChannelStats d = new DeviceChannelStats(stats.scope(), stats.samples(), stats.channels());
        try (Mat host = new Mat(2, stats.size(), CV_64F)) {
            new DoublePointer(host.ptr(0)).put(stats.meansUnsafe());
            new DoublePointer(host.ptr(1)).put(stats.variancesUnsafe());
            d.values.upload(host, stream);
            // upload from pageable memory is staged before it returns, so `host` may be freed here.
        }
        return d;
    }

    public StatsScope scope() {
        return scope;
    }

    public int samples() {
        return samples;
    }

    public int channels() {
        return channels;
    }

    /**
     * Copies the statistics to the host. Blocking: waits for {@code stream} to complete, since the
     * kernels that produced the values run on it.
     */
    public ChannelStats download(Stream stream) {
        Objects.requireNonNull(stream, "stream");
        GpuMat v = live();
        try (Mat host = new Mat()) {
            v.download(host, stream);
            stream.waitForCompletion();
            int k = v.cols();
            double[] mean = new double[k], var = new double[k];
            new DoublePointer(host.ptr(0)).get(mean);
            new DoublePointer(host.ptr(1)).get(var);
            return new ChannelStats(scope, samples, channels, mean, var);
        }
    }

    DoublePointer meanPointer() {
        return new DoublePointer(live().data());
    }

    DoublePointer variancePointer() {
        GpuMat v = live();
        // Row 1 of the pitched GpuMat; the step of a CV_64F GpuMat is a multiple of 8 bytes.
        return new DoublePointer(v.data()).position(v.step() / Double.BYTES);
    }

    private GpuMat live() {
        GpuMat v = values;
        if (v == null) {
            throw new IllegalStateException("DeviceChannelStats is closed");
        }
        return v;
    }

    @Override
    public void close() {
        GpuMat v = values;
        values = null;
        if (v != null) {
            v.close();
        }
    }
}
