package dev.samplenorm.kernels;

import dev.samplenorm.global.samplenorm;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.opencv.opencv_core.Stream;

/**
 * Statistics held in device memory (K means, then K variances, as doubles), so that a statistics
 * kernel can feed a normalization kernel without a round trip to the host.
 *
 * <p>Stream-ordered: the memory is allocated from the library's pool on the stream that produces
 * the values (the <em>owner stream</em>) and an event is recorded there after they are written. A
 * consumer on another stream first waits for that event ({@code cudaStreamWaitEvent}; no host
 * wait), and records an event of its own, which {@link #close()} makes the owner stream wait for
 * before it frees the memory (stream-ordered, without a device synchronization). Close it before
 * destroying the owner stream.
 *
 * <p>Owns its device memory through raw addresses, so no JavaCPP {@code PointerScope} of the caller
 * can free it: close it (idempotent); use after close throws {@link IllegalStateException}. Not
 * thread-safe.
 */
public final class DeviceChannelStats implements AutoCloseable {

    private final StatsScope scope;
    private final int samples;
    private final int channels;
    private final int size;
    private final int device;
    private final long ownerStream;
    private final ChannelStats hostValues;
    private final Map<Long, Long> consumerEvents = new LinkedHashMap<>();
    private long memory;
    private long producedEvent;
    private boolean closed;

    private DeviceChannelStats(StatsScope scope, int samples, int channels, int device, long ownerStream, ChannelStats hostValues) {
        this.scope = scope;
        this.samples = samples;
        this.channels = channels;
        this.size = scope == StatsScope.BATCH ? channels : samples * channels;
        this.device = device;
        this.ownerStream = ownerStream;
        this.hostValues = hostValues;
    }

    /** Allocates uninitialized statistics on {@code device}, ordered on {@code stream} (an address, 0 = legacy default). */
    static DeviceChannelStats allocate(StatsScope scope, int samples, int channels, int device, long stream, ChannelStats hostValues) {
        DeviceChannelStats d = new DeviceChannelStats(scope, samples, channels, device, stream, hostValues);
        long bytes = 2L * d.size * Double.BYTES;
        try (Scratch scratch = new Scratch()) {
            PointerPointer<?> out = scratch.pointers(1);
            NativeKernels.call(() -> samplenorm.cuda_malloc_async(out, bytes, device, NativeKernels.at(stream)));
            d.memory = out.get(0).address();
            try {
                NativeKernels.call(() -> samplenorm.cuda_event_create(out, device));
                d.producedEvent = out.get(0).address();
            } catch (RuntimeException e) {
                d.close();
                throw e;
            }
        }
        return d;
    }

