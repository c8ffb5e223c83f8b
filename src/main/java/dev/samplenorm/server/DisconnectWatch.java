package dev.samplenorm.server;

import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.AbstractServerConnection;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpServerConnection;
import io.undertow.util.AttachmentKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.xnio.ChannelListener;
import org.xnio.conduits.ConduitStreamSourceChannel;
import org.xnio.conduits.StreamSourceConduit;

/**
 * Notices that an HTTP/1.1 client closed its connection while its request waits for an answer, and
 * then runs an action (the server cancels the request's queued work, so it never runs).
 *
 * <p>Once Undertow has read a request body it stops reading the connection until the answer is
 * written, so a client's close goes unnoticed until the write fails. This watch reads the socket
 * meanwhile, as Go's net/http does for its request contexts: end of stream or a read error means the
 * client is gone. Bytes that arrive instead (a pipelined next request) are handed back to Undertow
 * unread, and the watch ends. {@link #stop()} ends the watch before the answer is written, so the watch
 * never reads what comes after an answer. Methods run on the connection's I/O thread (the reads) and on
 * worker threads ({@link #stop()}); they are synchronized with each other.
 */
final class DisconnectWatch implements ChannelListener<ConduitStreamSourceChannel> {

    private static final AttachmentKey<DisconnectWatch> KEY = AttachmentKey.create(DisconnectWatch.class);

    private final HttpServerConnection connection;
    private final ConduitStreamSourceChannel channel;
    private final StreamSourceConduit socket;
    private final Runnable onDisconnect;
    private boolean stopped;

    private DisconnectWatch(HttpServerConnection connection, Runnable onDisconnect) {
        this.connection = connection;
        this.channel = connection.getChannel().getSourceChannel();
        this.socket = ((AbstractServerConnection) connection).getOriginalSourceConduit();
        this.onDisconnect = onDisconnect;
    }

    /**
     * Starts watching the connection of {@code exchange}, whose request body has been read in full;
     * {@code onDisconnect} runs once if the client goes away before {@link #stop(HttpServerExchange)}.
     * Does nothing on connections other than plain HTTP/1.x.
     */
    static void start(HttpServerExchange exchange, Runnable onDisconnect) {
        if (!(exchange.getConnection() instanceof HttpServerConnection c) || exchange.getAttachment(KEY) != null) return;
        // Bytes of a pipelined next request already buffered: the client is there, and bytes the watch
        // read would have to go after them, which ungetRequestBytes (it puts bytes in front) cannot do.
        if (c.getExtraBytes() != null) return;
        DisconnectWatch watch = new DisconnectWatch(c, onDisconnect);
        exchange.putAttachment(KEY, watch);
        watch.begin();
    }

    /** Ends the watch of {@code exchange}, if any; called before its answer is written. */
    static void stop(HttpServerExchange exchange) {
        DisconnectWatch watch = exchange.getAttachment(KEY);
        if (watch != null) watch.stop();
    }

    private synchronized void begin() {
        channel.getReadSetter().set(this);
        socket.resumeReads();
    }

    synchronized void stop() {
        if (stopped) return;
        stopped = true;
        socket.suspendReads();
        channel.getReadSetter().set(null);
    }

    @Override
    public void handleEvent(ConduitStreamSourceChannel ignored) {
        boolean gone;
        synchronized (this) {
            if (stopped) return;
            PooledByteBuffer pooled = connection.getByteBufferPool().allocate();
            boolean keep = false;
            try {
                ByteBuffer buffer = pooled.getBuffer();
                buffer.clear();
                int n;
                try {
                    n = socket.read(buffer);
                } catch (IOException e) {
                    n = -1; // reset by the peer: gone as well
                }
                if (n == 0) return; // a spurious wake-up
                if (n > 0) { // a pipelined request: Undertow reads it after this exchange
                    buffer.flip();
                    connection.ungetRequestBytes(pooled);
                    keep = true;
                }
                stop();
                gone = n < 0;
            } finally {
                if (!keep) pooled.close();
            }
        }
        if (gone) onDisconnect.run();
    }
}
