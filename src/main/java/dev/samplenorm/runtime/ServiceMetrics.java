package dev.samplenorm.runtime;

import java.util.function.IntSupplier;

/**
 * What a {@link TranslationService} reports about its work. Every method has an empty default, so an
 * implementation overrides what it records; {@link #NONE} records nothing. The service calls these
 * from its worker and submitting threads, so implementations are thread-safe and quick.
 * {@link MicrometerServiceMetrics} records into a Micrometer registry; it is the only class of this
 * package that needs Micrometer on the class path.
 */
public interface ServiceMetrics {

    /** Records nothing. The default. */
    ServiceMetrics NONE = new ServiceMetrics() {};

    /** Called once when the service starts, with a live view of its queue depth (requests waiting). */
    default void bindQueueDepth(IntSupplier depth) {}

    /** A request entered the queue. */
    default void requestAccepted() {}

    /** A request was refused because the queue was full. */
    default void requestRejected() {}

    /** A request finished with an output; {@code latencyNanos} runs from submission to completion. */
    default void requestSucceeded(long latencyNanos) {}

    /** A request that ran failed (a model or runtime error in its batch). */
    default void requestFailed(long latencyNanos) {}

    /** A request's deadline passed while it was queued; it did not run. */
    default void requestTimedOut() {}

    /** A queued request was cancelled by its caller (a server: its client went away); it did not run. */
    default void requestCancelled() {}

    /** How long a request waited in the queue before its batch started. */
    default void queueTime(long nanos) {}

    /** One forward pass: its batch size in images and how long it took. */
    default void batchComputed(int batchSize, long computeNanos) {}

    /** The service has shut down; release what was registered. */
    default void close() {}
}
