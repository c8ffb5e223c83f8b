package dev.samplenorm.benchmarks;

import static org.bytedeco.opencv.global.opencv_core.CV_8U;

import dev.samplenorm.Device;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.runtime.ImageHeaders;
import dev.samplenorm.runtime.TranslationService;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Load measurements of {@code samplenorm serve} that a closed-loop tool like wrk cannot make (wrk runs
 * the closed-loop throughput and latency sweep in {@code benchmarks/run-serving-load.sh}):
 * <ul>
 * <li>{@code loop SECONDS MODEL.onnx IMAGE.png}: the in-process baseline, a single-thread
 * {@link Generator} loop doing the work of one {@code /v1/translate} request (PNG decode, translate,
 * PNG encode) back to back;
 * <li>{@code open URL IMAGE.png RATE SECONDS [WARMUP_SECONDS]}: an open-loop run at a fixed arrival rate
 * (below capacity, and the overload run) after a warm-up at the same rate (default 5 s), reconciling
 * sent = answered + rejected + errors, checking every 200 body, and putting the server's own request
 * durations (from its {@code /metrics}) beside the client's;
 * <li>{@code burst URL IMAGE.png COUNT}: COUNT requests at once, then waits for every answer (the SIGTERM
 * run: the script sends SIGTERM while they are in flight);
 * <li>{@code faults HOST PORT IMAGE.png}: disconnecting clients, malformed, truncated and bomb images.
 * </ul>
 * Prints one summary line per run.
 */
