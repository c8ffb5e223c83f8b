package dev.samplenorm.runtime;

import static dev.samplenorm.runtime.ServingFixtures.blob;
import static dev.samplenorm.runtime.ServingFixtures.bytes;
import static dev.samplenorm.runtime.ServingFixtures.floats;
import static dev.samplenorm.runtime.ServingFixtures.image;
import static dev.samplenorm.runtime.ServingFixtures.relativeL2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.Device;
import dev.samplenorm.SampleNormException;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.onnx.OnnxModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The embedded runtime: batching that follows the statistics mode, back-pressure, deadlines, shutdown, failures. */
class TranslationServiceTest {

    private static final Duration NEVER = Duration.ofHours(1);
    private static OnnxModel model;

    @BeforeAll
    static void load() {
        model = ServingFixtures.bundled();
    }

    private static TranslationService.Builder service(StatisticsMode mode) {
        return TranslationService.builder(model).statistics(mode).instances(Device.cpu(), 1).warmUp(false);
    }

    private static Generator reference(StatisticsMode mode) {
        return Generator.load(model, GeneratorOptions.builder().statistics(mode).device(Device.cpu()).build());
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(60, TimeUnit.SECONDS);
    }

    @ParameterizedTest
    @EnumSource(value = StatisticsMode.class, names = {"SAMPLE", "RUNNING"})
    void mergedBatchesGiveEachImageItsSingleImageGeneratorOutput(StatisticsMode mode) throws Exception {
        ServingFixtures.Recorder metrics = new ServingFixtures.Recorder();
        // A batch leaves when it holds 4 images (the delay never ends it), so its composition is known.
        int[][] sizes = {{128, 128}, {100, 140}, {200, 90}, {128, 128}, {64, 64}, {300, 300}, {128, 96}, {17, 129}};
        List<Mat> images = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) images.add(image(sizes[i][0], sizes[i][1], 100 + i));
        List<CompletableFuture<Mat>> futures = Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<Mat>> blobFutures = new ArrayList<>();
        int[] blobCounts = {1, 2, 1};
        List<Mat> blobs = new ArrayList<>();
        try (TranslationService service = service(mode).maxBatchSize(4).maxQueueDelay(NEVER).queueCapacity(32).metrics(metrics).build()) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<?>> submitted = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int first = t * 2;
                submitted.add(pool.submit(() -> {
                    for (int i = first; i < first + 2; i++) futures.add(service.submit(images.get(i), null));
                }));
            }
            for (Future<?> f : submitted) f.get();
            pool.shutdown();
            for (int i = 0; i < blobCounts.length; i++) {
                blobs.add(blob(blobCounts[i], 3, 128, 128, 200 + i));
                blobFutures.add(service.submitBlob(blobs.get(i), null));
            }
            for (CompletableFuture<Mat> f : futures) get(f);
            for (CompletableFuture<Mat> f : blobFutures) get(f);
        }
        assertEquals(List.of(4, 4, 4), metrics.batchSizes(), "two batches of 4 images, one of 4 blob images");
        try (Generator g = reference(mode)) {
            for (int i = 0; i < images.size(); i++) {
                Mat alone = g.translate(List.of(images.get(i))).get(0);
                Mat served = findOutputFor(images.get(i), images, futures, g);
                assertEquals(alone.cols(), served.cols());
                assertEquals(alone.rows(), served.rows());
                assertArrayEquals(bytes(alone), bytes(served), "image " + i + " (" + sizes[i][0] + "x" + sizes[i][1] + ")");
            }
            for (int i = 0; i < blobs.size(); i++) {
                float[] served = floats(get(blobFutures.get(i)));
                for (int k = 0; k < blobCounts[i]; k++) {
                    try (Mat one = new Mat(new int[] {1, 3, 128, 128}, org.bytedeco.opencv.global.opencv_core.CV_32F)) {
                        float[] in = ServingFixtures.slice(floats(blobs.get(i)), k, 1, 3 * 128 * 128);
                        new org.bytedeco.javacpp.FloatPointer(one.data()).put(in);
                        float[] alone = floats(g.translateBlob(one));
                        float[] mine = ServingFixtures.slice(served, k, 1, 3 * 128 * 128);
                        double d = relativeL2(mine, alone);
                        assertTrue(d <= 1e-6, "blob " + i + " image " + k + ": relative L2 " + d + " from the single-image output");
                    }
                }
            }
        }
    }

    /** The futures were added in submission order per thread; find the one whose input was this image. */
    private static Mat findOutputFor(Mat image, List<Mat> images, List<CompletableFuture<Mat>> futures, Generator g) throws Exception {
        // Each thread submitted images 2t and 2t+1 in order; sizes identify the output (sizes differ except 0 and 3).
        Mat expected = g.translate(List.of(image)).get(0);
        for (CompletableFuture<Mat> f : futures) {
            Mat m = get(f);
            if (m.cols() == image.cols() && m.rows() == image.rows() && java.util.Arrays.equals(bytes(m), bytes(expected))) return m;
        }
        return futures.stream().map(f -> f.join()).filter(m -> m.cols() == image.cols() && m.rows() == image.rows()).findFirst()
                .orElseThrow();
    }

    @ParameterizedTest
    @EnumSource(value = StatisticsMode.class, names = {"BATCH", "INPUT"})
    void theCallersListIsOneBatchNeverMergedNorSplit(StatisticsMode mode) throws Exception {
        ServingFixtures.Recorder metrics = new ServingFixtures.Recorder();
        List<List<Mat>> requests = List.of(
                List.of(image(128, 128, 1), image(90, 150, 2), image(128, 128, 3)),
                List.of(image(64, 64, 4)),
                List.of(image(128, 128, 5), image(200, 100, 6)));
        List<CompletableFuture<List<Mat>>> futures = new ArrayList<>();
        try (TranslationService service = service(mode).maxBatchSize(8).maxQueueDelay(NEVER).metrics(metrics).build()) {
            for (List<Mat> r : requests) futures.add(service.submitAll(r, null));
            assertThrows(IllegalArgumentException.class, () -> service.submitAll(Collections.nCopies(9, requests.get(1).get(0)), null),
                    "more than maxBatchSize images in one request");
            for (CompletableFuture<List<Mat>> f : futures) get(f);
        }
        List<Integer> sizes = new ArrayList<>(metrics.batchSizes());
        Collections.sort(sizes);
        assertEquals(List.of(1, 2, 3), sizes, "one forward pass per request, of the request's own size");
        try (Generator g = reference(mode)) {
            for (int r = 0; r < requests.size(); r++) {
                List<Mat> alone = g.translate(requests.get(r));
                List<Mat> served = get(futures.get(r));
                for (int i = 0; i < alone.size(); i++) assertArrayEquals(bytes(alone.get(i)), bytes(served.get(i)), "request " + r + " image " + i);
            }
        }
    }

    @Test
    void aFullQueueRefusesAtOnceAndQueuedWorkStillFinishes() throws Exception {
        ServingFixtures.Recorder metrics = new ServingFixtures.Recorder();
        List<CompletableFuture<Mat>> queued = new ArrayList<>();
        TranslationService service = service(StatisticsMode.SAMPLE).maxBatchSize(64).maxQueueDelay(NEVER).queueCapacity(3).metrics(metrics)
                .build();
        try (Mat img = image(128, 128, 9)) {
            for (int i = 0; i < 3; i++) queued.add(service.submit(img, null));
            assertEquals(3, service.queueDepth());
            QueueFullException e = assertThrows(QueueFullException.class, () -> service.submit(img, null));
            assertEquals(3, e.capacity());
            assertEquals(1, metrics.rejected);
            // The same refusal before any work of the caller's: the pre-check, and an encoded image not yet decoded.
            assertThrows(QueueFullException.class, service::checkCapacity);
            assertThrows(QueueFullException.class, () -> service.submitEncoded(new byte[] {1, 2, 3}, null),
                    "a full queue refuses even bytes that are no image, since it refuses before decoding");
            assertEquals(3, metrics.rejected);
        } finally {
            assertTrue(service.shutdown(Duration.ofSeconds(60)), "queued work finished within the timeout");
        }
        for (CompletableFuture<Mat> f : queued) assertEquals(128, get(f).cols());
        assertEquals(List.of(3), metrics.batchSizes(), "shutdown dispatched the waiting batch at once");
        assertThrows(ServiceClosedException.class, () -> service.submit(image(8, 8, 1), null));
    }

    @Test
    void aRequestWhoseDeadlinePassesInTheQueueFailsAndNeverRuns() throws Exception {
        ServingFixtures.Recorder metrics = new ServingFixtures.Recorder();
        try (TranslationService service = service(StatisticsMode.SAMPLE).maxBatchSize(64).maxQueueDelay(NEVER).metrics(metrics).build();
             Mat img = image(128, 128, 3)) {
            CompletableFuture<Mat> f = service.submit(img, Duration.ofMillis(50));
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(60, TimeUnit.SECONDS));
            assertInstanceOf(DeadlineExceededException.class, e.getCause());
            assertEquals(0, service.queueDepth());
            assertEquals(1, metrics.timedOut);
            assertEquals(List.of(), metrics.batchSizes(), "nothing ran");
            assertThrows(IllegalArgumentException.class, () -> service.submit(img, Duration.ofMillis(-1)));
        }
    }

    @Test
    void cancellingAQueuedRequestRemovesIt() throws Exception {
        ServingFixtures.Recorder metrics = new ServingFixtures.Recorder();
        try (TranslationService service = service(StatisticsMode.SAMPLE).maxBatchSize(64).maxQueueDelay(NEVER).metrics(metrics).build();
             Mat img = image(128, 128, 3)) {
            CompletableFuture<Mat> f = service.submit(img, null);
            assertEquals(1, service.queueDepth());
            assertTrue(f.cancel(false));
            assertEquals(0, service.queueDepth());
            assertEquals(1, metrics.cancelled, "counted as cancelled");
        }
        assertEquals(List.of(), metrics.batchSizes());
        assertEquals(0, metrics.succeeded + metrics.failed + metrics.timedOut);
    }

    @Test
    void shutdownWithoutTimeFailsWhatIsQueuedAndLosesNothing() throws Exception {
        TranslationService service = service(StatisticsMode.SAMPLE).maxBatchSize(1).maxQueueDelay(Duration.ZERO).queueCapacity(500).build();
        List<CompletableFuture<Mat>> futures = new ArrayList<>();
        try (Mat img = image(128, 128, 5)) {
            for (int i = 0; i < 200; i++) futures.add(service.submit(img, null));
        }
        service.shutdown(Duration.ZERO);
        int ok = 0, closed = 0;
        for (CompletableFuture<Mat> f : futures) {
            assertTrue(f.isDone(), "every request is answered when shutdown returns");
            try {
                f.join().close();
                ok++;
            } catch (java.util.concurrent.CompletionException e) {
                assertInstanceOf(ServiceClosedException.class, e.getCause());
                closed++;
            }
        }
        assertEquals(200, ok + closed);
        assertTrue(closed > 0, "200 forward passes do not finish in no time");
        assertFalse(service.isAccepting());
    }

    @Test
    void aModelErrorFailsOnlyItsBatchAndTheWorkerGoesOn() throws Exception {
        ServingFixtures.Recorder metrics = new ServingFixtures.Recorder();
        try (TranslationService service = TranslationService.builder(ServingFixtures.symbolicUnet()).statistics(StatisticsMode.RUNNING)
                .instances(Device.cpu(), 1).maxBatchSize(4).maxQueueDelay(Duration.ZERO).metrics(metrics).build()) {
            CompletableFuture<Mat> before = service.submitBlob(blob(1, 3, 32, 32, 1), null);
            CompletableFuture<Mat> bad = service.submitBlob(blob(2, 3, 4, 4, 2), null);
            CompletableFuture<Mat> after = service.submitBlob(blob(1, 3, 32, 32, 3), null);
            assertEquals(32, get(before).size(3));
            ExecutionException e = assertThrows(ExecutionException.class, () -> bad.get(60, TimeUnit.SECONDS));
            assertInstanceOf(SampleNormException.class, e.getCause());
            assertEquals(32, get(after).size(3));
            assertEquals(32, get(service.submitBlob(blob(1, 3, 32, 32, 4), null)).size(2), "the worker still runs");
            assertEquals(1, metrics.failed);
            assertEquals(3, metrics.succeeded);
        }
    }

    @Test
    void encodedImagesAreCheckedBeforeDecodingAndTranslatedToPng() throws Exception {
        byte[] png = resource("dev/samplenorm/models/samples/sketch_01.png");
        try (TranslationService service = service(StatisticsMode.SAMPLE).maxImageSize(4096, 1 << 22).build();
             Generator g = reference(StatisticsMode.SAMPLE)) {
            byte[] out = get(service.submitEncoded(png, null));
            try (Mat served = decode(out); Mat in = decode(png)) {
                assertArrayEquals(bytes(g.translate(List.of(in)).get(0)), bytes(served));
            }
            assertThrows(ImageTooLargeException.class, () -> service.submitEncoded(bombPng(100_000, 100_000), null));
            assertThrows(IllegalArgumentException.class, () -> service.submitEncoded(java.util.Arrays.copyOf(png, png.length / 2), null));
            assertThrows(IllegalArgumentException.class, () -> service.submitEncoded("not an image".getBytes(), null));
            assertEquals(0, service.queueDepth());
        }
    }

    @Test
    void imageHeadersGiveTheDeclaredSizeOfPngAndJpeg() throws IOException {
        ImageHeaders.Info png = ImageHeaders.read(resource("dev/samplenorm/models/samples/sketch_01.png"));
        assertEquals("PNG", png.format());
        try (Mat img = image(37, 21, 1); org.bytedeco.javacpp.BytePointer buf = new org.bytedeco.javacpp.BytePointer()) {
            assertTrue(org.bytedeco.opencv.global.opencv_imgcodecs.imencode(".jpg", img, buf));
            byte[] jpeg = new byte[(int) buf.limit()];
            buf.get(jpeg);
            assertEquals(new ImageHeaders.Info("JPEG", 37, 21), ImageHeaders.check(jpeg, 100, 10_000));
            assertThrows(ImageTooLargeException.class, () -> ImageHeaders.check(jpeg, 36, 10_000));
        }
        assertEquals(new ImageHeaders.Info("PNG", 100_000, 100_000), ImageHeaders.read(bombPng(100_000, 100_000)));
        assertThrows(ImageTooLargeException.class, () -> ImageHeaders.check(bombPng(100_000, 100_000), 8192, 1 << 24));
        assertThrows(IllegalArgumentException.class, () -> ImageHeaders.read(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xDA, 0, 2}));
    }

    @Test
    void theRuntimeNeedsNoMicrometerUnlessTheCallerAsksForIt() throws IOException {
        // Only MicrometerServiceMetrics may refer to Micrometer: the others load without it on the class path.
        Path dir = Path.of("target/classes/dev/samplenorm/runtime");
        List<Path> classes;
        try (Stream<Path> s = Files.list(dir)) {
            classes = s.filter(p -> p.toString().endsWith(".class")).toList();
        }
        assertTrue(classes.size() >= 8, "found the runtime classes");
        for (Path c : classes) {
            boolean micrometer = new String(Files.readAllBytes(c), java.nio.charset.StandardCharsets.ISO_8859_1).contains("io/micrometer");
            assertEquals(c.getFileName().toString().startsWith("MicrometerServiceMetrics"), micrometer, c.getFileName() + " refers to Micrometer");
        }
        try (TranslationService service = service(StatisticsMode.SAMPLE).build(); Mat img = image(128, 128, 1)) {
            assertEquals(128, service.translate(img).rows(), "runs with metrics off (the default)");
        }
    }

    /** A PNG whose header claims {@code w x h}, with a tiny body: decoding it would allocate w * h * 3 bytes. */
    public static byte[] bombPng(int w, int h) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        java.nio.ByteBuffer ihdr = java.nio.ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0)
                .put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IDAT", new byte[] {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(java.io.ByteArrayOutputStream out, String type, byte[] data) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(type.getBytes());
        crc.update(data);
        out.writeBytes(java.nio.ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(type.getBytes());
        out.writeBytes(data);
        out.writeBytes(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = TranslationServiceTest.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) throw new IOException("missing resource " + name);
            return in.readAllBytes();
        }
    }

    static Mat decode(byte[] encoded) {
        try (Mat buf = new Mat(1, encoded.length, org.bytedeco.opencv.global.opencv_core.CV_8U, new org.bytedeco.javacpp.BytePointer(encoded))) {
            return org.bytedeco.opencv.global.opencv_imgcodecs.imdecode(buf, org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR);
        }
    }

    @AfterAll
    static void done() {
        model = null;
    }
}
