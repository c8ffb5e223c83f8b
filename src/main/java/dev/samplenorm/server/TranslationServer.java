package dev.samplenorm.server;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.samplenorm.SampleNormException;
import dev.samplenorm.runtime.DeadlineExceededException;
import dev.samplenorm.runtime.ImageTooLargeException;
import dev.samplenorm.environment.ThreadPriority;
import dev.samplenorm.runtime.QueueFullException;
import dev.samplenorm.runtime.ServiceClosedException;
import dev.samplenorm.runtime.TranslationService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.HttpContinueReadHandler;
import io.undertow.server.protocol.http.HttpContinue;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Scalar;

/**
 * An HTTP server for one {@link TranslationService}, on Undertow: KServe's Open Inference Protocol v2
 * over REST ({@code /v2/health/live}, {@code /v2/health/ready}, {@code /v2/models/{name}},
 * {@code /v2/models/{name}/ready}, {@code POST /v2/models/{name}/infer} with FP32 JSON tensors and the
 * binary tensor data extension), {@code POST /v1/translate} (PNG or JPEG in, PNG out) and
 * {@code GET /metrics} (Prometheus text).
 *
 * <p>Every client mistake is answered with a 4xx status and a JSON body {@code {"error": "..."}} that
 * names what was expected; overload with 429 (queue full) or 503 (shutting down, queue timeout) and a
 * {@code Retry-After} header. {@link #shutdown(Duration)} stops taking work (503), lets the requests in
 * flight finish, shuts the service down and closes the listener. The server owns the service it serves.
 */
