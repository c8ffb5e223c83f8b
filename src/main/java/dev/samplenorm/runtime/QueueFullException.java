package dev.samplenorm.runtime;

import java.util.concurrent.RejectedExecutionException;

/**
 * A request was refused at once because the service's queue holds as many requests as it may. The
 * service never blocks a caller to wait for room; retry later (an HTTP server answers 429).
 */
public final class QueueFullException extends RejectedExecutionException {

    private final int capacity;

    public QueueFullException(int capacity) {
        super("the request queue is full (" + capacity + " requests); retry later");
        this.capacity = capacity;
    }

    /** The queue's capacity, in requests. */
    public int capacity() {
        return capacity;
    }
}
