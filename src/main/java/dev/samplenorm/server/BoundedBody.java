package dev.samplenorm.server;

import io.undertow.io.Receiver;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RequestTooBigException;
import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.xnio.XnioExecutor;

/**
 * Reads a request body without blocking an I/O thread and keeps at most {@code limit} bytes of it.
 *
 * <ul>
 *   <li>The kept array grows as bytes arrive (from 64 KiB, doubling, never past the declared length or
 *       the limit), so a client that declares a large body and sends nothing holds 64 KiB, not the
 *       limit; a body that fills its declared length exactly is handed over without a copy.
 *   <li>A body over the limit is read to its end and thrown away before it is refused, up to
 *       {@code discardLimit} bytes in all. A server that answers and closes while request bytes are
 *       still unread makes the kernel reset the connection, and the client can then lose the answer it
 *       was sent (Java's HttpClient reports "header parser received no bytes"); reading the rest first
 *       lets every client see its 413. Past {@code discardLimit} (declared, or counted as a chunked body
 *       streams in) the body is not worth reading: the refusal is sent at once and the connection closed
 *       (the same trade nginx makes with its lingering close).
 *   <li>The whole body must arrive within {@code deadlineMillis} of the start: a client that dribbles
 *       it gets a 408 and the connection is closed, so a slow sender cannot hold a connection and its
 *       buffer for ever.
 * </ul>
 *
 * All callbacks run on the exchange's I/O thread, one after another, so the state needs no locks.
 */
final class BoundedBody implements Receiver.PartialBytesCallback, Receiver.ErrorCallback {

    /** What happens once the body has been read. Exactly one method is called, once. */
    interface Outcome {
        /** The whole body, within the limit. */
        void body(HttpServerExchange ex, byte[] body);

        /**
         * The body was over the limit; {@code bytes} is how many were declared or seen (at least
         * limit + 1), {@code drained} whether all of it was read, so the connection can stay open.
         */
        void tooLarge(HttpServerExchange ex, long bytes, boolean drained);

        /** The body did not arrive within the deadline; the connection must be closed. */
        void tooSlow(HttpServerExchange ex, long bytesSoFar);

        /** The client went away, or the connection failed, before the body ended. */
        void gone(HttpServerExchange ex, IOException cause);
    }

    /** The largest body that can be kept: one Java array. */
    static final long MAX_LIMIT = Integer.MAX_VALUE - 8;

    private static final int FIRST_CAPACITY = 64 << 10;

    private final long limit;
    private final long discardLimit;
    private final long declared;
    private final Outcome outcome;
    private byte[] kept = new byte[0]; // null once the body is over the limit
    private long seen;
    private boolean done;
    private XnioExecutor.Key deadline;

    private BoundedBody(long limit, long discardLimit, long declared, Outcome outcome) {
        this.limit = limit;
        this.discardLimit = discardLimit;
        this.declared = declared;
        this.outcome = outcome;
    }

    /**
     * Starts reading {@code ex}'s body: kept up to {@code limit} bytes (0 keeps nothing: every
     * non-empty body is over the limit), read and thrown away up to {@code discardLimit}, within
     * {@code deadlineMillis}. A body that declares more than {@code discardLimit} bytes is refused
     * before anything is read.
     */
    static void read(HttpServerExchange ex, long limit, long discardLimit, long deadlineMillis, Outcome outcome) {
        if (limit < 0 || limit > MAX_LIMIT || discardLimit < limit || deadlineMillis < 1) {
            throw new IllegalArgumentException("expected 0 <= limit <= min(discardLimit, 2^31 - 9) and a positive deadline, got "
                    + limit + ", " + discardLimit + ", " + deadlineMillis);
        }
        long declared = ex.getRequestContentLength();
        if (declared > discardLimit) {
            outcome.tooLarge(ex, declared, false);
            return;
        }
        BoundedBody reader = new BoundedBody(limit, discardLimit, declared, outcome);
        // Undertow's own entity-size check is only a backstop here: BoundedBody counts the bytes itself.
        ex.setMaxEntitySize(backstop(discardLimit));
        reader.deadline = ex.getIoThread().executeAfter(() -> reader.expire(ex), deadlineMillis, TimeUnit.MILLISECONDS);
        ex.getRequestReceiver().receivePartialBytes(reader, reader);
    }

    /** Undertow's entity-size limit for a given discard limit: past it, so that BoundedBody's own count decides first. */
    static long backstop(long discardLimit) {
        long extra = 1L << 20;
        return discardLimit > Long.MAX_VALUE - extra ? Long.MAX_VALUE : discardLimit + extra;
    }

    @Override
    public void handle(HttpServerExchange ex, byte[] chunk, boolean last) {
        if (done) return;
        seen += chunk.length;
        if (seen > discardLimit) {
            // A chunked body past what is worth reading: refuse now and close.
            finish();
            ex.getRequestReceiver().pause();
            outcome.tooLarge(ex, seen, false);
            return;
        }
        if (seen <= limit) keep(chunk);
        else kept = null; // over the limit: drop what was kept, count the rest
        if (!last) return;
        finish();
        if (seen <= limit) outcome.body(ex, kept.length == seen ? kept : Arrays.copyOf(kept, (int) seen));
        else outcome.tooLarge(ex, seen, true);
    }

    private void keep(byte[] chunk) {
        int used = (int) (seen - chunk.length);
        long needed = seen; // <= limit here
        if (needed > kept.length) {
            long cap = declared >= 0 ? Math.min(declared, limit) : limit;
            long grown = Math.min(cap, Math.max(FIRST_CAPACITY, 2L * kept.length));
            kept = Arrays.copyOf(kept, (int) Math.max(needed, grown));
        }
        System.arraycopy(chunk, 0, kept, used, chunk.length);
    }

    @Override
    public void error(HttpServerExchange ex, IOException e) {
        if (done) return;
        finish();
        // Undertow reports a body past its entity-size limit (the backstop) with one of these types.
        if (e instanceof RequestTooBigException || e instanceof Receiver.RequestToLargeException) outcome.tooLarge(ex, Math.max(seen, discardLimit + 1), false);
        else outcome.gone(ex, e);
    }

    private void expire(HttpServerExchange ex) {
        if (done) return;
        done = true;
        kept = null;
        ex.getRequestReceiver().pause();
        outcome.tooSlow(ex, seen);
    }

    private void finish() {
        done = true;
        if (deadline != null) deadline.remove();
    }
}