public final class TranslationServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(TranslationServer.class.getName());
    private static final HttpString RETRY_AFTER = new HttpString("Retry-After");
    private static final HttpString INFERENCE_HEADER = new HttpString(InferenceProtocol.HEADER_LENGTH);
    private static final String JSON = "application/json";
    static final int WARM_UP_CLIENTS = 4;

    /**
     * How many bytes past the limit an over-limit body may have and still be read (and thrown away) before
     * its 413, so the client is not reset before it reads the answer (at most 2^31 - 1 bytes in all:
     * Undertow's receiver refuses larger declared lengths).
     */
    static final long DISCARD_BYTES = 64L << 20;

    private final TranslationService service;
    private final String modelName;
    private final PrometheusMeterRegistry registry;
    private final ObjectMapper json = new ObjectMapper();
    private final InferenceProtocol protocol;
    private final long maxBodyBytes;
    private final Duration requestTimeout;
    private final Duration bodyTimeout;
    private final long discardBytes;
    private final Undertow undertow;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Object drainLock = new Object();
    private final Map<String, Counter> responses = new ConcurrentHashMap<>();
    private final Map<String, Timer> durations = new ConcurrentHashMap<>();
    private volatile boolean draining;
    private volatile boolean warming;
    private final Duration warmUp;
    private boolean stopped;

    private TranslationServer(Builder b) {
        this.service = b.service;
        this.modelName = b.modelName != null ? b.modelName : service.name();
        this.registry = b.registry;
        this.protocol = new InferenceProtocol(json, service, modelName);
        this.maxBodyBytes = b.maxBodyBytes;
        this.requestTimeout = b.requestTimeout;
        this.bodyTimeout = b.bodyTimeout;
        this.discardBytes = b.discardBytes;
        this.warmUp = b.warmUp;
        if (registry != null) {
            new JvmMemoryMetrics().bindTo(registry);
            new JvmThreadMetrics().bindTo(registry);
            // The nice value applied to the compute threads at start-up, as read back after lowering:
            // 0 where none was asked for (the threads run as the process does, which may itself be
            // niced); -1 where lowering them was asked for but is unsupported here or was refused.
            Gauge.builder("samplenorm.compute.nice", service, TranslationServer::computeThreadNice)
                    .description("nice value applied to the threads that run the model at start-up (0: none asked for; -1: unsupported or refused)")
                    .tag("model", modelName).register(registry);
        }
        this.undertow = Undertow.builder()
                .addHttpListener(b.port, b.host)
                .setIoThreads(b.ioThreads)
                .setWorkerThreads(b.workerThreads)
                // Undertow's own limit is where reading stops; the body limit proper is enforced by BoundedBody.
                .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, BoundedBody.backstop(discardLimit()))
                .setServerOption(UndertowOptions.MAX_HEADER_SIZE, 16 * 1024)
                .setServerOption(UndertowOptions.REQUEST_PARSE_TIMEOUT, (int) b.requestTimeout.toMillis())
                .setServerOption(UndertowOptions.NO_REQUEST_TIMEOUT, 60_000)
                .setServerOption(UndertowOptions.ALWAYS_SET_DATE, false)
                // Sends "100 Continue" when a body that waits for it is first read.
                .setHandler(new HttpContinueReadHandler(this::route))
                .build();
    }

    private static double computeThreadNice(TranslationService service) {
        if (service.computeNice() == 0) return 0;
        List<ThreadPriority.Outcome> outcomes = service.computePriorities();
        if (outcomes.isEmpty() || outcomes.stream().anyMatch(ThreadPriority.Outcome::notApplied)) return -1;
        return outcomes.stream().mapToInt(ThreadPriority.Outcome::after).min().getAsInt();
    }

    public static Builder builder(TranslationService service) {
        return new Builder(Objects.requireNonNull(service, "service"));
    }

    /**
     * Starts listening; with a {@linkplain Builder#warmUp warm-up}, first sends requests to itself for
     * that long (readiness reports false meanwhile) and returns after.
     */
    public TranslationServer start() {
        warming = !warmUp.isZero();
        undertow.start();
        if (warming) {
            try {
                warmUp();
            } finally {
                warming = false;
            }
        }
        LOG.log(Level.INFO, "serving model '" + modelName + "' on http://" + address().getHostString() + ":" + port());
        return this;
    }

    /**
     * Sends {@code POST /v1/translate} requests to this server over loopback from a few clients, each
     * one after another for the warm-up time and at least one: the JIT compiles the HTTP, decoding,
     * batching and encoding paths before the first user request instead of during the first seconds
     * of load (the service's own warm-up runs the model only). The requests count in the metrics like
     * any other.
     */
    private void warmUp() {
        int[] shape = service.inputShape();
        int h = shape[2] > 0 ? shape[2] : 256, w = shape[3] > 0 ? shape[3] : 256;
        byte[] png;
        try (Mat gray = new Mat(h, w, CV_8UC3, new Scalar(128.0))) {
            png = TranslationService.encodePng(gray);
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        InetAddress bound = address().getAddress();
        String host = bound.isAnyLocalAddress() ? "127.0.0.1"
                : bound instanceof Inet6Address ? "[" + bound.getHostAddress() + "]" : bound.getHostAddress();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + host + ":" + port() + "/v1/translate"))
                .header("Content-Type", "image/png").timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofByteArray(png))
                .build();
        long start = System.nanoTime(), end = start + warmUp.toNanos();
        AtomicInteger sent = new AtomicInteger(), ok = new AtomicInteger();
        List<Thread> clients = new ArrayList<>();
        for (int i = 0; i < WARM_UP_CLIENTS; i++) { // a few at once, so that batches form as under load
            Thread t = new Thread(() -> {
                // At least one request each, however short the warm-up and however late the thread starts.
                do {
                    try {
                        sent.incrementAndGet();
                        if (http.send(request, HttpResponse.BodyHandlers.ofByteArray()).statusCode() == 200) ok.incrementAndGet();
                    } catch (IOException e) {
                        LOG.log(Level.WARNING, "a warm-up request failed; this warm-up client stops: " + e);
                        return;
                    } catch (InterruptedException e) {
                        return;
                    }
                } while (System.nanoTime() < end);
            }, "samplenorm-warm-up-" + i);
            t.setDaemon(true);
            t.start();
            clients.add(t);
        }
        for (Thread t : clients) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                clients.forEach(Thread::interrupt);
                break;
            }
        }
        LOG.log(Level.INFO, "warm-up: " + ok.get() + " of " + sent.get() + " requests answered 200 in "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");
    }

    /** The bound address (the real port when the builder asked for port 0). */
    public InetSocketAddress address() {
        return (InetSocketAddress) undertow.getListenerInfo().get(0).getAddress();
    }

    public int port() {
        return address().getPort();
    }

    // ------------------------------------------------------------------------------------ routing

    private void route(HttpServerExchange ex) {
        String path = ex.getRelativePath();
        if (path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
        boolean post = ex.getRequestMethod().equals(Methods.POST);
        boolean work = post && (path.equals("/v1/translate") || path.equals("/v2/models/" + modelName + "/infer")
                || path.equals("/v2/models/" + modelName + "/versions/" + InferenceProtocol.VERSION + "/infer"));
        if (!work && !ex.isPersistent() && !ex.isRequestComplete()) {
            // The connection closes after this answer (the client asked for that) and the answer needs no
            // body: read the body first, as for a 413 (see BoundedBody), or the client can lose the answer.
            String p = path;
            BoundedBody.read(ex, 0, discardLimit(), bodyTimeout.toMillis(), new Refusal(p) {
                @Override
                public void body(HttpServerExchange e, byte[] body) {
                    answer(e, p);
                }

                @Override
                public void tooLarge(HttpServerExchange e, long bytes, boolean drained) {
                    if (drained) {
                        answer(e, p);
                    } else {
                        error(e, 413, "the body has more than " + discardLimit() + " bytes; expected at most " + maxBodyBytes);
                    }
                }
            });
            return;
        }
        answer(ex, path);
    }

    private void answer(HttpServerExchange ex, String path) {
        boolean get = ex.getRequestMethod().equals(Methods.GET) || ex.getRequestMethod().equals(Methods.HEAD);
        boolean post = ex.getRequestMethod().equals(Methods.POST);
        switch (path) {
            case "/v2/health/live" -> {
                if (!get) { methodNotAllowed(ex, "GET"); return; }
                sendJson(ex, 200, json.createObjectNode().put("live", true));
                return;
            }
            case "/v2/health/ready" -> {
                if (!get) { methodNotAllowed(ex, "GET"); return; }
                boolean ready = isReady();
                sendJson(ex, ready ? 200 : 503, json.createObjectNode().put("ready", ready));
                return;
            }
            case "/v2" -> {
                if (!get) { methodNotAllowed(ex, "GET"); return; }
                sendJson(ex, 200, protocol.serverMetadata());
                return;
            }
            case "/metrics" -> {
                if (!get) { methodNotAllowed(ex, "GET"); return; }
                if (registry == null) { error(ex, 404, "metrics are not enabled on this server"); return; }
                send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape().getBytes(StandardCharsets.UTF_8));
                return;
            }
            case "/v1/translate" -> {
                if (!post) { methodNotAllowed(ex, "POST"); return; }
                work(ex, "translate", this::translate);
                return;
            }
            default -> { }
        }
        if (path.startsWith("/v2/models/")) {
            String[] parts = path.substring("/v2/models/".length()).split("/", -1);
            String model = parts[0];
            int i = 1;
            if (parts.length >= 3 && parts[1].equals("versions")) {
                if (!parts[2].equals(InferenceProtocol.VERSION)) {
                    error(ex, 404, "unknown version '" + parts[2] + "' of model '" + model + "', expected " + InferenceProtocol.VERSION);
                    return;
                }
                i = 3;
            }
            if (!model.equals(modelName)) {
                error(ex, 404, "unknown model '" + model + "', expected '" + modelName + "'");
                return;
            }
            String action = parts.length == i ? "" : parts.length == i + 1 ? parts[i] : "?";
            switch (action) {
                case "" -> {
                    if (!get) { methodNotAllowed(ex, "GET"); return; }
                    sendJson(ex, 200, protocol.modelMetadata());
                }
                case "ready" -> {
                    if (!get) { methodNotAllowed(ex, "GET"); return; }
                    boolean ready = isReady();
                    sendJson(ex, ready ? 200 : 503, json.createObjectNode().put("name", modelName).put("ready", ready));
                }
                case "infer" -> {
                    if (!post) { methodNotAllowed(ex, "POST"); return; }
                    work(ex, "infer", this::infer);
                }
                default -> error(ex, 404, "unknown path " + ex.getRequestPath() + ", expected /v2/models/" + modelName
                        + "[/versions/1][/ready|/infer]");
            }
            return;
        }
        error(ex, 404, "unknown path " + ex.getRequestPath() + ", expected one of /v2, /v2/health/live, /v2/health/ready, /v2/models/"
                + modelName + ", /v2/models/" + modelName + "/ready, /v2/models/" + modelName + "/infer, /v1/translate, /metrics");
    }

    private boolean isReady() {
        return !draining && !warming && service.isAccepting();
    }

    // ------------------------------------------------------------------------------------ work

    private interface BodyHandler {
        /** Handles a request body on a worker thread and returns the future that answers it. */
        CompletableFuture<Void> handle(HttpServerExchange ex, byte[] body);
    }

    /**
     * Reads the body without blocking an I/O thread ({@link BoundedBody}); refuses it there when the
     * service has no room (429 or 503), else handles it on a worker thread.
     */
    private void work(HttpServerExchange ex, String endpoint, BodyHandler handler) {
        long arrived = System.nanoTime(); // the request's headers are parsed
        // Every exchange that reaches here is in flight (shutdown waits for it) and counted, refusals included.
        inFlight.incrementAndGet();
        ex.addExchangeCompleteListener((e, next) -> {
            DisconnectWatch.stop(e);
            if (inFlight.decrementAndGet() == 0) {
                synchronized (drainLock) {
                    drainLock.notifyAll();
                }
            }
            count(endpoint, e.getStatusCode(), System.nanoTime() - arrived);
            next.proceed();
        });
        // A client that sent "Expect: 100-continue" has sent no body yet: refusing it now risks no reset.
        boolean waitsToSend = HttpContinue.requiresContinueResponse(ex);
        long declared = ex.getRequestContentLength();
        long discardLimit = discardLimit(), deadline = bodyTimeout.toMillis();
        if (draining) {
            if (waitsToSend) {
                shuttingDown(ex);
                return;
            }
            // The body is read first and thrown away (none of it kept), so the client reads the 503 instead of a reset.
            BoundedBody.read(ex, 0, discardLimit, deadline, new Refusal(endpoint) {
                @Override
                public void body(HttpServerExchange e, byte[] body) {
                    shuttingDown(e);
                }

                @Override
                public void tooLarge(HttpServerExchange e, long bytes, boolean drained) {
                    shuttingDown(e);
                }
            });
            return;
        }
        if (waitsToSend && declared > maxBodyBytes) {
            ex.getResponseHeaders().put(Headers.CONNECTION, "close");
            error(ex, 413, "the body has " + declared + " bytes; expected at most " + maxBodyBytes);
            return;
        }
        BoundedBody.read(ex, maxBodyBytes, discardLimit, deadline, new Refusal(endpoint) {
            @Override
            public void body(HttpServerExchange e, byte[] body) {
                try {
                    // Overload is answered here, on the I/O thread: a rejection does not wait for a worker thread.
                    service.checkCapacity();
                } catch (QueueFullException | ServiceClosedException refused) {
                    fail(e, refused);
                    return;
                }
                e.dispatch(() -> {
                    try {
                        handler.handle(e, body).exceptionally(t -> {
                            fail(e, t);
                            return null;
                        });
                    } catch (RuntimeException t) {
                        fail(e, t);
                    }
                });
            }

            @Override
            public void tooLarge(HttpServerExchange e, long bytes, boolean drained) {
                if (!drained) e.getResponseHeaders().put(Headers.CONNECTION, "close");
                error(e, 413, (declared >= 0 ? "the body has " + declared + " bytes" : "the body is larger than the limit")
                        + "; expected at most " + maxBodyBytes);
            }
        });
    }

    /** The most bytes of a body read before a refusal (kept up to the limit, thrown away past it): the limit plus {@link #DISCARD_BYTES}. */
    private long discardLimit() {
        return Math.min(maxBodyBytes + discardBytes, Integer.MAX_VALUE);
    }

    /** The outcomes of a body read that are answered alike on every path: too slow (408) and gone (499). */
    private abstract class Refusal implements BoundedBody.Outcome {
        private final String endpoint;

        Refusal(String endpoint) {
            this.endpoint = endpoint;
        }

        @Override
        public void tooSlow(HttpServerExchange e, long bytesSoFar) {
            e.getResponseHeaders().put(Headers.CONNECTION, "close");
            error(e, 408, "the body did not arrive within " + bodyTimeout.toMillis() + " ms (" + bytesSoFar + " bytes came); expected all of it"
                    + " within that time");
        }

        @Override
        public void gone(HttpServerExchange e, IOException cause) {
            LOG.log(Level.DEBUG, "client gone while sending its body to " + endpoint, cause);
            clientGone(e);
        }
    }

    private void shuttingDown(HttpServerExchange ex) {
        ex.getResponseHeaders().put(Headers.CONNECTION, "close");
        overloaded(ex, 503, "the server is shutting down; retry on another instance", 5);
    }

    private CompletableFuture<Void> translate(HttpServerExchange ex, byte[] body) {
        String type = ex.getRequestHeaders().getFirst(Headers.CONTENT_TYPE);
        String t = type == null ? "" : type.toLowerCase(Locale.ROOT);
        if (!t.startsWith("image/png") && !t.startsWith("image/jpeg")) {
            error(ex, 415, "expected Content-Type image/png or image/jpeg, got " + (type == null ? "none" : type));
            return CompletableFuture.completedFuture(null);
        }
        Executor worker = ex.getConnection().getWorker();
        CompletableFuture<byte[]> out = service.submitEncoded(body, requestTimeout);
        DisconnectWatch.start(ex, () -> out.cancel(false)); // a client that goes away takes its queued request with it
        return out.thenAcceptAsync(png -> send(ex, 200, "image/png", png), worker);
    }

    private CompletableFuture<Void> infer(HttpServerExchange ex, byte[] body) {
        String header = ex.getRequestHeaders().getFirst(INFERENCE_HEADER);
        int jsonLength = -1;
        if (header != null) {
            try {
                jsonLength = Integer.parseInt(header.trim());
            } catch (NumberFormatException e) {
                jsonLength = -2;
            }
            if (jsonLength < 0) {
                error(ex, 400, "expected " + InferenceProtocol.HEADER_LENGTH + " to be a non-negative integer, got '" + header + "'");
                return CompletableFuture.completedFuture(null);
            }
        }
        InferenceProtocol.InferRequest request = protocol.parse(body, jsonLength);
        CompletableFuture<Mat> out;
        try (Mat blob = request.blob()) {
            out = service.submitBlob(blob, requestTimeout);
        }
        CompletableFuture<Mat> pending = out;
        DisconnectWatch.start(ex, () -> pending.cancel(false));
        Executor worker = ex.getConnection().getWorker();
        return out.thenAcceptAsync(m -> {
            InferenceProtocol.Response r;
            try (m) {
                r = protocol.response(request.id(), m, request.binaryOutput());
            }
            if (r.jsonLength() >= 0) {
                ex.getResponseHeaders().put(INFERENCE_HEADER, Integer.toString(r.jsonLength()));
                send(ex, 200, "application/octet-stream", r.body());
            } else {
                send(ex, 200, JSON, r.body());
            }
        }, worker);
    }

    private void fail(HttpServerExchange ex, Throwable t) {
        Throwable c = t;
        while (c instanceof CompletionException && c.getCause() != null) c = c.getCause();
        if (c instanceof QueueFullException) {
            overloaded(ex, 429, c.getMessage(), 1);
        } else if (c instanceof ServiceClosedException) {
            overloaded(ex, 503, c.getMessage(), 5);
        } else if (c instanceof DeadlineExceededException) {
            overloaded(ex, 503, c.getMessage() + " (request timeout " + requestTimeout.toMillis() + " ms)", 1);
        } else if (c instanceof ImageTooLargeException) {
            error(ex, 413, c.getMessage());
        } else if (c instanceof IllegalArgumentException) {
            error(ex, 400, c.getMessage());
        } else if (c instanceof java.util.concurrent.CancellationException) {
            clientGone(ex); // its request left the queue
        } else {
            String what = c instanceof SampleNormException s ? s.code() + ": " + s.getMessage() : c.toString();
            LOG.log(Level.WARNING, "request failed: " + what);
            error(ex, 500, "the model failed on this request: " + what);
        }
    }

    // ------------------------------------------------------------------------------------ responses

    /** Ends the exchange of a client that went away; status 499 (as nginx logs it) keeps the metrics honest. */
    private static void clientGone(HttpServerExchange ex) {
        DisconnectWatch.stop(ex);
        if (!ex.isResponseStarted()) {
            ex.setStatusCode(499);
            ex.setPersistent(false);
        }
        ex.endExchange();
    }

    private void overloaded(HttpServerExchange ex, int status, String message, int retryAfterSeconds) {
        ex.getResponseHeaders().put(RETRY_AFTER, Integer.toString(retryAfterSeconds));
        error(ex, status, message);
    }

    private void methodNotAllowed(HttpServerExchange ex, String allowed) {
        ex.getResponseHeaders().put(Headers.ALLOW, allowed);
        error(ex, 405, "method " + ex.getRequestMethod() + " is not allowed on " + ex.getRequestPath() + ", expected " + allowed);
    }

    private void error(HttpServerExchange ex, int status, String message) {
        sendJson(ex, status, json.createObjectNode().put("error", message));
    }

    private void sendJson(HttpServerExchange ex, int status, ObjectNode node) {
        byte[] body;
        try {
            body = json.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        send(ex, status, JSON, body);
    }

    private static void send(HttpServerExchange ex, int status, String contentType, byte[] body) {
        DisconnectWatch.stop(ex); // the watch reads the connection; it must not read past the answer
        if (ex.isResponseStarted() || ex.isComplete()) return;
        ex.setStatusCode(status);
        ex.getResponseHeaders().put(Headers.CONTENT_TYPE, contentType);
        ex.setResponseContentLength(body.length);
        ex.getResponseSender().send(ByteBuffer.wrap(body));
    }

    /** One answered request: a counter by endpoint and status, and the time from its parsed headers to its written answer. */
    private void count(String endpoint, int status, long nanos) {
        if (registry == null) return;
        String key = endpoint + status;
        responses.computeIfAbsent(key, k -> Counter.builder("samplenorm.http.responses")
                .description("HTTP responses by endpoint and status").tag("endpoint", endpoint).tag("status", Integer.toString(status))
                .register(registry)).increment();
        durations.computeIfAbsent(key, k -> Timer.builder("samplenorm.http.request.duration")
                .description("time from a request's parsed headers to its answer written, by endpoint and status")
                .tag("endpoint", endpoint).tag("status", Integer.toString(status)).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60)).register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    // ------------------------------------------------------------------------------------ shutdown

    /**
     * Stops taking work without stopping: inference requests are answered 503 with Retry-After and
     * readiness reports false, while requests already in flight go on. {@link #shutdown} begins with this.
     */
    public void drain() {
        draining = true;
    }

    /**
     * Graceful shutdown: {@link #drain()}, then the service shuts down (it runs what it has queued at
     * once, for up to {@code timeout}, and fails what it could not run), the answers in flight are
     * written, and the listener closes. Idempotent.
     */
    public void shutdown(Duration timeout) {
        synchronized (this) {
            if (stopped) return;
            stopped = true;
        }
        drain();
        service.shutdown(timeout);
        // Every request the service held is now answered or being answered; let the answers be written.
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        synchronized (drainLock) {
            while (inFlight.get() > 0 && System.nanoTime() < end) {
                try {
                    drainLock.wait(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        int left = inFlight.get();
        undertow.stop();
        LOG.log(Level.INFO, "server stopped" + (left > 0 ? "; " + left + " request(s) were still being answered" : ""));
    }

    /** {@link #shutdown(Duration)} with the service's default shutdown timeout. */
    @Override
    public void close() {
        shutdown(TranslationService.DEFAULT_SHUTDOWN_TIMEOUT);
    }

    /** Requests being handled now. */
    public int inFlight() {
        return inFlight.get();
    }

    /** Options of a {@link TranslationServer}. */
    public static final class Builder {
        private final TranslationService service;
        private String host = "127.0.0.1";
        private int port = 8080;
        private String modelName;
        private PrometheusMeterRegistry registry;
        private long maxBodyBytes = 32L << 20;
        private Duration requestTimeout = Duration.ofSeconds(30);
        private Duration bodyTimeout = Duration.ofSeconds(60);
        private long discardBytes = DISCARD_BYTES;
        private Duration warmUp = Duration.ZERO;
        private int ioThreads = Math.max(2, Runtime.getRuntime().availableProcessors());
        private int workerThreads = 4 * Math.max(2, Runtime.getRuntime().availableProcessors());

        private Builder(TranslationService service) {
            this.service = service;
        }

        /** Address to bind. Default 127.0.0.1 (loopback only). */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** Port; 0 picks a free one ({@link TranslationServer#port()}). Default 8080. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) throw new IllegalArgumentException("port: expected 0 to 65535, got " + port);
            this.port = port;
            return this;
        }

        /** The model name in the v2 paths. Default the service's name. */
        public Builder modelName(String name) {
            this.modelName = Objects.requireNonNull(name, "name");
            return this;
        }

        /** Registry scraped by {@code GET /metrics}; without one that endpoint answers 404. */
        public Builder metrics(PrometheusMeterRegistry registry) {
            this.registry = registry;
            return this;
        }

        /**
         * Largest request body, at most 2 GiB - 9 bytes (it is held in one array). Default 32 MiB.
         * A larger body is read and thrown away, up to 64 MiB beyond this (2^31 - 1 bytes in all), before the 413 answer,
         * so that the client reads that answer instead of a connection reset.
         */
        public Builder maxBodyBytes(long bytes) {
            if (bytes < 1 || bytes > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("maxBodyBytes: expected 1 to " + (Integer.MAX_VALUE - 8) + ", got " + bytes);
            }
            this.maxBodyBytes = bytes;
            return this;
        }

        /** How long a request may wait in the service's queue, and the request header parse timeout. Default 30 s. */
        /** Bytes past the body limit read and thrown away before a 413 (tests set it small). */
        Builder discardBytes(long bytes) {
            if (bytes < 0) throw new IllegalArgumentException("discardBytes: expected >= 0, got " + bytes);
            this.discardBytes = bytes;
            return this;
        }

        /**
         * How long a request's body may take to arrive, from the end of its headers; a slower one is
         * answered 408 and its connection closed. Default 60 s.
         */
        public Builder bodyTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero() || timeout.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("bodyTimeout: expected a positive duration of at most 2^31 - 1 ms, got " + timeout);
            }
            this.bodyTimeout = timeout;
            return this;
        }

        public Builder requestTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("requestTimeout: expected a positive duration, got " + timeout);
            }
            this.requestTimeout = timeout;
            return this;
        }

        /**
         * How long {@link TranslationServer#start()} sends requests to the server itself before it returns
         * (readiness false meanwhile), so that the first users do not wait for the JIT. Default none.
         */
        public Builder warmUp(Duration time) {
            if (time == null || time.isNegative()) throw new IllegalArgumentException("warmUp: expected a duration >= 0, got " + time);
            this.warmUp = time;
            return this;
        }

        /** Undertow's I/O and worker thread counts. */
        public Builder threads(int io, int workers) {
            if (io < 1 || workers < 1) throw new IllegalArgumentException("threads: expected >= 1");
            this.ioThreads = io;
            this.workerThreads = workers;
            return this;
        }

        public TranslationServer build() {
            return new TranslationServer(this);
        }
    }
}
