package dev.samplenorm.runtime;

import static dev.samplenorm.runtime.ServingFixtures.image;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.samplenorm.Device;
import dev.samplenorm.environment.ThreadPriority;
import dev.samplenorm.generator.Engine;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.testing.ProcTasks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code computeNice}: the worker threads and the native threads that run their forward passes
 * (OpenCV's CPU thread pool, ONNX Runtime's intra-op threads) run at the lower priority, read from
 * the kernel's view in /proc/self/task; the threads that submit keep theirs.
 *
 * <p>Threads are told apart by their kernel name: a new thread gets its creator's, and the JVM gives
 * a Java thread the first 15 characters of its name, so threads created by this test's workers
 * ({@code samplenorm-w-worker-...}) are named {@value #WORKER_COMM}.
 */
class TranslationServicePriorityTest {

    private static final String WORKER_COMM = "samplenorm-w-wo";
    private static final int NICE = 10;
    /** OpenCV's thread count for these tests: a pool of 2 threads beside the caller, on any machine. */
    private static final int OPENCV_THREADS = 3;

    private static OnnxModel model;
    private int savedThreads;
    private int start;

    @BeforeAll
    static void load() {
        model = ServingFixtures.bundled();
    }

    @BeforeEach
    void pinOpenCvThreads() {
        assumeTrue(ThreadPriority.supported(), ThreadPriority.unsupportedReason());
        start = ThreadPriority.currentNice();
        assumeTrue(start < NICE, "the test process runs at nice " + start + ", not below " + NICE);
        savedThreads = opencv_core.getNumThreads();
        opencv_core.setNumThreads(OPENCV_THREADS);
    }

    /** Restarts OpenCV's pool from the test thread, so that later tests find it at the test thread's priority. */
    @AfterEach
    void restoreOpenCvThreads() {
        opencv_core.setNumThreads(1);
        opencv_core.setNumThreads(savedThreads);
    }

    private static Map<Long, ProcTasks.Task> tasks() {
        return ProcTasks.all().stream().collect(Collectors.toMap(ProcTasks.Task::tid, Function.identity()));
    }

    private static List<ProcTasks.Task> named(String comm) {
        return ProcTasks.all().stream().filter(t -> t.comm().equals(comm)).toList();
    }

    /**
     * Creates OpenCV's pool from a thread of normal priority named {@code comm}, as another part of an
     * application might; returns that thread's id (its native thread may outlive the Java thread a moment).
     */
    private static long createOpenCvPoolFrom(String comm) throws Exception {
        long[] tid = new long[1];
        Thread t = new Thread(() -> {
            tid[0] = ThreadPriority.currentThreadId();
            opencv_core.setNumThreads(1); // stops the pool's threads; this thread's next parallel loop creates them
            opencv_core.setNumThreads(OPENCV_THREADS);
            try (Generator g = Generator.load(model, GeneratorOptions.builder().device(Device.cpu()).build());
                 Mat in = image(128, 128, 1)) {
                g.translate(List.of(in)).forEach(Mat::close);
            }
        }, comm);
        t.start();
        t.join();
        return tid[0];
    }

    private static void translate(TranslationService service, int requests) throws Exception {
        List<CompletableFuture<Mat>> futures = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            try (Mat in = image(128, 128, 10 + i)) {
                futures.add(service.submit(in, Duration.ofMinutes(1)));
            }
        }
        for (CompletableFuture<Mat> f : futures) f.get(60, TimeUnit.SECONDS).close();
    }

    @Test
    void workersAndTheRestartedOpenCvPoolRunAtTheComputeNiceWhileTheSubmittingThreadKeepsItsOwn() throws Exception {
        long creator = createOpenCvPoolFrom("opencv-pool-by");
        List<ProcTasks.Task> earlierPool = named("opencv-pool-by").stream().filter(t -> t.tid() != creator).toList();
        assertEquals(OPENCV_THREADS - 1, earlierPool.size(), "OpenCV's pool, created by another thread: " + earlierPool);
        for (ProcTasks.Task t : earlierPool) assertEquals(start, t.nice(), "the earlier pool runs at normal priority: " + t);

        long testThread = ThreadPriority.currentThreadId();
        try (TranslationService service = TranslationService.builder(model).name("w").instances(Device.cpu(), 1).maxBatchSize(4)
                .computeNice(NICE).restartOpenCvPool(true).build()) {
            Map<Long, ProcTasks.Task> before = tasks();
            translate(service, 12);
            Map<Long, ProcTasks.Task> after = tasks();

            for (ProcTasks.Task t : earlierPool) {
                assertTrue(!after.containsKey(t.tid()), "the worker restarted OpenCV's pool: thread " + t + " has ended");
            }
            List<ProcTasks.Task> compute = named(WORKER_COMM);
            assertEquals(1 + (OPENCV_THREADS - 1), compute.size(), "the worker and the OpenCV pool it created: " + compute);
            for (ProcTasks.Task t : compute) {
                assertEquals(NICE, t.nice(), "compute thread " + t);
                ProcTasks.Task earlier = before.get(t.tid());
                assertTrue(earlier != null, "thread " + t + " existed before the requests");
                if (ProcTasks.hasSchedstat()) assertTrue(t.cpuNanos() > earlier.cpuNanos(), "thread " + t + " ran during the requests");
            }
            assertEquals(start, ProcTasks.read(testThread).nice(), "the submitting thread keeps its priority");
            assertEquals(NICE, service.computeNice());
            assertEquals(List.of(new ThreadPriority.Outcome(ThreadPriority.Status.LOWERED, start, NICE, null)), service.computePriorities());
        }
    }

    @Test
    void withoutTheRestartAnExistingOpenCvPoolIsLeftAsItIs() throws Exception {
        long creator = createOpenCvPoolFrom("opencv-pool-by");
        List<ProcTasks.Task> earlierPool = named("opencv-pool-by").stream().filter(t -> t.tid() != creator).toList();
        assertEquals(OPENCV_THREADS - 1, earlierPool.size(), "OpenCV's pool, created by another thread: " + earlierPool);
        try (TranslationService service = TranslationService.builder(model).name("w").instances(Device.cpu(), 1).maxBatchSize(4)
                .computeNice(NICE).build()) {
            translate(service, 4);
            Map<Long, ProcTasks.Task> after = tasks();
            for (ProcTasks.Task t : earlierPool) {
                ProcTasks.Task now = after.get(t.tid());
                assertTrue(now != null, "the pool was not restarted: thread " + t + " is alive");
                assertEquals(start, now.nice(), "the existing pool keeps its priority: " + now);
            }
            List<ProcTasks.Task> compute = named(WORKER_COMM);
            assertEquals(1, compute.size(), "only the worker; OpenCV's pool is the earlier one: " + compute);
            assertEquals(NICE, compute.get(0).nice());
        }
    }

    @Test
    void aFailedLoadCompletesWhateverTheCloseThrows() {
        CompletableFuture<Object> loaded = new CompletableFuture<>();
        IllegalStateException warmUp = new IllegalStateException("warm-up failed");
        IllegalStateException close = new IllegalStateException("close failed");
        TranslationService.failLoad(loaded, warmUp, () -> {
            throw close;
        });
        assertTrue(loaded.isCompletedExceptionally(), "the building thread does not wait forever");
        java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class, loaded::get);
        assertEquals(warmUp, e.getCause(), "the load's failure is what the build rethrows");
        assertEquals(List.of(close), List.of(warmUp.getSuppressed()), "the close's failure is kept with it");
    }

    @Test
    void everyWorkerLowersItself() throws Exception {
        try (TranslationService service = TranslationService.builder(model).name("w").instances(Device.cpu(), 2).maxBatchSize(2)
                .computeNice(NICE).restartOpenCvPool(true).build()) {
            translate(service, 8);
            List<String> workers = Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                    .filter(n -> n.startsWith("samplenorm-w-worker-")).sorted().toList();
            assertEquals(List.of("samplenorm-w-worker-0-cpu", "samplenorm-w-worker-1-cpu"), workers);
            List<ProcTasks.Task> compute = named(WORKER_COMM);
            assertEquals(2 + (OPENCV_THREADS - 1), compute.size(), "two workers and the OpenCV pool: " + compute);
            for (ProcTasks.Task t : compute) assertEquals(NICE, t.nice(), "compute thread " + t);
            assertEquals(2, service.computePriorities().size());
            for (ThreadPriority.Outcome o : service.computePriorities()) assertEquals(NICE, o.after());
        }
    }

    @Test
    void onnxRuntimeIntraOpThreadsInheritTheComputeNice() throws Exception {
        // OpenCV's pool exists already (created by another thread), and without the restart the worker
        // leaves it as it is: every thread the worker creates is ONNX Runtime's.
        long creator = createOpenCvPoolFrom("opencv-pool-by");
        Set<Long> before = tasks().keySet();
        GeneratorOptions ort = GeneratorOptions.builder().engine(Engine.ONNXRUNTIME).build();
        try (TranslationService service = TranslationService.builder(model).name("w").generatorOptions(ort).instances(Device.cpu(), 1)
                .maxBatchSize(2).computeNice(NICE).build()) {
            List<ProcTasks.Task> opencvPool = named("opencv-pool-by").stream().filter(t -> t.tid() != creator).toList();
            assertEquals(OPENCV_THREADS - 1, opencvPool.size(), "OpenCV's pool is still the earlier one: " + opencvPool);
            Map<Long, ProcTasks.Task> loaded = tasks();
            translate(service, 8);
            List<ProcTasks.Task> created = ProcTasks.all().stream().filter(t -> !before.contains(t.tid()) && t.comm().equals(WORKER_COMM))
                    .toList();
            // The session was created in the worker with OpenCV's thread count as its intra-op count: the
            // worker itself and that many intra-op threads less one (OpenCV's pool is the earlier one).
            assertTrue(created.size() >= OPENCV_THREADS, "the worker and ONNX Runtime's intra-op threads: " + created);
            for (ProcTasks.Task t : created) {
                assertEquals(NICE, t.nice(), "compute thread " + t);
                ProcTasks.Task atLoad = loaded.get(t.tid());
                assertTrue(atLoad != null, "created with the session, before the requests: " + t);
                if (ProcTasks.hasSchedstat()) {
                    assertTrue(t.cpuNanos() > atLoad.cpuNanos(), "ran the requests' forward passes: " + atLoad + " -> " + t);
                }
            }
        }
    }

    /**
     * What follows a completion runs, and submits to other executors, at the priority of the thread
     * that built the service, not at the workers': executors that create their threads on demand
     * (the common fork-join pool, Undertow's task pool) create them from the submitting thread, and
     * they would inherit the compute nice for good.
     */
    @Test
    void completionsAreHandedOnAtTheBuildingThreadsPriority() throws Exception {
        List<Integer> submitters = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.Executor recording = task -> {
            submitters.add(ThreadPriority.currentNice());
            task.run();
        };
        byte[] png;
        try (Mat in = image(128, 128, 3); org.bytedeco.javacpp.BytePointer buf = new org.bytedeco.javacpp.BytePointer()) {
            org.bytedeco.opencv.global.opencv_imgcodecs.imencode(".png", in, buf);
            png = new byte[(int) buf.limit()];
            buf.get(png);
        }
        try (TranslationService service = TranslationService.builder(model).name("w").instances(Device.cpu(), 1).maxBatchSize(2)
                .computeNice(NICE).encodeExecutor(recording).build()) {
            List<CompletableFuture<?>> futures = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                futures.add(service.submitEncoded(png, Duration.ofMinutes(1)));
                try (Mat in = image(128, 128, 20 + i)) {
                    futures.add(service.submit(in, Duration.ofMinutes(1)).thenAcceptAsync(Mat::close, recording));
                }
            }
            for (CompletableFuture<?> f : futures) f.get(60, TimeUnit.SECONDS);
            assertEquals(8, submitters.size(), "every completion was handed on: " + submitters);
            for (int nice : submitters) assertEquals(start, nice, "handed on at the building thread's nice: " + submitters);
            List<ProcTasks.Task> completions = named("samplenorm-w-co");
            assertEquals(1, completions.size(), "one completion thread per worker: " + completions);
            assertEquals(start, completions.get(0).nice());
        }
    }

    @Test
    void withoutComputeNiceNoThreadChanges() throws Exception {
        try (TranslationService service = TranslationService.builder(model).name("w").instances(Device.cpu(), 1).maxBatchSize(2)
                .build()) {
            translate(service, 4);
            List<ProcTasks.Task> workers = named(WORKER_COMM);
            assertTrue(!workers.isEmpty(), "the worker thread exists");
            for (ProcTasks.Task t : workers) assertEquals(start, t.nice(), "thread " + t);
            assertEquals(0, service.computeNice());
            assertEquals(List.of(), service.computePriorities());
        }
    }

    @Test
    void computeNiceOutsideZeroToNineteenIsRefusedNamingTheRange() {
        for (int bad : new int[] {-1, 20}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TranslationService.builder(model).computeNice(bad));
            assertTrue(e.getMessage().contains("computeNice: expected 0") && e.getMessage().contains("to 19") && e.getMessage().contains("got " + bad),
                    e.getMessage());
        }
    }
}
