package dev.samplenorm.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.samplenorm.Device;
import dev.samplenorm.runtime.ServingFixtures;
import dev.samplenorm.runtime.TranslationService;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * How the server reads request bodies: over-limit bodies, chunked bodies past what is worth reading,
 * "Expect: 100-continue", bodies that arrive too slowly, and bodies sent while the server shuts down.
 * Each test starts its own server on an ephemeral loopback port, mostly with small limits, and talks
 * to it over raw sockets where the exact bytes matter.
 */
class BodyLimitsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** A server around a one-instance CPU service, configured by {@code config}; closed by the caller. */
    private static TranslationServer server(Consumer<TranslationServer.Builder> config) {
        TranslationService service = TranslationService.builder(ServingFixtures.bundled()).name("shapes").instances(Device.cpu(), 1)
                .maxBatchSize(4).maxQueueDelay(Duration.ofMillis(2)).warmUp(false).build();
        TranslationServer.Builder b = TranslationServer.builder(service).port(0);
        config.accept(b);
        return b.build().start();
    }

    /** One answer read off a raw connection: status, headers in lower case, body. */
    record Answer(int status, String headers, byte[] body) {
        String error() throws Exception {
            return JSON.readTree(body).get("error").asText();
        }
    }

    /** A raw HTTP/1.1 connection to the server, with a 30 s read timeout. */
    record Raw(Socket socket, OutputStream out, InputStream in) implements AutoCloseable {
        static Raw connect(TranslationServer s) throws Exception {
            Socket socket = new Socket("127.0.0.1", s.port());
            socket.setSoTimeout(30_000);
            return new Raw(socket, socket.getOutputStream(), new BufferedInputStream(socket.getInputStream()));
        }

        @Override
        public void close() throws Exception {
            socket.close();
        }
    }

    private static Answer read(InputStream in) throws Exception {
        String status = line(in);
        StringBuilder headers = new StringBuilder();
        int length = -1;
        for (String h = line(in); !h.isEmpty(); h = line(in)) {
            String lower = h.toLowerCase(Locale.ROOT);
            headers.append(lower).append('\n');
            if (lower.startsWith("content-length:")) length = Integer.parseInt(lower.substring(15).trim());
        }
        byte[] body = length >= 0 ? in.readNBytes(length) : new byte[0];
        return new Answer(Integer.parseInt(status.split(" ")[1]), headers.toString(), body);
    }

    private static String line(InputStream in) throws Exception {
        StringBuilder b = new StringBuilder();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) throw new java.io.EOFException("the connection closed before a whole answer: '" + b + "'");
            if (c != '\r') b.append((char) c);
        }
        return b.toString();
    }

    private static byte[] head(String extraHeaders, String length) {
        return ("POST /v1/translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n" + extraHeaders + length + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** A whole chunked request whose body is one chunk of {@code size} zero bytes. */
    private static byte[] chunked(int size) throws Exception {
        ByteArrayOutputStream req = new ByteArrayOutputStream();
        req.write(head("Transfer-Encoding: chunked\r\n", ""));
        req.write((Integer.toHexString(size) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        req.write(new byte[size]);
        req.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return req.toByteArray();
    }

    private static byte[] png() throws Exception {
        return TranslationServerTest.resource("dev/samplenorm/models/samples/sketch_01.png");
    }

    @Test
    void anOverLimitBodyThatWaitsFor100ContinueIsRefusedBeforeItIsSent() throws Exception {
        try (TranslationServer s = server(b -> b.maxBodyBytes(1000))) {
            try (Raw raw = Raw.connect(s)) {
                OutputStream out = raw.out();
                InputStream in = raw.in();
                out.write(head("Expect: 100-continue\r\n", "Content-Length: 5000000\r\n"));
                out.flush();
                Answer a = read(in); // no body was sent: the answer comes at once
                assertEquals(413, a.status());
                assertTrue(a.error().contains("expected at most 1000"), a.error());
                assertTrue(a.headers().contains("connection: close"), a.headers());
                assertEquals(-1, in.read(), "the connection is closed");
            }
        }
    }

    @Test
    void aBodyWithinTheLimitThatWaitsFor100ContinueIsTranslated() throws Exception {
        try (TranslationServer s = server(b -> {})) {
            HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v1/translate")).expectContinue(true)
                    .timeout(Duration.ofSeconds(60)).header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(png())).build();
            HttpResponse<byte[]> answer = HTTP.send(r, HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, answer.statusCode(), new String(answer.body(), StandardCharsets.UTF_8));
            assertEquals("image/png", answer.headers().firstValue("Content-Type").orElse(""));
        }
    }

    @Test
    void aChunkedBodyPastWhatIsWorthReadingGetsA413AndAClose() throws Exception {
        try (TranslationServer s = server(b -> b.maxBodyBytes(1000).discardBytes(5000))) {
            try (Raw raw = Raw.connect(s)) {
                OutputStream out = raw.out();
                InputStream in = raw.in();
                // 8000 bytes in one chunk (past 1000 + 5000), small enough to arrive in one read.
                out.write(chunked(8000));
                out.flush();
                Answer a = read(in);
                assertEquals(413, a.status());
                assertTrue(a.error().contains("expected at most 1000"), a.error());
                assertTrue(a.headers().contains("connection: close"), a.headers());
            }
            // Within 1000 + 5000 the chunked body is read to its end, refused, and the connection stays usable.
            try (Raw raw = Raw.connect(s)) {
                OutputStream out = raw.out();
                InputStream in = raw.in();
                out.write(chunked(3000));
                out.write("GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                assertEquals(413, read(in).status());
                assertEquals(200, read(in).status(), "the next request on the same connection is answered");
            }
        }
    }

    @Test
    void aBodyThatArrivesTooSlowlyGetsA408AndAClose() throws Exception {
        try (TranslationServer s = server(b -> b.bodyTimeout(Duration.ofMillis(300)))) {
            try (Raw raw = Raw.connect(s)) {
                OutputStream out = raw.out();
                InputStream in = raw.in();
                out.write(head("", "Content-Length: 1000\r\n"));
                out.write(new byte[10]); // and then nothing
                out.flush();
                long start = System.nanoTime();
                Answer a = read(in);
                assertEquals(408, a.status());
                assertTrue(a.error().contains("did not arrive within 300 ms (10 bytes came)"), a.error());
                assertTrue(System.nanoTime() - start < 20_000_000_000L, "the 408 came at the deadline, not at the socket timeout");
                assertEquals(-1, in.read(), "the connection is closed");
            }
            // A body that comes in time is unaffected.
            HttpResponse<byte[]> ok = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v1/translate"))
                    .timeout(Duration.ofSeconds(60)).header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(png())).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, ok.statusCode());
        }
    }

    @Test
    void aDeclaredLengthPast2GiBIsRefusedAtOnceEvenWithTheLargestLimit() throws Exception {
        try (TranslationServer s = server(b -> b.maxBodyBytes(Integer.MAX_VALUE - 8))) {
            try (Raw raw = Raw.connect(s)) {
                OutputStream out = raw.out();
                InputStream in = raw.in();
                out.write(head("", "Content-Length: 3000000000\r\n"));
                out.flush();
                Answer a = read(in);
                assertEquals(413, a.status(), "a client that is still there gets its refusal, not a 499");
                assertTrue(a.error().contains("the body has 3000000000 bytes"), a.error());
            }
        }
    }

    @Test
    void aLargeBodySentWhileShuttingDownIsReadBeforeIts503() throws Exception {
        try (TranslationServer s = server(b -> {})) {
            s.drain();
            // 4 MiB, within the limit: read and thrown away, then 503; without reading it the client could be reset.
            for (int i = 0; i < 5; i++) {
                HttpResponse<byte[]> late = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v1/translate"))
                        .timeout(Duration.ofSeconds(60)).header("Content-Type", "image/png")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[4 << 20])).build(), HttpResponse.BodyHandlers.ofByteArray());
                assertEquals(503, late.statusCode());
                assertTrue(JSON.readTree(late.body()).get("error").asText().contains("shutting down"));
            }
            // An exchange completes just after its answer is written, so the client may read the answer first.
            long end = System.nanoTime() + 30_000_000_000L;
            while (s.inFlight() > 0 && System.nanoTime() < end) Thread.sleep(5);
            assertEquals(0, s.inFlight(), "every refused request has completed");
        }
    }

    @Test
    void theBodyTimeoutMustBePositive() {
        TranslationService service = TranslationService.builder(ServingFixtures.bundled()).name("shapes").instances(Device.cpu(), 1)
                .warmUp(false).build();
        try {
            TranslationServer.Builder b = TranslationServer.builder(service);
            assertThrows(IllegalArgumentException.class, () -> b.bodyTimeout(Duration.ZERO));
            assertThrows(IllegalArgumentException.class, () -> b.bodyTimeout(null));
            assertThrows(IllegalArgumentException.class, () -> b.maxBodyBytes(Integer.MAX_VALUE));
        } finally {
            service.shutdown(Duration.ZERO);
        }
    }
}
