package dev.samplenorm.server;

import io.undertow.io.Receiver;
import io.undertow.server.HttpServerExchange;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * Reads a request body without blocking an I/O thread and keeps at most {@code limit} bytes of it.
 *
 * <p>A body over the limit is read to its end and thrown away before it is refused, up to
 * {@code discardLimit} bytes in all. A server that answers and closes while request bytes are still
 * unread makes the kernel reset the connection, and the client can then lose the answer it was sent
 * (Java's HttpClient reports "header parser received no bytes"); reading the rest first lets every
 * client see its 413. Past {@code discardLimit} the body is not worth reading: the refusal is sent at
 * once and the connection closed (the same trade nginx makes with its lingering close).
 */
final class BoundedBody implements Receiver.PartialBytesCallback, Receiver.ErrorCallback {

    /** What happens once the body has been read. */
    interface Outcome {
        /** The whole body, within the limit. */
        void body(HttpServerExchange ex, byte[] body);

        /**
         * The body was over the limit; {@code bytes} is how many were seen (at least limit + 1),
         * {@code drained} whether all of it was read, so the connection can be closed without a reset.
         */
        void tooLarge(HttpServerExchange ex, long bytes, boolean drained);

        /** The client went away, or the connection failed, before the body ended. */
        void gone(HttpServerExchange ex, IOException cause);
    }

    private final long limit;
    private final long discardLimit;
    private final Outcome outcome;
    private ByteArrayOutputStream kept; // null once the body is over the limit
    private long seen;

    private BoundedBody(long limit, long discardLimit, long declared, Outcome outcome) {
        this.limit = limit;
        this.discardLimit = discardLimit;
        this.outcome = outcome;
        this.kept = new ByteArrayOutputStream(declared >= 0 && declared <= limit ? (int) declared : 8192);
    }

    /**
     * Starts reading {@code ex}'s body. A body that declares more than {@code discardLimit} bytes is
     * refused before anything is read.
     */
    static void read(HttpServerExchange ex, long limit, long discardLimit, Outcome outcome) {
        if (limit < 1 || limit > Integer.MAX_VALUE - 8 || discardLimit < limit) {
            throw new IllegalArgumentException("expected 1 <= limit <= discardLimit and limit < 2 GiB, got " + limit + ", " + discardLimit);
        }
        long declared = ex.getRequestContentLength();
        if (declared > discardLimit) {
            outcome.tooLarge(ex, declared, false);
            return;
        }
        // Undertow's own limit stops a body that would exceed the discard limit (a chunked body's
        // reader takes it from the server option, which must therefore be the discard limit too).
        ex.setMaxEntitySize(discardLimit);
        BoundedBody reader = new BoundedBody(limit, discardLimit, declared, outcome);
        ex.getRequestReceiver().receivePartialBytes(reader, reader);
    }

    @Override
    public void handle(HttpServerExchange ex, byte[] chunk, boolean last) {
        seen += chunk.length;
        if (seen <= limit) kept.write(chunk, 0, chunk.length);
        else kept = null; // over the limit: drop what was kept, count the rest
        if (!last) return;
        if (seen <= limit) outcome.body(ex, kept.toByteArray());
        else outcome.tooLarge(ex, seen, true);
    }

    @Override
    public void error(HttpServerExchange ex, IOException e) {
        // Undertow reports a body past its entity-size limit (here the discard limit) as an IOException.
        if (e.getMessage() != null && e.getMessage().contains("larger than")) outcome.tooLarge(ex, Math.max(seen, discardLimit + 1), false);
        else outcome.gone(ex, e);
    }
}
