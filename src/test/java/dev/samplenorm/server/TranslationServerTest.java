package dev.samplenorm.server;

import static dev.samplenorm.runtime.ServingFixtures.blob;
import static dev.samplenorm.runtime.ServingFixtures.floats;
import static dev.samplenorm.runtime.ServingFixtures.relativeL2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.environment.ThreadPriority;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.runtime.MicrometerServiceMetrics;
import dev.samplenorm.runtime.ServingFixtures;
import dev.samplenorm.runtime.TranslationService;
import dev.samplenorm.testing.ProcTasks;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A real server on an ephemeral loopback port, driven by java.net.http.HttpClient. */
class TranslationServerTest {

    private static final String MODEL = "shapes";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static TranslationServer server;
    private static Generator reference;
    private static String base;

    @BeforeAll
    static void start() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        TranslationService service = TranslationService.builder(ServingFixtures.bundled()).name(MODEL).statistics(StatisticsMode.SAMPLE)
                .instances(Device.cpu(), 1).maxBatchSize(4).maxQueueDelay(Duration.ofMillis(2)).maxImageSize(1024, 1 << 20)
                .metrics(new MicrometerServiceMetrics(registry, MODEL)).warmUp(false).build();
        server = TranslationServer.builder(service).port(0).metrics(registry).maxBodyBytes(4 << 20).build().start();
        base = "http://127.0.0.1:" + server.port();
        reference = Generator.load(ServingFixtures.bundled(), GeneratorOptions.builder().device(Device.cpu()).build());
    }

    @AfterAll
    static void stop() {
        server.close();
        reference.close();
    }

    private static HttpResponse<byte[]> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    private static HttpResponse<byte[]> post(String path, String contentType, byte[] body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) b.header("Content-Type", contentType);
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static JsonNode json(HttpResponse<byte[]> r) throws Exception {
        return JSON.readTree(r.body());
    }

    /** A 4xx answer with a JSON error body that contains {@code expected}. */
    private static void assertClientError(int status, String expected, HttpResponse<byte[]> r) throws Exception {
        assertEquals(status, r.statusCode(), new String(r.body()));
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
        String error = json(r).get("error").asText();
        assertTrue(error.contains(expected), "error '" + error + "' names '" + expected + "'");
    }

    @Test
    void healthAndMetadataEndpointsFollowTheV2Protocol() throws Exception {
        assertEquals(true, json(get("/v2/health/live")).get("live").asBoolean());
        assertEquals(true, json(get("/v2/health/ready")).get("ready").asBoolean());
        JsonNode server = json(get("/v2"));
        assertEquals("binary_tensor_data", server.get("extensions").get(0).asText());
        for (String path : List.of("/v2/models/" + MODEL, "/v2/models/" + MODEL + "/versions/1")) {
            JsonNode m = json(get(path));
            assertEquals(MODEL, m.get("name").asText());
            assertEquals("input", m.get("inputs").get(0).get("name").asText());
            assertEquals("FP32", m.get("inputs").get(0).get("datatype").asText());
            assertEquals("[-1,3,128,128]", m.get("inputs").get(0).get("shape").toString());
            assertEquals("output", m.get("outputs").get(0).get("name").asText());
        }
        HttpResponse<byte[]> ready = get("/v2/models/" + MODEL + "/ready");
        assertEquals(200, ready.statusCode());
        assertEquals(true, json(ready).get("ready").asBoolean());
        assertClientError(404, "expected '" + MODEL + "'", get("/v2/models/other"));
        assertClientError(404, "expected 1", get("/v2/models/" + MODEL + "/versions/7"));
        assertClientError(404, "/v1/translate", get("/nothing/here"));
        assertClientError(405, "expected POST", get("/v2/models/" + MODEL + "/infer"));
        assertClientError(405, "expected GET", post("/v2/health/live", "application/json", new byte[0]));
    }

    private static ObjectNode inferRequest(Mat blob, boolean binaryIn, boolean binaryOut) {
        ObjectNode req = JSON.createObjectNode();
        req.put("id", "r-1");
        ObjectNode in = req.putArray("inputs").addObject();
        in.put("name", "input").put("datatype", "FP32");
        ArrayNode shape = in.putArray("shape");
        for (int i = 0; i < 4; i++) shape.add(blob.size(i));
        if (binaryIn) {
            in.putObject("parameters").put("binary_data_size", 4L * blob.total());
        } else {
            ArrayNode data = in.putArray("data");
            for (float v : floats(blob)) data.add(v);
        }
        req.putArray("outputs").addObject().put("name", "output").putObject("parameters").put("binary_data", binaryOut);
        return req;
    }

    private static byte[] le(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    private static float[] expected(Mat blob) {
        try (Mat out = reference.translateBlob(blob)) {
            return floats(out);
        }
    }

    @Test
    void inferWithJsonTensorsAnswersTheGeneratorsOutput() throws Exception {
        try (Mat x = blob(2, 3, 128, 128, 11)) {
            HttpResponse<byte[]> r = post("/v2/models/" + MODEL + "/infer", "application/json", JSON.writeValueAsBytes(inferRequest(x, false, false)));
            assertEquals(200, r.statusCode(), new String(r.body()));
            JsonNode out = json(r).get("outputs").get(0);
            assertEquals("r-1", json(r).get("id").asText());
            assertEquals("output", out.get("name").asText());
            assertEquals("FP32", out.get("datatype").asText());
            assertEquals("[2,3,128,128]", out.get("shape").toString());
            float[] got = new float[out.get("data").size()];
            for (int i = 0; i < got.length; i++) got[i] = out.get("data").get(i).floatValue();
            double d = relativeL2(got, expected(x));
            assertTrue(d <= 1e-6, "relative L2 " + d);
        }
    }

    @Test
    void inferWithTheBinaryTensorExtensionInAndOut() throws Exception {
        try (Mat x = blob(1, 3, 128, 128, 12)) {
            byte[] header = JSON.writeValueAsBytes(inferRequest(x, true, true));
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.writeBytes(header);
            body.writeBytes(le(floats(x)));
            HttpResponse<byte[]> r = post("/v2/models/" + MODEL + "/infer", "application/octet-stream", body.toByteArray(),
                    "Inference-Header-Content-Length", Integer.toString(header.length));
            assertEquals(200, r.statusCode(), new String(r.body()));
            int jsonLength = Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
            JsonNode head = JSON.readTree(r.body(), 0, jsonLength);
            JsonNode out = head.get("outputs").get(0);
            assertEquals(4L * 3 * 128 * 128, out.get("parameters").get("binary_data_size").asLong());
            assertEquals(jsonLength + 4 * 3 * 128 * 128, r.body().length);
            float[] got = new float[3 * 128 * 128];
            ByteBuffer.wrap(r.body(), jsonLength, 4 * got.length).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(got);
            double d = relativeL2(got, expected(x));
            assertTrue(d <= 1e-6, "relative L2 " + d);

            // Binary in, JSON out.
            header = JSON.writeValueAsBytes(inferRequest(x, true, false));
            body.reset();
            body.writeBytes(header);
            body.writeBytes(le(floats(x)));
            r = post("/v2/models/" + MODEL + "/infer", "application/octet-stream", body.toByteArray(), "Inference-Header-Content-Length",
                    Integer.toString(header.length));
            assertEquals(200, r.statusCode());
            assertEquals(3 * 128 * 128, json(r).get("outputs").get(0).get("data").size());
        }
    }

    @Test
    void inferMistakesAre400sThatNameWhatWasExpected() throws Exception {
        String infer = "/v2/models/" + MODEL + "/infer";
        assertClientError(400, "expected a JSON infer request", post(infer, "application/json", "{not json".getBytes()));
        assertClientError(400, "exactly one tensor", post(infer, "application/json", "{\"inputs\": []}".getBytes()));
        try (Mat x = blob(1, 3, 128, 128, 13)) {
            ObjectNode req = inferRequest(x, false, false);
            ((ObjectNode) req.get("inputs").get(0)).put("name", "image");
            assertClientError(400, "expected input name 'input'", post(infer, "application/json", JSON.writeValueAsBytes(req)));
            req = inferRequest(x, false, false);
            ((ObjectNode) req.get("inputs").get(0)).put("datatype", "INT8");
            assertClientError(400, "expected datatype FP32", post(infer, "application/json", JSON.writeValueAsBytes(req)));
            req = inferRequest(x, false, false);
            ((ObjectNode) req.get("inputs").get(0)).putArray("shape").add(1).add(3).add(64).add(64);
            assertClientError(400, "[N, 3, 128, 128]", post(infer, "application/json", JSON.writeValueAsBytes(req)));
            req = inferRequest(x, false, false);
            ((ObjectNode) req.get("inputs").get(0)).putArray("shape").add(5).add(3).add(128).add(128);
            assertClientError(400, "1 <= N <= 4", post(infer, "application/json", JSON.writeValueAsBytes(req)));
            req = inferRequest(x, false, false);
            ((ArrayNode) req.get("inputs").get(0).get("data")).remove(0);
            assertClientError(400, "expected 49152 values", post(infer, "application/json", JSON.writeValueAsBytes(req)));
            req = inferRequest(x, false, false);
            ((ArrayNode) req.get("inputs").get(0).get("data")).set(5, JSON.getNodeFactory().textNode("x"));
            assertClientError(400, "expected FP32 numbers", post(infer, "application/json", JSON.writeValueAsBytes(req)));
            req = inferRequest(x, false, false);
            ((ObjectNode) req.get("outputs").get(0)).put("name", "y");
            assertClientError(400, "expected requested output name 'output'", post(infer, "application/json", JSON.writeValueAsBytes(req)));
            byte[] header = JSON.writeValueAsBytes(inferRequest(x, true, false));
            byte[] shortBody = new byte[header.length + 100];
            System.arraycopy(header, 0, shortBody, 0, header.length);
            assertClientError(400, "expected 196608 bytes of binary tensor data", post(infer, "application/octet-stream", shortBody,
                    "Inference-Header-Content-Length", Integer.toString(header.length)));
            assertClientError(400, "non-negative integer", post(infer, "application/octet-stream", shortBody,
                    "Inference-Header-Content-Length", "-3"));
            assertClientError(400, "has no Inference-Header-Content-Length", post(infer, "application/json", header));
        }
    }

    @Test
    void translateTakesPngOrJpegAndAnswersPng() throws Exception {
        byte[] png = resource("dev/samplenorm/models/samples/sketch_01.png");
        HttpResponse<byte[]> r = post("/v1/translate", "image/png", png);
        assertEquals(200, r.statusCode(), new String(r.body()));
        assertEquals("image/png", r.headers().firstValue("Content-Type").orElse(""));
        try (Mat in = decode(png); Mat out = decode(r.body())) {
            Mat alone = reference.translate(List.of(in)).get(0);
            assertArrayEquals(ServingFixtures.bytes(alone), ServingFixtures.bytes(out));
        }
        try (Mat in = ServingFixtures.image(90, 70, 4); BytePointer buf = new BytePointer()) {
            opencv_imgcodecs.imencode(".jpg", in, buf);
            byte[] jpeg = new byte[(int) buf.limit()];
            buf.get(jpeg);
            r = post("/v1/translate", "image/jpeg", jpeg);
            assertEquals(200, r.statusCode(), new String(r.body()));
            try (Mat out = decode(r.body())) {
                assertEquals(90, out.cols());
                assertEquals(70, out.rows());
            }
        }
    }

    @Test
    void translateMistakesAndAttacksAre4xxBeforeAnyDecoding() throws Exception {
        byte[] png = resource("dev/samplenorm/models/samples/sketch_01.png");
        assertClientError(415, "expected Content-Type image/png or image/jpeg", post("/v1/translate", "text/plain", png));
        assertClientError(415, "got none", post("/v1/translate", null, png));
        assertClientError(400, "expected a PNG or JPEG image", post("/v1/translate", "image/png", "hello".getBytes()));
        assertClientError(400, "truncated", post("/v1/translate", "image/png", java.util.Arrays.copyOf(png, png.length / 3)));
        assertClientError(413, "declares 100000x100000", post("/v1/translate", "image/png",
                dev.samplenorm.runtime.TranslationServiceTestAccess.bombPng(100_000, 100_000)));
        assertClientError(413, "expected at most 4194304", post("/v1/translate", "image/png", new byte[(4 << 20) + 1]));
        assertEquals(200, post("/v1/translate", "image/png", png).statusCode(), "the server still answers");
    }

    @Test
    void oversizedBodiesAreAnswered413NotReset() throws Exception {
        // A server that closes a connection with unread request bytes makes the kernel reset it,
        // and the client can lose the 413 it was sent; each of these must arrive as a 413.
        byte[] tooLarge = new byte[(4 << 20) + 1];
        for (int i = 0; i < 25; i++) {
            assertClientError(413, "expected at most 4194304", post("/v1/translate", "image/png", tooLarge));
            HttpRequest chunked = HttpRequest.newBuilder(URI.create(base + "/v1/translate")).timeout(Duration.ofSeconds(60))
                    .header("Content-Type", "image/png")
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(tooLarge))).build();
            assertClientError(413, "expected at most 4194304", HTTP.send(chunked, HttpResponse.BodyHandlers.ofByteArray()));
        }
        byte[] png = resource("dev/samplenorm/models/samples/sketch_01.png");
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(60_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = new java.io.BufferedInputStream(socket.getInputStream());
            // A body read to its end and refused leaves the connection usable for the next request.
            out.write(request("/v1/translate", tooLarge));
            out.flush();
            assertEquals(413, readResponse(in, tooLarge));
            out.write(request("/v1/translate", png));
            out.flush();
            assertEquals(200, readResponse(in, png));
            // A body that declares far more than is worth reading is refused at once and the connection closed.
            out.write(("POST /v1/translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 100000000000\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertEquals(413, readResponse(in, png));
            assertEquals(-1, in.read(), "the connection is closed after the refusal");
        }
    }

    @Test
    void answersThatCloseTheConnectionFollowTheWholeBody() throws Exception {
        // A client that asks for the connection to close: closing it with body bytes unread would make the
        // kernel reset it, and the client could lose the answer; each of these must arrive, then the close.
        byte[] body = new byte[4 << 20];
        for (int i = 0; i < 5; i++) {
            for (String[] target : new String[][] {{"/v2/health/live", "405"}, {"/nothing/here", "404"}, {"/v2/models/other/infer", "404"}}) {
                try (Socket socket = new Socket("127.0.0.1", server.port())) {
                    socket.setSoTimeout(60_000);
                    byte[] head = ("POST " + target[0] + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nConnection: close\r\n"
                            + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
                    CompletableFuture<Void> sent = new CompletableFuture<>();
                    Thread writer = new Thread(() -> {
                        try {
                            OutputStream out = socket.getOutputStream();
                            out.write(concat(head, body));
                            out.flush();
                            sent.complete(null);
                        } catch (Exception e) {
                            sent.completeExceptionally(e);
                        }
                    });
                    writer.start();
                    InputStream in = new java.io.BufferedInputStream(socket.getInputStream());
                    assertEquals(Integer.parseInt(target[1]), readResponse(in, body), target[0]);
                    assertEquals(-1, in.read(), "the connection is closed after the answer");
                    sent.get(60, TimeUnit.SECONDS); // the whole body went out, no reset
                    writer.join();
                }
            }
        }
    }

    @Test
    void metricsAreServedInPrometheusText() throws Exception {
        String answered = "samplenorm_http_responses_total{endpoint=\"translate\",status=\"200\"}";
        double before = sample(new String(get("/metrics").body()), answered);
        assertEquals(200, post("/v1/translate", "image/png", resource("dev/samplenorm/models/samples/sketch_02.png")).statusCode());
        // The answer is counted once it has been written, which the client can see a moment before the count.
        String text = "";
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end) {
            HttpResponse<byte[]> r = get("/metrics");
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
            text = new String(r.body());
            if (sample(text, answered) > before) break;
            Thread.sleep(5);
        }
        assertEquals(before + 1, sample(text, answered), "this test's answer counted once:\n" + text);
        for (String name : List.of("samplenorm_inference_requests_accepted_total{model=\"shapes\"}", "samplenorm_inference_requests_rejected_total",
                "samplenorm_inference_requests_failed_total", "samplenorm_inference_requests_timed_out_total",
                "samplenorm_inference_requests_cancelled_total", "samplenorm_inference_queue_depth",
                "samplenorm_inference_queue_duration_seconds_bucket", "samplenorm_inference_compute_duration_seconds_bucket",
                "samplenorm_inference_request_duration_seconds_bucket", "samplenorm_inference_batch_size_bucket")) {
            assertTrue(text.contains(name), "metrics contain " + name);
        }
        assertTrue(text.contains("samplenorm_compute_nice{model=\"shapes\"} 0.0"), "compute threads at normal priority:\n" + text);
    }

    /** The value of one series in Prometheus text, 0 where the series does not exist (yet). */
    private static double sample(String text, String series) {
        for (String line : text.split("\n")) {
            if (line.startsWith(series + " ")) return Double.parseDouble(line.substring(series.length() + 1).trim().split(" ")[0]);
        }
        return 0;
    }

    @Test
    void metricsShowTheComputeThreadsNiceValue() throws Exception {
        assumeTrue(ThreadPriority.supported(), ThreadPriority.unsupportedReason());
        int nice = ThreadPriority.currentNice() + 1; // one below the process's priority, whatever it runs at
        assumeTrue(nice <= ThreadPriority.MAX_NICE, "the test process runs at the lowest priority already");
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (TranslationService service = TranslationService.builder(ServingFixtures.bundled()).name(MODEL).instances(Device.cpu(), 1)
                .maxBatchSize(1).computeNice(nice).warmUp(false).build();
             TranslationServer niced = TranslationServer.builder(service).port(0).metrics(registry).build().start()) {
            HttpResponse<byte[]> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + niced.port() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            String text = new String(r.body());
            assertTrue(text.contains("samplenorm_compute_nice{model=\"shapes\"} " + nice + ".0"), text);
        }
    }

    /**
     * With a compute nice, only the worker and the threads it creates (OpenCV's pool, where it creates
     * it) run lowered: the completions go through threads of normal priority, so the common fork-join
     * pool (PNG encoding) and Undertow's threads, which create their threads on demand from the thread
     * that submits, keep the priority they started with.
     */
    @Test
    void aComputeNiceStaysWithTheComputeThreads() throws Exception {
        assumeTrue(ThreadPriority.supported(), ThreadPriority.unsupportedReason());
        int start = ThreadPriority.currentNice();
        int nice = 10;
        assumeTrue(start < nice, "the test process runs at nice " + start + ", not below " + nice);
        String workerComm = ProcTasks.comm("samplenorm-n-worker-0");
        Map<Long, Integer> before = new HashMap<>();
        for (ProcTasks.Task t : ProcTasks.all()) before.put(t.tid(), t.nice());
        byte[] png = resource("dev/samplenorm/models/samples/sketch_01.png");
        try (TranslationService service = TranslationService.builder(ServingFixtures.bundled()).name("n").instances(Device.cpu(), 1)
                .maxBatchSize(4).computeNice(nice).warmUp(false).build();
             TranslationServer s = TranslationServer.builder(service).port(0).build().start();
             Mat x = blob(1, 3, 128, 128, 5)) {
            String url = "http://127.0.0.1:" + s.port();
            byte[] infer = JSON.writeValueAsBytes(inferRequest(x, false, false));
            List<CompletableFuture<HttpResponse<byte[]>>> answers = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                answers.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create(url + "/v1/translate")).header("Content-Type", "image/png")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(png)).build(), HttpResponse.BodyHandlers.ofByteArray()));
                answers.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create(url + "/v2/models/n/infer"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(infer)).build(),
                        HttpResponse.BodyHandlers.ofByteArray()));
            }
            for (CompletableFuture<HttpResponse<byte[]>> a : answers) {
                HttpResponse<byte[]> r = a.get(120, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), new String(r.body()));
            }
            List<ProcTasks.Task> all = ProcTasks.all();
            List<ProcTasks.Task> compute = all.stream().filter(t -> t.comm().equals(workerComm)).toList();
            assertTrue(!compute.isEmpty() && compute.stream().allMatch(t -> t.nice() == nice), "the compute threads: " + compute);
            List<String> changed = new ArrayList<>();
            for (ProcTasks.Task t : all) {
                if (t.comm().equals(workerComm)) continue;
                int expected = before.getOrDefault(t.tid(), start); // a new thread: created by a thread at the start nice
                if (t.nice() != expected) changed.add(t + " (expected nice " + expected + ")");
            }
            assertEquals(List.of(), changed, "threads other than the compute threads keep their priority");
            assertTrue(all.stream().anyMatch(t -> t.comm().startsWith("XNIO-") && t.comm().contains("task")),
                    "Undertow's task threads ran the answers: " + all);
        }
    }

    @Test
    void aFullQueueIs429WithRetryAfterAndShutdownDrainsWhatWasAccepted() throws Exception {
        // The batch waits for 64 images that never come, so the 2-request queue stays full until shutdown.
        TranslationService service = TranslationService.builder(ServingFixtures.bundled()).name(MODEL).instances(Device.cpu(), 1)
                .maxBatchSize(64).maxQueueDelay(Duration.ofHours(1)).queueCapacity(2).warmUp(false).build();
        TranslationServer s = TranslationServer.builder(service).port(0).build().start();
        String url = "http://127.0.0.1:" + s.port() + "/v1/translate";
        byte[] png = resource("dev/samplenorm/models/samples/sketch_01.png");
        List<CompletableFuture<HttpResponse<byte[]>>> accepted = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                accepted.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "image/png")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(png)).build(), HttpResponse.BodyHandlers.ofByteArray()));
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (service.queueDepth() < i + 1 && System.nanoTime() < end) Thread.sleep(5);
            }
            assertEquals(2, service.queueDepth());
            HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "image/png")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(png)).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(429, r.statusCode());
            assertEquals("1", r.headers().firstValue("Retry-After").orElse(""));
            assertTrue(JSON.readTree(r.body()).get("error").asText().contains("queue is full"));
        } finally {
            s.shutdown(Duration.ofSeconds(60));
        }
        for (CompletableFuture<HttpResponse<byte[]>> f : accepted) {
            HttpResponse<byte[]> r = f.get(60, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), "an accepted request is answered in full during shutdown");
            try (Mat out = decode(r.body())) {
                assertEquals(128, out.cols());
            }
        }
        assertTrue(!service.isAccepting());
    }

    @Test
    void duringShutdownNewWorkIs503WithRetryAfterAndReadinessFalls() throws Exception {
        TranslationService service = TranslationService.builder(ServingFixtures.bundled()).name(MODEL).instances(Device.cpu(), 1)
                .maxBatchSize(64).maxQueueDelay(Duration.ofHours(1)).queueCapacity(4).warmUp(false).build();
        TranslationServer s = TranslationServer.builder(service).port(0).build().start();
        String root = "http://127.0.0.1:" + s.port();
        byte[] png = resource("dev/samplenorm/models/samples/sketch_01.png");
        CompletableFuture<HttpResponse<byte[]>> inFlight = HTTP.sendAsync(HttpRequest.newBuilder(URI.create(root + "/v1/translate"))
                .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(png)).build(), HttpResponse.BodyHandlers.ofByteArray());
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (service.queueDepth() < 1 && System.nanoTime() < end) Thread.sleep(5);
        s.drain();
        HttpResponse<byte[]> ready = HTTP.send(HttpRequest.newBuilder(URI.create(root + "/v2/health/ready")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(503, ready.statusCode());
        assertEquals(false, JSON.readTree(ready.body()).get("ready").asBoolean());
        assertEquals(200, HTTP.send(HttpRequest.newBuilder(URI.create(root + "/v2/health/live")).build(),
                HttpResponse.BodyHandlers.ofByteArray()).statusCode(), "still live");
        HttpResponse<byte[]> late = HTTP.send(HttpRequest.newBuilder(URI.create(root + "/v1/translate")).header("Content-Type", "image/png")
                .POST(HttpRequest.BodyPublishers.ofByteArray(png)).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(503, late.statusCode());
        assertTrue(late.headers().firstValue("Retry-After").isPresent());
        assertTrue(JSON.readTree(late.body()).get("error").asText().contains("shutting down"));
        assertEquals(false, inFlight.isDone(), "the accepted request still waits for its batch");
        Thread stopper = new Thread(() -> s.shutdown(Duration.ofSeconds(60)));
        stopper.start();
        stopper.join(60_000);
        assertEquals(200, inFlight.get(60, TimeUnit.SECONDS).statusCode(), "the request in flight was answered");
    }

    @Test
    void aWarmUpSendsTranslationsThroughTheServerBeforeStartReturns() throws Exception {
        ServingFixtures.Recorder metrics = new ServingFixtures.Recorder();
        TranslationService service = TranslationService.builder(ServingFixtures.bundled()).name(MODEL).instances(Device.cpu(), 1)
                .maxBatchSize(4).maxQueueDelay(Duration.ofMillis(2)).metrics(metrics).warmUp(false).build();
        TranslationServer s = TranslationServer.builder(service).port(0).warmUp(Duration.ofMillis(300)).build().start();
        try {
            synchronized (metrics) {
                assertTrue(metrics.succeeded >= 1, "the warm-up's requests were translated before start() returned: " + metrics.succeeded);
                assertEquals(0, metrics.failed + metrics.rejected);
            }
            assertEquals(200, HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v2/health/ready")).build(),
                    HttpResponse.BodyHandlers.ofByteArray()).statusCode(), "ready after the warm-up");
        } finally {
            s.shutdown(Duration.ofSeconds(60));
        }
    }

    @Test
    void aWarmUpShorterThanItsClientsStartUpStillSendsOneRequestFromEach() throws Exception {
        // A warm-up over before its clients have started (a slow or busy machine): each still sends one.
        ServingFixtures.Recorder metrics = new ServingFixtures.Recorder();
        TranslationService service = TranslationService.builder(ServingFixtures.bundled()).name(MODEL).instances(Device.cpu(), 1)
                .maxBatchSize(4).maxQueueDelay(Duration.ofMillis(2)).metrics(metrics).warmUp(false).build();
        TranslationServer s = TranslationServer.builder(service).port(0).warmUp(Duration.ofNanos(1)).build().start();
        try {
            synchronized (metrics) {
                assertEquals(TranslationServer.WARM_UP_CLIENTS, metrics.succeeded, "one translated request per warm-up client");
                assertEquals(0, metrics.failed + metrics.rejected);
            }
        } finally {
            s.shutdown(Duration.ofSeconds(60));
        }
    }

    @Test
    void aClientThatDisconnectsTakesItsQueuedRequestWithIt() throws Exception {
        // The batch waits for 64 images that never come, so a request stays queued until its client goes away.
        ServingFixtures.Recorder metrics = new ServingFixtures.Recorder();
        TranslationService service = TranslationService.builder(ServingFixtures.bundled()).name(MODEL).instances(Device.cpu(), 1)
                .maxBatchSize(64).maxQueueDelay(Duration.ofHours(1)).queueCapacity(4).metrics(metrics).warmUp(false).build();
        TranslationServer s = TranslationServer.builder(service).port(0).build().start();
        byte[] png = resource("dev/samplenorm/models/samples/sketch_01.png");
        try {
            try (Socket socket = new Socket("127.0.0.1", s.port())) {
                OutputStream out = socket.getOutputStream();
                out.write(request("/v1/translate", png));
                out.flush();
                awaitQueueDepth(service, 1);
            } // the client closes its connection before the answer
            awaitQueueDepth(service, 0);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            // The request leaves the queue under the service's lock; the counter follows just after.
            while (System.nanoTime() < end) {
                synchronized (metrics) {
                    if (metrics.cancelled > 0) break;
                }
                Thread.sleep(5);
            }
            synchronized (metrics) {
                assertEquals(1, metrics.accepted);
                assertEquals(1, metrics.cancelled, "counted as cancelled");
            }
            while (s.inFlight() > 0 && System.nanoTime() < end) Thread.sleep(5);
            assertEquals(0, s.inFlight(), "the exchange of the cancelled request ended");
        } finally {
            s.shutdown(Duration.ofSeconds(60));
        }
        assertEquals(List.of(), metrics.batchSizes(), "the cancelled request never ran, not even at shutdown");
        assertEquals(0, metrics.succeeded + metrics.failed + metrics.timedOut);
    }

    @Test
    void watchingForDisconnectsKeepsKeepAliveAndPipeliningIntact() throws Exception {
        // Each request waits 500 ms for company, so a request written meanwhile reaches the disconnect watch.
        // Waits are for the accepted count, which stays, not for the queue depth of 1, which lasts those 500 ms only.
        ServingFixtures.Recorder metrics = new ServingFixtures.Recorder();
        TranslationService service = TranslationService.builder(ServingFixtures.bundled()).name(MODEL).instances(Device.cpu(), 1)
                .maxBatchSize(64).maxQueueDelay(Duration.ofMillis(500)).queueCapacity(4).metrics(metrics).warmUp(false).build();
        TranslationServer s = TranslationServer.builder(service).port(0).build().start();
        byte[] png = resource("dev/samplenorm/models/samples/sketch_01.png");
        try (Socket socket = new Socket("127.0.0.1", s.port())) {
            socket.setSoTimeout(60_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = new java.io.BufferedInputStream(socket.getInputStream());
            out.write(request("/v1/translate", png)); // one request, its answer, then the next on the same connection
            out.flush();
            assertEquals(200, readResponse(in, png));
            // A pipelined request written while the first one is queued: the watch reads it and hands it back.
            out.write(request("/v1/translate", png));
            out.flush();
            awaitAccepted(metrics, 2);
            out.write(request("/v1/translate", png));
            out.flush();
            assertEquals(200, readResponse(in, png));
            assertEquals(200, readResponse(in, png));
            // Two requests in one write: Undertow holds the second one itself.
            out.write(concat(request("/v1/translate", png), request("/v1/translate", png)));
            out.flush();
            assertEquals(200, readResponse(in, png));
            assertEquals(200, readResponse(in, png));
            // A request and the start of the next in one write (Undertow keeps the start), the rest of the
            // next while the first is queued: it must go after the start, not before it.
            byte[] next = request("/v1/translate", png);
            out.write(concat(request("/v1/translate", png), java.util.Arrays.copyOf(next, 20)));
            out.flush();
            awaitAccepted(metrics, 6);
            out.write(java.util.Arrays.copyOfRange(next, 20, next.length));
            out.flush();
            assertEquals(200, readResponse(in, png));
            assertEquals(200, readResponse(in, png));
        } finally {
            s.shutdown(Duration.ofSeconds(60));
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static byte[] request(String path, byte[] png) {
        byte[] head = ("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: " + png.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        return concat(head, png);
    }

    /** Reads one HTTP/1.1 answer with a Content-Length; a 200 must be the translation of {@code png}. */
    private static int readResponse(InputStream in, byte[] png) throws Exception {
        String status = line(in);
        int code = Integer.parseInt(status.split(" ")[1]);
        int length = -1;
        for (String h = line(in); !h.isEmpty(); h = line(in)) {
            if (h.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) length = Integer.parseInt(h.substring(15).trim());
        }
        assertTrue(length >= 0, "the answer has a Content-Length");
        byte[] body = in.readNBytes(length);
        assertEquals(length, body.length, "the whole body arrived");
        if (code == 200) {
            try (Mat input = decode(png); Mat outImage = decode(body)) {
                Mat alone = reference.translate(List.of(input)).get(0);
                assertArrayEquals(ServingFixtures.bytes(alone), ServingFixtures.bytes(outImage));
            }
        }
        return code;
    }

    private static String line(InputStream in) throws Exception {
        StringBuilder b = new StringBuilder();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) throw new java.io.EOFException("the connection closed in the middle of an answer");
            if (c != '\r') b.append((char) c);
        }
        return b.toString();
    }

    private static void awaitQueueDepth(TranslationService service, int depth) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (service.queueDepth() != depth && System.nanoTime() < end) Thread.sleep(5);
        assertEquals(depth, service.queueDepth(), "queue depth");
    }

    private static void awaitAccepted(ServingFixtures.Recorder metrics, int accepted) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end) {
            synchronized (metrics) {
                if (metrics.accepted >= accepted) break;
            }
            Thread.sleep(5);
        }
        synchronized (metrics) {
            assertEquals(accepted, metrics.accepted, "requests accepted into the queue");
        }
    }

    static byte[] resource(String name) throws Exception {
        try (InputStream in = TranslationServerTest.class.getClassLoader().getResourceAsStream(name)) {
            return in.readAllBytes();
        }
    }

    static Mat decode(byte[] encoded) {
        try (Mat buf = new Mat(1, encoded.length, opencv_core.CV_8U, new BytePointer(encoded))) {
            return opencv_imgcodecs.imdecode(buf, opencv_imgcodecs.IMREAD_COLOR);
        }
    }
}
