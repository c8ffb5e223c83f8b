package dev.samplenorm.runtime;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * {@link ServiceMetrics} in a Micrometer {@link MeterRegistry}, named in the spirit of Triton's and DJL
 * Serving's metrics and tagged with the model name. In Prometheus form:
 * <ul>
 * <li>counters {@code samplenorm_inference_requests_accepted_total}, {@code ..._rejected_total},
 * {@code ..._succeeded_total}, {@code ..._failed_total}, {@code ..._timed_out_total}, {@code ..._cancelled_total};
 * <li>gauge {@code samplenorm_inference_queue_depth} (requests waiting);
 * <li>histograms {@code samplenorm_inference_queue_duration_seconds},
 * {@code samplenorm_inference_compute_duration_seconds} (one forward pass),
 * {@code samplenorm_inference_request_duration_seconds} (submission to completion) and
 * {@code samplenorm_inference_batch_size} (images per forward pass).
 * </ul>
 * This class is loaded only by code that constructs it, so the runtime runs without Micrometer on the
 * class path when metrics are not wanted.
 */
public final class MicrometerServiceMetrics implements ServiceMetrics {

    private static final String PREFIX = "samplenorm.inference.";

    private final MeterRegistry registry;
    private final Tags tags;
    private final Counter accepted, rejected, succeeded, failed, timedOut, cancelled;
    private final Timer queueTime, computeTime, requestTime;
    private final DistributionSummary batchSize;
    private final List<Meter> meters = new ArrayList<>();

    public MicrometerServiceMetrics(MeterRegistry registry, String model) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.tags = Tags.of("model", Objects.requireNonNull(model, "model"));
        accepted = counter("requests.accepted", "requests that entered the queue");
        rejected = counter("requests.rejected", "requests refused at once because the queue was full");
        succeeded = counter("requests.succeeded", "requests answered with an output");
        failed = counter("requests.failed", "requests whose batch failed in the model or runtime");
        timedOut = counter("requests.timed.out", "requests whose deadline passed in the queue; they never ran");
        cancelled = counter("requests.cancelled", "queued requests cancelled by their caller or client; they never ran");
        queueTime = timer("queue.duration", "time from submission to the start of the request's batch");
        computeTime = timer("compute.duration", "time of one forward pass, pre- and post-processing included");
        requestTime = timer("request.duration", "time from submission to completion");
        batchSize = remember(DistributionSummary.builder(PREFIX + "batch.size").description("images per forward pass").tags(tags)
                .publishPercentileHistogram().minimumExpectedValue(1.0).maximumExpectedValue(256.0).register(registry));
    }

    private Counter counter(String name, String description) {
        return remember(Counter.builder(PREFIX + name).description(description).tags(tags).register(registry));
    }

    private Timer timer(String name, String description) {
        return remember(Timer.builder(PREFIX + name).description(description).tags(tags).publishPercentileHistogram().register(registry));
    }

    private <M extends Meter> M remember(M meter) {
        meters.add(meter);
        return meter;
    }

    @Override
    public void bindQueueDepth(IntSupplier depth) {
        remember(Gauge.builder(PREFIX + "queue.depth", depth, d -> d.getAsInt()).description("requests waiting in the queue")
                .tags(tags).strongReference(true).register(registry));
    }

    @Override
    public void requestAccepted() {
        accepted.increment();
    }

    @Override
    public void requestRejected() {
        rejected.increment();
    }

    @Override
    public void requestSucceeded(long latencyNanos) {
        succeeded.increment();
        requestTime.record(latencyNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void requestFailed(long latencyNanos) {
        failed.increment();
        requestTime.record(latencyNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void requestTimedOut() {
        timedOut.increment();
    }

    @Override
    public void requestCancelled() {
        cancelled.increment();
    }

    @Override
    public void queueTime(long nanos) {
        queueTime.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void batchComputed(int size, long computeNanos) {
        batchSize.record(size);
        computeTime.record(computeNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
        for (Meter m : meters) registry.remove(m);
        meters.clear();
    }
}