    /**
     * Copies host statistics to the device, ordered on {@code stream} (the device is the stream's).
     * The host values are staged before this returns.
     */
    public static DeviceChannelStats upload(ChannelStats stats, Stream stream) {
        Objects.requireNonNull(stats, "stats");
        Objects.requireNonNull(stream, "stream");
        CudaKernels.requireCuda();
        long s = CudaKernels.address(stream);
        int device;
        try (Scratch scratch = new Scratch()) {
            IntPointer dev = scratch.ints(1);
            NativeKernels.call(() -> samplenorm.cuda_stream_device(NativeKernels.at(s), dev));
            device = dev.get();
        }
        DeviceChannelStats d = allocate(stats.scope(), stats.samples(), stats.channels(), device, s, stats);
        try (Scratch scratch = new Scratch()) {
            DoublePointer host = scratch.doubles(2 * d.size);
            host.put(stats.meansUnsafe());
            host.position(d.size).put(stats.variancesUnsafe()).position(0);
            NativeKernels.call(() -> samplenorm.cuda_upload(NativeKernels.at(d.memory), host, 2L * d.size * Double.BYTES, device,
                    NativeKernels.at(s)));
            d.produced(s);
        } catch (RuntimeException e) {
            d.close();
            throw e;
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

    /** The CUDA device holding the values. */
    public int device() {
        return device;
    }

    /**
     * Copies the statistics to the host. Blocking by design: waits for {@code stream}, after making
     * it wait for the values' producer when that is another stream.
     */
    public ChannelStats download(Stream stream) {
        Objects.requireNonNull(stream, "stream");
        long s = CudaKernels.address(stream);
        awaitOn(s);
        try (Scratch scratch = new Scratch()) {
            DoublePointer host = scratch.doubles(2 * size);
            NativeKernels.call(() -> samplenorm.cuda_download(host, NativeKernels.at(memory), 2L * size * Double.BYTES, device,
                    NativeKernels.at(s)));
            double[] mean = new double[size], var = new double[size];
            host.get(mean);
            host.position(size).get(var);
            return new ChannelStats(scope, samples, channels, mean, var);
        }
    }

    /** The values as known on the host (uploaded statistics), or null for values computed on the device. */
    ChannelStats hostValues() {
        return hostValues;
    }

    Pointer meanPointer() {
        return NativeKernels.at(live());
    }

    Pointer variancePointer() {
        return NativeKernels.at(live() + (long) size * Double.BYTES);
    }

    /** The stream that wrote the values (an address, 0 = legacy default stream). */
    long ownerStream() {
        return ownerStream;
    }

    /** Marks the values as written by the work just queued on {@code stream}. */
    void produced(long stream) {
        live();
        NativeKernels.call(() -> samplenorm.cuda_event_record(NativeKernels.at(producedEvent), device, NativeKernels.at(stream)));
    }

    /** Makes work queued next on {@code stream} wait for the producer, when that is another stream. */
    void awaitOn(long stream) {
        live();
        if (stream != ownerStream) {
            NativeKernels.call(() -> samplenorm.cuda_stream_wait_event(NativeKernels.at(stream), NativeKernels.at(producedEvent), device));
        }
    }

    /** Records that the work just queued on {@code stream} reads the values (close waits for it). */
    void consumedOn(long stream) {
        live();
        if (stream == ownerStream) return;
        Long event = consumerEvents.get(stream);
        if (event == null) {
            try (Scratch scratch = new Scratch()) {
                PointerPointer<?> out = scratch.pointers(1);
                NativeKernels.call(() -> samplenorm.cuda_event_create(out, device));
                event = out.get(0).address();
            }
            consumerEvents.put(stream, event);
        }
        long e = event;
        NativeKernels.call(() -> samplenorm.cuda_event_record(NativeKernels.at(e), device, NativeKernels.at(stream)));
    }

    private long live() {
        if (closed) {
            throw new IllegalStateException("DeviceChannelStats is closed");
        }
        return memory;
    }

    /**
     * Frees the device memory on the owner stream, after the work queued so far there and on every
     * consumer stream (stream-ordered; the host does not wait). Idempotent.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        for (long event : consumerEvents.values()) {
            first = attempt(first, () -> samplenorm.cuda_stream_wait_event(NativeKernels.at(ownerStream), NativeKernels.at(event), device));
        }
        if (memory != 0) {
            long m = memory;
            first = attempt(first, () -> samplenorm.cuda_free_async(NativeKernels.at(m), device, NativeKernels.at(ownerStream)));
            memory = 0;
        }
        for (long event : consumerEvents.values()) {
            first = attempt(first, () -> samplenorm.cuda_event_destroy(NativeKernels.at(event), device));
        }
        consumerEvents.clear();
        if (producedEvent != 0) {
            long e = producedEvent;
            first = attempt(first, () -> samplenorm.cuda_event_destroy(NativeKernels.at(e), device));
            producedEvent = 0;
        }
        if (first != null) throw first;
    }

    private static RuntimeException attempt(RuntimeException first, java.util.function.IntSupplier call) {
        try {
            NativeKernels.call(call);
            return first;
        } catch (RuntimeException e) {
            return first != null ? first : e;
        }
    }
}
