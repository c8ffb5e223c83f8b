package dev.samplenorm.runtime;

/**
 * A request's deadline passed while it waited in the queue; it never ran. A request that has started
 * to run is finished even when its deadline passes meanwhile.
 */
public final class DeadlineExceededException extends RuntimeException {

    public DeadlineExceededException(String message) {
        super(message);
    }
}
