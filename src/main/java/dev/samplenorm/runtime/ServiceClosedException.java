package dev.samplenorm.runtime;

/**
 * The service is shutting down or closed: it accepts no new request, and a queued request that it
 * could not finish within the shutdown timeout fails with this exception without having run.
 */
public final class ServiceClosedException extends IllegalStateException {

    public ServiceClosedException(String message) {
        super(message);
    }
}