public final class ServingLoad {

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "loop" -> loop(Integer.parseInt(args[1]), Path.of(args[2]), Files.readAllBytes(Path.of(args[3])));
            case "open" -> open(args[1], Files.readAllBytes(Path.of(args[2])), Double.parseDouble(args[3]), Integer.parseInt(args[4]),
                    args.length > 5 ? Integer.parseInt(args[5]) : 5);
            case "burst" -> burst(args[1], Files.readAllBytes(Path.of(args[2])), Integer.parseInt(args[3]));
            case "faults" -> faults(args[1], Integer.parseInt(args[2]), Files.readAllBytes(Path.of(args[3])));
            default -> throw new IllegalArgumentException("expected loop, open, burst or faults, got " + args[0]);
        }
    }

    private static void loop(int seconds, Path model, byte[] png) throws Exception {
        try (Generator g = Generator.load(model, GeneratorOptions.builder().device(Device.cpu()).build())) {
            for (int i = 0; i < 5; i++) once(g, png); // warm-up
            List<Long> lat = new ArrayList<>();
            long start = System.nanoTime(), end = start + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < end) {
                long t = System.nanoTime();
                once(g, png);
                lat.add(System.nanoTime() - t);
            }
            double s = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "loop: %d requests in %.1f s = %.1f req/s; latency %s%n", lat.size(), s, lat.size() / s,
                    percentiles(lat));
        }
    }

    private static void once(Generator g, byte[] png) {
        try (Mat buf = new Mat(1, png.length, CV_8U, new BytePointer(png)); Mat img = opencv_imgcodecs.imdecode(buf, opencv_imgcodecs.IMREAD_COLOR)) {
            List<Mat> out = g.translate(List.of(img));
            TranslationService.encodePng(out.get(0));
            out.forEach(Mat::close);
        }
    }

    private static void open(String url, byte[] png, double rate, int seconds, int warmUpSeconds) throws Exception {
        // HTTP/1.1 as wrk and most service clients speak it (the JDK's default would try an h2c upgrade on each new connection).
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(Executors.newFixedThreadPool(4)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "image/png").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofByteArray(png)).build();
        String metricsUrl = URI.create(url).resolve("/metrics").toString();
        if (warmUpSeconds > 0) { // JIT and connections of both sides, at the same rate, not counted
            schedule(http, request, rate, warmUpSeconds, new ConcurrentLinkedQueue<>(), new ArrayList<>());
        }
        String before = scrape(http, metricsUrl);
        ConcurrentLinkedQueue<long[]> results = new ConcurrentLinkedQueue<>(); // {status, nanos, ok}
        List<Long> lateness = new ArrayList<>();
        long start = System.nanoTime();
        List<CompletableFuture<?>> all = schedule(http, request, rate, seconds, results, lateness);
        double sendSeconds = (System.nanoTime() - start) / 1e9;
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        String after = scrape(http, metricsUrl);
        long sent = all.size();
        List<Long> ok = new ArrayList<>(), rejected = new ArrayList<>();
        long answered = 0, rejectedCount = 0, unavailable = 0, errors = 0, bad = 0;
        for (long[] r : results) {
            if (r[0] == 200) {
                answered++;
                ok.add(r[1]);
                if (r[2] == 0) bad++;
            } else if (r[0] == 429) {
                rejectedCount++;
                rejected.add(r[1]);
            } else if (r[0] == 503) {
                unavailable++;
                rejected.add(r[1]);
            } else {
                errors++;
            }
        }
        System.out.printf(Locale.ROOT,
                "open: rate %.1f/s for %.1f s after %d s of warm-up: sent %d = answered %d + rejected 429 %d + 503 %d + errors %d (%s);"
                        + " bad 200 bodies %d; goodput %.1f/s; 200 latency %s; rejection latency %s%n",
                rate, sendSeconds, warmUpSeconds, sent, answered, rejectedCount, unavailable, errors,
                sent == answered + rejectedCount + unavailable + errors ? "reconciled" : "NOT RECONCILED", bad, answered / sendSeconds,
                percentiles(ok), percentiles(rejected));
        System.out.printf(Locale.ROOT, "open: sender lateness (actual minus scheduled send time; counted in the latencies above) %s%n",
                percentiles(lateness));
        for (String status : List.of("200", "429")) {
            System.out.printf(Locale.ROOT, "open: server-side %s (headers parsed to answer written, histogram bucket bounds) %s%n", status,
                    serverPercentiles(before, after, status));
        }
        System.exit(0);
    }

    /**
     * Sends at fixed intervals from {@code start}, whatever the answers do (open loop). Latency runs from
     * the scheduled send time, so a late sender (GC, CPU contention) shows in the numbers instead of
     * hiding them (coordinated omission).
     */
    private static List<CompletableFuture<?>> schedule(HttpClient http, HttpRequest request, double rate, int seconds,
            ConcurrentLinkedQueue<long[]> results, List<Long> lateness) throws InterruptedException {
        List<CompletableFuture<?>> all = new ArrayList<>();
        long period = (long) (1e9 / rate);
        long start = System.nanoTime(), end = start + TimeUnit.SECONDS.toNanos(seconds);
        for (long next = start; next < end; next += period) {
            long wait = next - System.nanoTime();
            if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
            long scheduled = next;
            lateness.add(System.nanoTime() - scheduled);
            all.add(http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()).handle((r, e) -> {
                long nanos = System.nanoTime() - scheduled;
                if (e != null) {
                    results.add(new long[] {-1, nanos, 0});
                } else {
                    results.add(new long[] {r.statusCode(), nanos, r.statusCode() == 200 ? checkPng(r.body()) : 1});
                }
                return null;
            }));
        }
        return all;
    }

    private static String scrape(HttpClient http, String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "";
        }
    }

    /** p50/p90/p99 upper bounds of the server's translate duration histogram for one status, counted between two scrapes. */
    private static String serverPercentiles(String before, String after, String status) {
        java.util.TreeMap<Double, Long> a = buckets(after, status), b = buckets(before, status);
        if (a.isEmpty()) return "n/a";
        java.util.TreeMap<Double, Long> d = new java.util.TreeMap<>();
        a.forEach((le, n) -> d.put(le, n - b.getOrDefault(le, 0L)));
        long total = d.lastEntry().getValue();
        if (total == 0) return "n/a";
        StringBuilder out = new StringBuilder(total + " requests:");
        for (double q : new double[] {0.5, 0.9, 0.99}) {
            for (java.util.Map.Entry<Double, Long> e : d.entrySet()) {
                if (e.getValue() >= Math.ceil(q * total)) {
                    out.append(String.format(Locale.ROOT, " p%d <= %s", Math.round(q * 100),
                            e.getKey().isInfinite() ? "+Inf" : String.format(Locale.ROOT, "%.1f ms", e.getKey() * 1e3)));
                    break;
                }
            }
        }
        return out.toString();
    }

    private static java.util.TreeMap<Double, Long> buckets(String metrics, String status) {
        java.util.TreeMap<Double, Long> out = new java.util.TreeMap<>();
        for (String line : metrics.split("\n")) {
            if (!line.startsWith("samplenorm_http_request_duration_seconds_bucket{") || !line.contains("endpoint=\"translate\"")
                    || !line.contains("status=\"" + status + "\"")) {
                continue;
            }
            int i = line.indexOf("le=\"") + 4;
            String le = line.substring(i, line.indexOf('"', i));
            double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
            out.put(bound, (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
        }
        return out;
    }

    private static void burst(String url, byte[] png, int count) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "image/png").timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofByteArray(png)).build();
        List<CompletableFuture<String>> all = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            all.add(http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()).handle((r, e) -> {
                if (e != null) return "connection error (" + e.getClass().getSimpleName() + ")";
                if (r.statusCode() == 200) return checkPng(r.body()) == 1 ? "200 complete PNG" : "200 BROKEN PNG";
                return r.statusCode() + (r.body().length > 0 && r.body()[0] == '{' ? " JSON error" : " other");
            }));
        }
        System.out.println("burst: sent " + count);
        System.out.flush();
        java.util.Map<String, Integer> counts = new java.util.TreeMap<>();
        for (CompletableFuture<String> f : all) counts.merge(f.get(150, TimeUnit.SECONDS), 1, Integer::sum);
        System.out.println("burst: answers " + counts);
        System.exit(0);
    }

    private static void faults(String host, int port, byte[] png) throws Exception {
        String url = "http://" + host + ":" + port;
        HttpClient http = HttpClient.newHttpClient();
        // 1. Clients that disconnect: half a body, then close; a full request, then close before the answer.
        for (int i = 0; i < 50; i++) {
            try (Socket s = new Socket(host, port)) {
                OutputStream out = s.getOutputStream();
                out.write(("POST /v1/translate HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: " + png.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(png, 0, i % 2 == 0 ? png.length / 2 : png.length);
                out.flush();
            }
        }
        System.out.println("faults: 50 clients disconnected mid-request (25 mid-body, 25 before the answer)");
        // 2. Malformed, truncated, bomb.
        byte[] truncated = Arrays.copyOf(png, png.length / 2);
        byte[] corrupt = png.clone();
        for (int i = 100; i < corrupt.length - 20; i += 7) corrupt[i] ^= 0x5a;
        byte[] bomb = bombPng(100_000, 100_000);
        byte[] bigBomb = bombPng(30_000, 30_000);
        Object[][] cases = {{"garbage", "not an image".getBytes()}, {"truncated PNG", truncated}, {"corrupt PNG (IDAT bytes flipped)", corrupt},
                {"bomb PNG 100000x100000", bomb}, {"bomb PNG 30000x30000", bigBomb}, {"empty body", new byte[0]}};
        for (Object[] c : cases) {
            long t = System.nanoTime();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/translate")).header("Content-Type", "image/png")
                    .POST(HttpRequest.BodyPublishers.ofByteArray((byte[]) c[1])).build(), HttpResponse.BodyHandlers.ofString());
            System.out.printf(Locale.ROOT, "faults: %-34s -> %d in %.1f ms %s%n", c[0], r.statusCode(), (System.nanoTime() - t) / 1e6,
                    r.body().length() > 140 ? r.body().substring(0, 140) + "..." : r.body());
        }
        // 3. Still healthy afterwards.
        HttpResponse<byte[]> ok = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/translate")).header("Content-Type", "image/png")
                .POST(HttpRequest.BodyPublishers.ofByteArray(png)).build(), HttpResponse.BodyHandlers.ofByteArray());
        System.out.println("faults: afterwards a good request -> " + ok.statusCode() + (checkPng(ok.body()) == 1 ? " with a complete PNG" : " BROKEN"));
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(url + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        for (String line : metrics.body().split("\n")) {
            if (line.startsWith("samplenorm_http_responses_total") || line.startsWith("samplenorm_inference_requests_")) {
                System.out.println("faults: metric " + line);
            }
        }
    }

    /** 1 when the body is a complete PNG (header readable, IEND at the end), else 0. */
    private static long checkPng(byte[] body) {
        try {
            ImageHeaders.check(body, 1 << 16, 1L << 32);
            return 1;
        } catch (IllegalArgumentException e) {
            return 0;
        }
    }

    private static String percentiles(List<Long> nanos) {
        if (nanos.isEmpty()) return "n/a";
        long[] v = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        return String.format(Locale.ROOT, "p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms", v[(int) (v.length * 0.50)] / 1e6,
                v[(int) (v.length * 0.90)] / 1e6, v[Math.min(v.length - 1, (int) (v.length * 0.99))] / 1e6, v[v.length - 1] / 1e6);
    }

    static byte[] bombPng(int w, int h) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(out, "IHDR", java.nio.ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).array());
        // A real zlib stream of zeros: 64 KiB that inflate to whatever the rows need.
        java.util.zip.Deflater d = new java.util.zip.Deflater(9);
        d.setInput(new byte[1 << 24]);
        d.finish();
        byte[] z = new byte[1 << 16];
        int n = d.deflate(z);
        chunk(out, "IDAT", Arrays.copyOf(z, n));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(java.io.ByteArrayOutputStream out, String type, byte[] data) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(type.getBytes(StandardCharsets.US_ASCII));
        crc.update(data);
        out.writeBytes(java.nio.ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(type.getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(data);
        out.writeBytes(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
