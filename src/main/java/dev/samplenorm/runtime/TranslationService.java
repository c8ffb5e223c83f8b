package dev.samplenorm.runtime;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8U;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.environment.ThreadPriority;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.onnx.ModelInfo;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.TensorInfo;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * A translation service for Java applications: a pool of {@link Generator} instances, each driven by
 * its own worker thread, behind one bounded request queue and a dynamic micro-batcher (in the style of
 * Triton's dynamic batcher and DJL Serving's WorkLoadManager).
 *
 * <pre>{@code
 * try (TranslationService service = TranslationService.builder(OnnxModel.read(path))
 *         .statistics(StatisticsMode.SAMPLE).instances(Device.cpu(), 1)
 *         .maxBatchSize(8).maxQueueDelay(Duration.ofMillis(5)).queueCapacity(64).build()) {
 *     CompletableFuture<Mat> out = service.submit(image, Duration.ofSeconds(2));
 * }
 * }</pre>
 *
 * <p><b>Batching follows the statistics mode.</b> Under {@link StatisticsMode#SAMPLE} and
 * {@link StatisticsMode#RUNNING} no image's output depends on another image, so the batcher merges
 * queued requests (up to {@code maxBatchSize} images, waiting at most {@code maxQueueDelay} for more,
 * dispatching at once when a preferred batch size is reached). Under {@link StatisticsMode#BATCH} and
 * {@link StatisticsMode#INPUT} the caller's list of images is the batch: a request runs alone, never
 * merged with another and never split. Requests are merged only when they can share one forward pass:
 * images with images (of one size when the model leaves H and W open), blobs with blobs of one shape.
 *
 * <p><b>Back-pressure and deadlines.</b> A submit to a full queue fails at once with
 * {@link QueueFullException}. A request whose deadline passes while it is queued fails with
 * {@link DeadlineExceededException} and never runs; cancelling a returned future removes a queued
 * request. <b>Failures</b> in one batch fail that batch's requests only. <b>Shutdown</b>
 * ({@link #shutdown(Duration)}, {@link #close()}) stops accepting, finishes queued work within the
 * timeout, then fails what remains with {@link ServiceClosedException}.
 *
 * <p><b>Compute priority.</b> Each worker thread loads and warms up its own generator. With
 * {@link Builder#computeNice(int)} above 0 it first lowers its own OS priority (Linux nice value), so
 * that the threads it creates inherit the lower priority too: ONNX Runtime's intra-op threads (created
 * with the session) and OpenCV's CPU thread pool, if the worker is the first to run a parallel loop
 * (the pool is one per process; a pool that exists already keeps its priority unless
 * {@link Builder#restartOpenCvPool(boolean)} asks the first worker to restart it). The futures are
 * then completed by threads of the building thread's priority, so that the work that follows a
 * completion (and the threads other pools create for it) does not inherit the lower priority. The
 * threads that receive requests (an HTTP server's I/O threads) keep theirs.
 *
 * <p>Lifetimes: OpenCV's pool outlives the service (after {@link #close()} or a failed
 * {@link Builder#build()} its threads keep the nice value they were created with, until something
 * restarts the pool); so does samplenorm's own native kernel thread pool, which the first thread that
 * runs a pooled kernel creates at its own priority and which lives as long as the process.
 *
 * <p><b>Ownership.</b> Submitted Mats are copied at submission (the caller may close them at once);
 * the Mats that futures complete with belong to the caller. All methods are thread-safe.
 */
public final class TranslationService implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(TranslationService.class.getName());

    /** How long {@link #close()} lets queued work finish. */
    public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);

    private enum State { RUNNING, DRAINING, CLOSED }

    private final String name;
    private final StatisticsMode mode;
    private final boolean mergeable;
    private final ModelInfo info;
    private final int modelC, modelH, modelW;
    private final int maxBatchSize;
    private final long maxQueueDelayNanos;
    private final int[] preferred; // ascending
    private final int capacity;
    private final Duration defaultTimeout;
    private final int maxImageSide;
    private final long maxImagePixels;
    private final ServiceMetrics metrics;
    private final Executor encodeExecutor;
    private final List<Device> devices = new ArrayList<>();
    private final int computeNice;
    private final List<ThreadPriority.Outcome> priorities = new ArrayList<>();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Request<?>> queue = new ArrayDeque<>();
    private boolean gathering; // one worker at a time forms a batch (guarded by lock)
    private State state = State.RUNNING; // guarded by lock
    private final List<Thread> workers = new ArrayList<>();
    private final ScheduledThreadPoolExecutor timers;
    /**
     * With a compute nice: the threads that complete the futures, at the priority of the thread that
     * built the service, so that what runs after a completion (and the threads it creates in other
     * pools) does not inherit the workers' lower priority. Null without a compute nice: workers
     * complete the futures themselves.
     */
    private final ThreadPoolExecutor completions;

    private TranslationService(Builder b, List<Worker> started) {
        List<Generator> generators = started.stream().map(Worker::generator).toList();
        this.name = b.name;
        this.mode = b.options.statistics();
        this.mergeable = mode == StatisticsMode.SAMPLE || mode == StatisticsMode.RUNNING;
        this.info = generators.get(0).modelInfo();
        TensorInfo in = info.input();
        this.modelC = (int) in.dim(1);
        this.modelH = (int) in.dim(2);
        this.modelW = (int) in.dim(3);
        this.maxBatchSize = b.maxBatchSize;
        this.maxQueueDelayNanos = b.maxQueueDelay.toNanos();
        this.preferred = b.preferred.stream().mapToInt(Integer::intValue).filter(p -> p <= b.maxBatchSize).toArray();
        this.capacity = b.queueCapacity;
        this.defaultTimeout = b.defaultTimeout;
        this.maxImageSide = b.maxImageSide;
        this.maxImagePixels = b.maxImagePixels;
        this.metrics = b.metrics;
        this.encodeExecutor = b.encodeExecutor;
        this.computeNice = b.computeNice;
        this.timers = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "samplenorm-" + name + "-deadlines");
            t.setDaemon(true);
            return t;
        });
        timers.setRemoveOnCancelPolicy(true);
        // Pool threads are created by the thread that submits the first task: create them here, in the
        // building thread, rather than later in a worker at the compute priority.
        timers.prestartAllCoreThreads();
        if (computeNice > 0) {
            int n = started.size();
            AtomicInteger count = new AtomicInteger();
            this.completions = new ThreadPoolExecutor(n, n, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "samplenorm-" + name + "-completion-" + count.getAndIncrement());
                t.setDaemon(true);
                return t;
            });
            completions.prestartAllCoreThreads();
        } else {
            this.completions = null;
        }
        metrics.bindQueueDepth(this::queueDepth);
        for (Worker w : started) {
            devices.add(w.generator().device());
            if (w.priority != null) priorities.add(w.priority);
            workers.add(w.thread);
        }
    }

    /** A builder for a service running {@code model}. */
    public static Builder builder(OnnxModel model) {
        return new Builder(Objects.requireNonNull(model, "model"));
    }

    // ------------------------------------------------------------------------------------ submit

    /** Translates one 8-bit BGR image (CV_8UC3), with the default timeout. */
    public CompletableFuture<Mat> submit(Mat image) {
        return submit(image, defaultTimeout);
    }

    /**
     * Translates one 8-bit BGR image (CV_8UC3) into a new 8-bit image owned by the caller.
     *
     * @param timeout how long the request may wait in the queue; null for no deadline
     * @throws QueueFullException when the queue is full
     * @throws ServiceClosedException after {@link #shutdown} or {@link #close}
     * @throws IllegalArgumentException for an image the model cannot take
     */
    public CompletableFuture<Mat> submit(Mat image, Duration timeout) {
        checkImage(image, 0);
        Mat copy = image.clone();
        return enqueue(new Request<>(Kind.IMAGES, imageKey(copy), List.of(copy), null, 1, deadline(timeout), out -> out.get(0)));
    }

    /**
     * Translates a list of 8-bit BGR images as one request. Under {@code batch} and {@code input} the
     * list is one batch of the model (at most {@code maxBatchSize} images; of one size where the model
     * leaves H and W open); under {@code sample} and {@code running} it may share a batch with others.
     */
    public CompletableFuture<List<Mat>> submitAll(List<Mat> images, Duration timeout) {
        Objects.requireNonNull(images, "images");
        if (images.isEmpty()) throw new IllegalArgumentException("images: expected at least one image, got an empty list");
        if (images.size() > maxBatchSize) {
            throw new IllegalArgumentException("images: expected at most maxBatchSize = " + maxBatchSize + " images per request, got "
                    + images.size());
        }
        for (int i = 0; i < images.size(); i++) checkImage(images.get(i), i);
        BatchKey key = imageKey(images.get(0));
        for (int i = 1; i < images.size(); i++) {
            if (!imageKey(images.get(i)).equals(key)) {
                throw new IllegalArgumentException("images: the model has no fixed input size, so the images of one request must have one size;"
                        + " image 0 is " + images.get(0).cols() + "x" + images.get(0).rows() + ", image " + i + " is "
                        + images.get(i).cols() + "x" + images.get(i).rows());
            }
        }
        List<Mat> copies = new ArrayList<>(images.size());
        for (Mat m : images) copies.add(m.clone());
        return enqueue(new Request<>(Kind.IMAGES, key, copies, null, copies.size(), deadline(timeout), out -> out));
    }

    /**
     * Translates a float32 NCHW blob in model units (see {@link Generator#translateBlob}) into a new
     * output blob owned by the caller. Its N images count as one request: one batch under {@code batch}
     * and {@code input}; under {@code sample} and {@code running} it may share a batch with other blobs
     * of the same shape.
     */
    public CompletableFuture<Mat> submitBlob(Mat blob, Duration timeout) {
        Objects.requireNonNull(blob, "blob");
        if (blob.isNull() || blob.empty() || blob.dims() != 4 || blob.type() != CV_32F) {
            throw new IllegalArgumentException("blob: expected a 4-D float32 NCHW blob (CV_32F, dims = 4), got "
                    + (blob.isNull() || blob.empty() ? "an empty Mat" : "dims = " + blob.dims() + ", type = " + blob.type()));
        }
        int n = blob.size(0), c = blob.size(1), h = blob.size(2), w = blob.size(3);
        checkBlobShape(n, c, h, w);
        Mat copy = blob.clone(); // continuous, and the caller may close its own
        return enqueue(new Request<>(Kind.BLOB, new BatchKey(Kind.BLOB, c, h, w), null, copy, n, deadline(timeout), out -> out.get(0)));
    }

    /**
     * Checks that a blob of shape [n, c, h, w] is one this service takes.
     *
     * @throws IllegalArgumentException naming the expected shape
     */
    public void checkBlobShape(int n, int c, int h, int w) {
        if (n < 1 || n > maxBatchSize || c < 1 || h < 1 || w < 1 || (modelC > 0 && c != modelC) || (modelH > 0 && h != modelH)
                || (modelW > 0 && w != modelW)) {
            throw new IllegalArgumentException("expected a blob of shape [N, " + dim(modelC) + ", " + dim(modelH) + ", " + dim(modelW)
                    + "] with 1 <= N <= " + maxBatchSize + " (maxBatchSize), got [" + n + ", " + c + ", " + h + ", " + w + "]");
        }
        if ((long) n * c * h * w > Integer.MAX_VALUE / 4 || (long) h * w > maxImagePixels) {
            throw new ImageTooLargeException("expected at most " + maxImagePixels + " pixels per image and under 2 GiB per blob, got ["
                    + n + ", " + c + ", " + h + ", " + w + "]");
        }
    }

    /**
     * Translates one encoded PNG or JPEG image into a PNG. The header is checked against the image size
     * limits before decoding (a decompression bomb is refused with {@link ImageTooLargeException});
     * decoding happens in the calling thread, PNG encoding of the output on the encode executor.
     *
     * @throws IllegalArgumentException when the bytes are not a complete PNG or JPEG image
     */
    public CompletableFuture<byte[]> submitEncoded(byte[] encoded, Duration timeout) {
        checkCapacity(); // a full queue refuses before the decoding, not after
        Mat image = decode(encoded);
        CompletableFuture<Mat> inner;
        try {
            checkImage(image, 0);
            inner = enqueue(new Request<>(Kind.IMAGES, imageKey(image), List.of(image), null, 1, deadline(timeout), out -> out.get(0)));
        } catch (RuntimeException e) {
            image.close();
            throw e;
        }
        CompletableFuture<byte[]> outer = inner.thenApplyAsync(m -> {
            try {
                return encodePng(m);
            } finally {
                m.close();
            }
        }, encodeExecutor);
        outer.whenComplete((v, e) -> {
            if (outer.isCancelled()) inner.cancel(false);
        });
        return outer;
    }

    /** Blocking convenience: {@link #submit(Mat, Duration)}, then waits; errors are rethrown unwrapped. */
    public Mat translate(Mat image, Duration timeout) {
        return await(submit(image, timeout));
    }

    /** Blocking convenience with the default timeout. */
    public Mat translate(Mat image) {
        return await(submit(image, defaultTimeout));
    }

    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(false);
            Thread.currentThread().interrupt();
            throw new CompletionException("interrupted while waiting for the translation", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) throw r;
            if (c instanceof Error err) throw err;
            throw new CompletionException(c);
        }
    }

    private void checkImage(Mat m, int i) {
        if (m == null || m.isNull() || m.empty()) throw new IllegalArgumentException("image " + i + ": expected an 8-bit BGR image, got an empty Mat");
        if (m.dims() != 2 || m.type() != CV_8UC3) {
            throw new IllegalArgumentException("image " + i + ": expected a 2-D 8-bit BGR Mat (CV_8UC3), got dims = " + m.dims() + ", type = "
                    + m.type());
        }
        if (m.cols() > maxImageSide || m.rows() > maxImageSide || (long) m.cols() * m.rows() > maxImagePixels) {
            throw new ImageTooLargeException("image " + i + " is " + m.cols() + "x" + m.rows() + "; expected at most " + maxImageSide
                    + " per side and " + maxImagePixels + " pixels");
        }
        if (modelC > 0 && modelC != 3) {
            throw new IllegalArgumentException("the model takes " + modelC + "-channel input; submit float blobs with submitBlob()");
        }
    }

    private Mat decode(byte[] encoded) {
        ImageHeaders.check(encoded, maxImageSide, maxImagePixels);
        Mat image;
        try (Mat buf = new Mat(1, encoded.length, CV_8U, new BytePointer(encoded))) {
            image = opencv_imgcodecs.imdecode(buf, opencv_imgcodecs.IMREAD_COLOR);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("expected a complete PNG or JPEG image; OpenCV could not decode it: " + e.getMessage());
        }
        if (image == null || image.isNull() || image.empty()) {
            if (image != null) image.close();
            throw new IllegalArgumentException("expected a complete PNG or JPEG image; OpenCV could not decode it (truncated or corrupt?)");
        }
        return image;
    }

    /** Encodes an 8-bit image as PNG (fast compression). */
    public static byte[] encodePng(Mat image) {
        try (BytePointer out = new BytePointer();
             org.bytedeco.javacpp.IntPointer params = new org.bytedeco.javacpp.IntPointer(opencv_imgcodecs.IMWRITE_PNG_COMPRESSION, 1)) {
            if (!opencv_imgcodecs.imencode(".png", image, out, params)) {
                throw new IllegalStateException("OpenCV could not encode the output as PNG");
            }
            byte[] bytes = new byte[(int) out.limit()];
            out.get(bytes);
            return bytes;
        }
    }

    private long deadline(Duration timeout) {
        if (timeout == null) return Long.MAX_VALUE;
        if (timeout.isNegative()) throw new IllegalArgumentException("timeout: expected >= 0 or null, got " + timeout);
        long nanos;
        try {
            nanos = timeout.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
        long now = System.nanoTime();
        return nanos > Long.MAX_VALUE - now ? Long.MAX_VALUE : now + nanos;
    }

    private BatchKey imageKey(Mat m) {
        // A fixed-size model resizes every image, so all images share a batch; otherwise only equal sizes do.
        return modelH > 0 && modelW > 0 ? new BatchKey(Kind.IMAGES, 3, 0, 0) : new BatchKey(Kind.IMAGES, 3, m.rows(), m.cols());
    }

    private <T> CompletableFuture<T> enqueue(Request<T> r) {
        lock.lock();
        try {
            try {
                refuseUnlessRoom();
            } catch (RuntimeException e) {
                r.release();
                throw e;
            }
            queue.addLast(r);
            metrics.requestAccepted();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (r.deadline != Long.MAX_VALUE) {
            r.timer = timers.schedule(() -> expire(r), Math.max(0, r.deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
        r.future.whenComplete((v, e) -> {
            if (r.future.isCancelled()) withdraw(r);
        });
        return r.future;
    }

    private void expire(Request<?> r) {
        lock.lock();
        try {
            if (!queue.remove(r)) return;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        timeOut(r);
    }

    private void timeOut(Request<?> r) {
        metrics.requestTimedOut();
        r.release();
        r.future.completeExceptionally(new DeadlineExceededException("the request waited " + ms(System.nanoTime() - r.enqueued)
                + " ms in the queue and passed its deadline before it could run"));
    }

    private void withdraw(Request<?> r) {
        boolean removed;
        lock.lock();
        try {
            removed = queue.remove(r);
            if (removed) changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (removed) {
            if (r.timer != null) r.timer.cancel(false);
            r.release();
            metrics.requestCancelled();
        }
    }

    // ------------------------------------------------------------------------------------ workers

    private void work(Generator generator) {
        try {
            while (true) {
                List<Request<?>> batch = nextBatch();
                if (batch == null) return;
                run(generator, batch);
            }
        } finally {
            generator.close();
        }
    }

    /** The next batch to run, formed under the lock; null when the service is shutting down and the queue is empty. */
    private List<Request<?>> nextBatch() {
        List<Request<?>> expired = new ArrayList<>();
        lock.lock();
        try {
            while (true) {
                while (gathering || queue.isEmpty()) {
                    if (queue.isEmpty() && state != State.RUNNING) return null;
                    changed.awaitUninterruptibly();
                }
                gathering = true;
                try {
                    List<Request<?>> batch = gather(expired);
                    if (batch != null) return batch;
                } finally {
                    gathering = false;
                    changed.signalAll();
                }
            }
        } finally {
            lock.unlock();
            for (Request<?> r : expired) timeOut(r); // outside the lock: completing runs the callers' callbacks
        }
    }

    /** Forms one batch from the queue (lock held); null when the queue emptied meanwhile. */
    private List<Request<?>> gather(List<Request<?>> expired) {
        while (true) {
            purgeExpired(expired);
            Request<?> head = queue.peekFirst();
            if (head == null) return null;
            if (!mergeable) {
                queue.pollFirst();
                return List.of(head);
            }
            List<Request<?>> selected = new ArrayList<>();
            int total = 0;
            for (Request<?> r : queue) {
                if (total == maxBatchSize) break;
                if (r.key.equals(head.key) && total + r.count <= maxBatchSize) {
                    selected.add(r);
                    total += r.count;
                }
            }
            long now = System.nanoTime();
            boolean due = now - head.enqueued >= maxQueueDelayNanos || state != State.RUNNING;
            int target = total >= maxBatchSize ? total : largestPreferredAtMost(total);
            if (target > 0 || due) {
                if (target > 0 && target < total) selected = trim(selected, target);
                for (Request<?> r : selected) queue.remove(r);
                return selected;
            }
            long wait = head.enqueued + maxQueueDelayNanos - now;
            try {
                changed.awaitNanos(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private int largestPreferredAtMost(int total) {
        int best = 0;
        for (int p : preferred) {
            if (p <= total) best = p;
        }
        return best;
    }

    private static List<Request<?>> trim(List<Request<?>> selected, int target) {
        List<Request<?>> out = new ArrayList<>();
        int total = 0;
        for (Request<?> r : selected) {
            if (total + r.count > target) continue;
            out.add(r);
            total += r.count;
        }
        return out;
    }

    /** Moves queued requests whose deadline has passed (their timer has not fired yet) to {@code expired}. */
    private void purgeExpired(List<Request<?>> expired) {
        long now = System.nanoTime();
        for (Iterator<Request<?>> it = queue.iterator(); it.hasNext(); ) {
            Request<?> r = it.next();
            if (r.deadline - now <= 0) {
                it.remove();
                if (r.timer != null) r.timer.cancel(false);
                expired.add(r);
            }
        }
    }

    private void run(Generator generator, List<Request<?>> batch) {
        long start = System.nanoTime();
        List<Request<?>> live = new ArrayList<>(batch.size());
        for (Request<?> r : batch) {
            if (r.timer != null) r.timer.cancel(false);
            if (r.future.isDone()) { // cancelled by its caller after it left the queue, before its batch ran
                r.release();
                if (r.future.isCancelled()) metrics.requestCancelled();
                continue;
            }
            metrics.queueTime(start - r.enqueued);
            live.add(r);
        }
        if (live.isEmpty()) return;
        int total = 0;
        for (Request<?> r : live) total += r.count;
        List<List<Mat>> outputs;
        try {
            outputs = live.get(0).kind == Kind.IMAGES ? runImages(generator, live, total) : runBlobs(generator, live, total);
        } catch (Throwable t) {
            long end = System.nanoTime();
            LOG.log(Level.WARNING, "a batch of " + total + " image(s) failed; its " + live.size() + " request(s) fail, the worker goes on: " + t);
            for (Request<?> r : live) {
                r.release();
                metrics.requestFailed(end - r.enqueued);
                complete(() -> r.future.completeExceptionally(t));
            }
            if (t instanceof Error e && !(e instanceof OutOfMemoryError)) throw e;
            return;
        }
        long end = System.nanoTime();
        metrics.batchComputed(total, end - start);
        for (int i = 0; i < live.size(); i++) {
            Request<?> r = live.get(i);
            r.release();
            metrics.requestSucceeded(end - r.enqueued); // before completion, so a caller that saw its output sees the count
            List<Mat> out = outputs.get(i);
            complete(() -> r.finish(out));
        }
    }

    /** Completes a future: in the completion threads where there are any, else in the calling worker. */
    private void complete(Runnable completion) {
        if (completions != null) {
            completions.execute(completion);
        } else {
            completion.run();
        }
    }

    private static List<List<Mat>> runImages(Generator generator, List<Request<?>> live, int total) {
        List<Mat> inputs = new ArrayList<>(total);
        for (Request<?> r : live) inputs.addAll(r.images);
        List<Mat> out = generator.translate(inputs);
        List<List<Mat>> split = new ArrayList<>(live.size());
        int at = 0;
        for (Request<?> r : live) {
            split.add(List.copyOf(out.subList(at, at + r.count)));
            at += r.count;
        }
        return split;
    }

    private static List<List<Mat>> runBlobs(Generator generator, List<Request<?>> live, int total) {
        if (live.size() == 1) return List.of(List.of(generator.translateBlob(live.get(0).blob)));
        Mat first = live.get(0).blob;
        int c = first.size(1), h = first.size(2), w = first.size(3);
        long imageBytes = 4L * c * h * w;
        try (Mat merged = new Mat(new int[] {total, c, h, w}, CV_32F)) {
            long at = 0;
            for (Request<?> r : live) {
                long bytes = imageBytes * r.count;
                Pointer.memcpy(merged.data().position(at), r.blob.data(), bytes);
                at += bytes;
            }
            try (Mat out = generator.translateBlob(merged)) {
                int oc = out.size(1), oh = out.size(2), ow = out.size(3);
                long outImageBytes = 4L * oc * oh * ow;
                List<List<Mat>> split = new ArrayList<>(live.size());
                long from = 0;
                for (Request<?> r : live) {
                    Mat part = new Mat(new int[] {r.count, oc, oh, ow}, CV_32F);
                    long bytes = outImageBytes * r.count;
                    Pointer.memcpy(part.data(), out.data().position(from), bytes);
                    from += bytes;
                    split.add(List.of(part));
                }
                return split;
            }
        }
    }

    // ------------------------------------------------------------------------------------ shutdown

    /**
     * Stops accepting requests, lets queued and running work finish for up to {@code timeout}, then
     * fails what is still queued with {@link ServiceClosedException}, waits for running batches and
     * closes the generators. Idempotent.
     *
     * @return true when every queued request finished within the timeout
     */
    public boolean shutdown(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        lock.lock();
        try {
            if (state == State.RUNNING) state = State.DRAINING;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        long end = System.nanoTime() + timeout.toNanos();
        boolean drained = true;
        for (Thread t : workers) {
            long left = end - System.nanoTime();
            try {
                if (left > 0) t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            drained &= !t.isAlive();
        }
        List<Request<?>> left = new ArrayList<>();
        lock.lock();
        try {
            state = State.CLOSED;
            left.addAll(queue);
            queue.clear();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        for (Request<?> r : left) {
            if (r.timer != null) r.timer.cancel(false);
            r.release();
            r.future.completeExceptionally(new ServiceClosedException("the translation service '" + name
                    + "' shut down before this request could run (shutdown timeout " + timeout + ")"));
        }
        boolean interrupted = false;
        for (Thread t : workers) {
            while (t.isAlive()) {
                try {
                    t.join(); // a running batch always ends; its generator closes after it
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        timers.shutdownNow();
        if (completions != null) {
            completions.shutdown(); // the completions the workers handed over still run
            while (true) {
                try {
                    if (completions.awaitTermination(1, TimeUnit.MINUTES)) break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        metrics.close();
        return drained && left.isEmpty();
    }

    /** {@link #shutdown(Duration)} with {@link #DEFAULT_SHUTDOWN_TIMEOUT}. */
    @Override
    public void close() {
        shutdown(DEFAULT_SHUTDOWN_TIMEOUT);
    }

    // ------------------------------------------------------------------------------------ state

    /** True until shutdown begins. */
    public boolean isAccepting() {
        lock.lock();
        try {
            return state == State.RUNNING;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Refuses at once, as {@code submit} would, when the queue is full or the service no longer
     * accepts work; for callers that want to refuse before doing work of their own (reading or
     * decoding a request). A refusal counts as a rejected request. Passing it does not reserve a
     * place: {@code submit} checks again.
     *
     * @throws QueueFullException when the queue is full
     * @throws ServiceClosedException when the service is shutting down or closed
     */
    public void checkCapacity() {
        lock.lock();
        try {
            refuseUnlessRoom();
        } finally {
            lock.unlock();
        }
    }

    /** The admission rule of {@link #enqueue} and {@link #checkCapacity} (lock held). */
    private void refuseUnlessRoom() {
        if (state != State.RUNNING) {
            throw new ServiceClosedException("the translation service '" + name + "' is " + (state == State.DRAINING ? "shutting down" : "closed")
                    + " and accepts no new requests");
        }
        if (queue.size() >= capacity) {
            metrics.requestRejected();
            throw new QueueFullException(capacity);
        }
    }

    /** Requests waiting in the queue. */
    public int queueDepth() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    public String name() {
        return name;
    }

    public StatisticsMode statistics() {
        return mode;
    }

    /** What the loaded model contains. */
    public ModelInfo modelInfo() {
        return info;
    }

    /** The model's input shape; -1 where it leaves an extent open (N always is). */
    public int[] inputShape() {
        return new int[] {-1, modelC, modelH, modelW};
    }

    public int maxBatchSize() {
        return maxBatchSize;
    }

    public int queueCapacity() {
        return capacity;
    }

    /** The nice value the worker threads were asked to run at ({@link Builder#computeNice}); 0 = unchanged. */
    public int computeNice() {
        return computeNice;
    }

    /**
     * What lowering its priority did in each worker thread, in worker order: the nice value it runs at,
     * read back from the OS, or why the platform has none ({@link ThreadPriority.Status#UNSUPPORTED}).
     * Empty where {@link #computeNice()} is 0.
     */
    public List<ThreadPriority.Outcome> computePriorities() {
        return List.copyOf(priorities);
    }

    /** The device of each worker, resolved at load. */
    public List<Device> devices() {
        return List.copyOf(devices);
    }

    private static String dim(int d) {
        return d > 0 ? Integer.toString(d) : "any";
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    @Override
    public String toString() {
        return "TranslationService{" + name + ", " + mode.cliName() + ", workers " + devices + ", maxBatchSize " + maxBatchSize
                + ", queue " + capacity + (computeNice > 0 ? ", compute nice " + computeNice : "") + "}";
    }

    // ------------------------------------------------------------------------------------ requests

    private enum Kind { IMAGES, BLOB }

    /** What must match for requests to share one forward pass. */
    private record BatchKey(Kind kind, int c, int h, int w) {}

    private static final class Request<T> {
        final Kind kind;
        final BatchKey key;
        final List<Mat> images;
        final Mat blob;
        final int count;
        final long enqueued = System.nanoTime();
        final long deadline;
        final Function<List<Mat>, T> result;
        final CompletableFuture<T> future = new CompletableFuture<>();
        volatile ScheduledFuture<?> timer;
        private boolean released;

        Request(Kind kind, BatchKey key, List<Mat> images, Mat blob, int count, long deadline, Function<List<Mat>, T> result) {
            this.kind = kind;
            this.key = key;
            this.images = images;
            this.blob = blob;
            this.count = count;
            this.deadline = deadline;
            this.result = result;
        }

        /** Frees the copied inputs. */
        synchronized void release() {
            if (released) return;
            released = true;
            if (images != null) images.forEach(Mat::close);
            if (blob != null) blob.close();
        }

        void finish(List<Mat> outputs) {
            if (!future.complete(result.apply(outputs))) outputs.forEach(Mat::close); // cancelled meanwhile
        }
    }

    // ------------------------------------------------------------------------------------ worker start

    /**
     * Fails {@code loaded} with {@code failure} after closing what was loaded; an error of the
     * close is added to it as suppressed. {@code loaded} completes whatever the close throws, so
     * that the thread that builds the service, waiting for it, never waits forever.
     */
    static void failLoad(CompletableFuture<?> loaded, Throwable failure, AutoCloseable loadedSoFar) {
        try {
            if (loadedSoFar != null) loadedSoFar.close();
        } catch (Throwable closing) {
            if (closing != failure) failure.addSuppressed(closing);
        } finally {
            loaded.completeExceptionally(failure);
        }
    }

    /**
     * A worker thread from its start to the service's start: it lowers its priority, loads its
     * generator and warms it up, then waits for the service (or for being abandoned, when another
     * worker failed to load) before it takes requests.
     */
    private static final class Worker {
        final Thread thread;
        private final CompletableFuture<Generator> loaded = new CompletableFuture<>();
        private final CompletableFuture<TranslationService> service = new CompletableFuture<>();
        volatile ThreadPriority.Outcome priority;

        Worker(Builder b, GeneratorOptions options, int index) {
            String prefix = "samplenorm-" + b.name + "-worker-" + index;
            this.thread = new Thread(() -> run(b, options, index, prefix), prefix);
            thread.setDaemon(true);
        }

        private void run(Builder b, GeneratorOptions options, int index, String prefix) {
            Generator g = null;
            try {
                priority = b.lowerPriority(index);
                g = Generator.load(b.model, options);
                Thread.currentThread().setName(prefix + "-" + g.device());
                if (b.warmUp) b.warmUp(g);
            } catch (Throwable t) {
                failLoad(loaded, t, g);
                return;
            }
            loaded.complete(g);
            TranslationService s = service.join(); // null: abandoned
            if (s == null) {
                g.close();
                return;
            }
            s.work(g);
        }

        /**
         * Waits until the generator is loaded and warmed up; rethrows what failed. An interrupt is kept
         * for the caller after the wait: a half-started service would leak its worker. The worker
         * always completes {@code loaded}, with its generator or with what failed.
         */
        void awaitLoaded() {
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        loaded.get();
                        return;
                    } catch (InterruptedException e) {
                        interrupted = true; // a half-started service would leak its worker: finish starting it first
                    } catch (ExecutionException e) {
                        Throwable c = e.getCause();
                        if (c instanceof RuntimeException r) throw r;
                        if (c instanceof Error err) throw err;
                        throw new CompletionException(c);
                    }
                }
            } finally {
                if (interrupted) Thread.currentThread().interrupt();
            }
        }

        Generator generator() {
            return loaded.join();
        }

        void begin(TranslationService s) {
            service.complete(s);
        }

        /** Tells a loaded worker to close its generator and end; waits for it. */
        void abandon() {
            service.complete(null);
            boolean interrupted = false;
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------------------------ builder

    /** Options of a {@link TranslationService}; {@link #build()} loads the generators and warms them up. */
    public static final class Builder {
        private final OnnxModel model;
        private String name = "generator";
        private GeneratorOptions options = GeneratorOptions.defaults();
        private final List<Device> instanceDevices = new ArrayList<>();
        private int autoInstances = 0;
        private int maxBatchSize = 8;
        private Duration maxQueueDelay = Duration.ofMillis(5);
        private final TreeSet<Integer> preferred = new TreeSet<>();
        private int queueCapacity = 64;
        private Duration defaultTimeout = null;
        private int maxImageSide = 8192;
        private long maxImagePixels = 16L << 20;
        private ServiceMetrics metrics = ServiceMetrics.NONE;
        private boolean warmUp = true;
        private Executor encodeExecutor = ForkJoinPool.commonPool();
        private int computeNice = 0;
        private boolean restartOpenCvPool = false;

        private Builder(OnnxModel model) {
            this.model = model;
        }

        /** The model's name in logs, metrics and thread names. Default "generator". */
        public Builder name(String name) {
            if (name == null || name.isBlank()) throw new IllegalArgumentException("name: expected a non-blank name");
            this.name = name;
            return this;
        }

        /** Statistics mode, eps, swapRB and resize policy of every generator; the device comes from {@link #instances}. */
        public Builder generatorOptions(GeneratorOptions options) {
            this.options = Objects.requireNonNull(options, "options");
            return this;
        }

        /** Shorthand for the statistics mode of {@link #generatorOptions}. */
        public Builder statistics(StatisticsMode mode) {
            this.options = options.toBuilder().statistics(mode).build();
            return this;
        }

        /**
         * Adds {@code count} generator instances (each with its own worker thread) on {@code device}. May
         * be called once per device. Without any call: one instance on the device of the generator options
         * (auto by default).
         */
        public Builder instances(Device device, int count) {
            Objects.requireNonNull(device, "device");
            if (count < 1 || count > 256) throw new IllegalArgumentException("instances: expected 1 to 256 per device, got " + count);
            for (int i = 0; i < count; i++) instanceDevices.add(device);
            return this;
        }

        /** {@code count} instances on the device of the generator options (auto: CUDA where usable, else the CPU). */
        public Builder instances(int count) {
            if (count < 1 || count > 256) throw new IllegalArgumentException("instances: expected 1 to 256, got " + count);
            this.autoInstances = count;
            return this;
        }

        /** Most images in one forward pass, and in one request. Default 8. */
        public Builder maxBatchSize(int n) {
            if (n < 1 || n > 1024) throw new IllegalArgumentException("maxBatchSize: expected 1 to 1024, got " + n);
            this.maxBatchSize = n;
            return this;
        }

        /** How long the oldest queued request may wait for others to join its batch (sample and running). Default 5 ms. */
        public Builder maxQueueDelay(Duration delay) {
            if (delay == null || delay.isNegative()) throw new IllegalArgumentException("maxQueueDelay: expected a duration >= 0, got " + delay);
            this.maxQueueDelay = delay;
            return this;
        }

        /** Batch sizes dispatched at once when the queue holds enough requests, without waiting for the delay. */
        public Builder preferredBatchSizes(int... sizes) {
            preferred.clear();
            for (int s : sizes) {
                if (s < 1) throw new IllegalArgumentException("preferredBatchSizes: expected sizes >= 1, got " + Arrays.toString(sizes));
                preferred.add(s);
            }
            return this;
        }

        /** Most requests waiting; a submit beyond fails at once with {@link QueueFullException}. Default 64. */
        public Builder queueCapacity(int n) {
            if (n < 1) throw new IllegalArgumentException("queueCapacity: expected >= 1, got " + n);
            this.queueCapacity = n;
            return this;
        }

        /** The queue timeout of requests submitted without one. Default none. */
        public Builder defaultTimeout(Duration timeout) {
            if (timeout != null && timeout.isNegative()) throw new IllegalArgumentException("defaultTimeout: expected >= 0, got " + timeout);
            this.defaultTimeout = timeout;
            return this;
        }

        /** Largest image accepted: per side, and in pixels. Defaults 8192 and 16 Mi pixels. */
        public Builder maxImageSize(int maxSide, long maxPixels) {
            if (maxSide < 1 || maxPixels < 1) throw new IllegalArgumentException("maxImageSize: expected positive limits");
            this.maxImageSide = maxSide;
            this.maxImagePixels = maxPixels;
            return this;
        }

        /** Where the service reports its work. Default {@link ServiceMetrics#NONE}. */
        public Builder metrics(ServiceMetrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        /** Whether {@link #build()} runs one forward pass per batch size 1..maxBatchSize on each instance. Default true. */
        public Builder warmUp(boolean warmUp) {
            this.warmUp = warmUp;
            return this;
        }

        /** Where {@link #submitEncoded} encodes outputs as PNG. Default the common fork-join pool. */
        public Builder encodeExecutor(Executor executor) {
            this.encodeExecutor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /**
         * The OS priority of the compute threads, as a Linux nice value from 0 (normal, the default:
         * nothing changes) to 19 (lowest). Each worker thread sets it on itself before it loads its
         * generator, so the native threads it creates afterwards inherit it (see the class comment).
         * Pools that exist already keep their priority: OpenCV's CPU thread pool, if another thread
         * created it earlier (see {@link #restartOpenCvPool(boolean)}), and samplenorm's native kernel
         * pool; both live as long as the process, so threads a worker created keep the lower priority
         * after {@link TranslationService#close()} or a failed {@link #build()}.
         * Where the process already runs at a higher nice value the workers keep it; where the
         * platform has no per-thread nice values (other than Linux) or the OS refuses the change (a
         * sandbox), the workers run at their priority as it is, a warning is logged, and
         * {@link TranslationService#computePriorities()} says why.
         */
        public Builder computeNice(int nice) {
            if (nice < 0 || nice > ThreadPriority.MAX_NICE) {
                throw new IllegalArgumentException("computeNice: expected 0 (normal priority, unchanged) to " + ThreadPriority.MAX_NICE
                        + " (lowest), got " + nice);
            }
            this.computeNice = nice;
            return this;
        }

        /**
         * With a compute nice above 0: whether the first worker restarts OpenCV's CPU thread pool (one per
         * process) so that its threads are created anew at the compute priority (default: false, the
         * pool stays as it is). Use it only when nothing else in the process runs OpenCV at that moment:
         * the restart (setNumThreads(1), then back) is not safe against a parallel loop running in
         * another thread (OpenCV's pthreads backend may crash the process), and a generator loaded
         * meanwhile in another thread may see one thread.
         */
        public Builder restartOpenCvPool(boolean restart) {
            this.restartOpenCvPool = restart;
            return this;
        }

        /**
         * Starts the workers one after another; each loads and warms up its generator in its own thread
         * (at the compute priority), and the next starts when it is ready. Returns when all are.
         */
        public TranslationService build() {
            List<GeneratorOptions> perInstance = new ArrayList<>();
            for (Device d : instanceDevices) perInstance.add(options.toBuilder().device(d).build());
            int auto = autoInstances > 0 ? autoInstances : (instanceDevices.isEmpty() ? 1 : 0);
            for (int i = 0; i < auto; i++) perInstance.add(options);
            List<Worker> started = new ArrayList<>();
            TranslationService service;
            try {
                for (int i = 0; i < perInstance.size(); i++) {
                    Worker w = new Worker(this, perInstance.get(i), i);
                    started.add(w);
                    w.thread.start();
                    w.awaitLoaded();
                }
                service = new TranslationService(this, started);
            } catch (RuntimeException | Error e) {
                for (Worker w : started) w.abandon();
                throw e;
            }
            for (Worker w : started) w.begin(service);
            return service;
        }

        /** Lowers the calling worker thread's priority; null where computeNice is 0. */
        private ThreadPriority.Outcome lowerPriority(int index) {
            if (computeNice == 0) return null;
            ThreadPriority.Outcome outcome;
            if (!ThreadPriority.supported()) {
                outcome = ThreadPriority.lowerCurrentThread(computeNice); // UNSUPPORTED, with the reason
            } else {
                int now = ThreadPriority.currentNice();
                outcome = now > computeNice ? new ThreadPriority.Outcome(ThreadPriority.Status.UNCHANGED, now, now, null)
                        : ThreadPriority.lowerCurrentThread(computeNice);
                if (index == 0 && restartOpenCvPool && outcome.status() != ThreadPriority.Status.REFUSED) restartOpenCvThreadPool();
            }
            LOG.log(outcome.status() == ThreadPriority.Status.UNSUPPORTED || outcome.status() == ThreadPriority.Status.REFUSED
                            ? Level.WARNING : Level.INFO,
                    "compute priority of worker " + index + " (requested nice " + computeNice + "): " + outcome);
            return outcome;
        }

        /**
         * OpenCV's CPU thread pool (its pthreads backend) is created by the thread that runs the first
         * parallel loop and lives as long as the process; its threads inherit that thread's nice value.
         * Shrinking it to one thread stops its threads (when no parallel loop runs at that moment: hence
         * {@link #restartOpenCvPool(boolean)} is an opt-in), and the next parallel loop, from whichever
         * thread runs it, creates them anew at that thread's priority; the worker's warm-up runs one at once.
         */
        private static void restartOpenCvThreadPool() {
            int threads = opencv_core.getNumThreads();
            if (threads <= 1) return;
            opencv_core.setNumThreads(1);
            opencv_core.setNumThreads(threads);
        }

        private void warmUp(Generator g) {
            TensorInfo in = g.modelInfo().input();
            int c = (int) in.dim(1), h = (int) in.dim(2), w = (int) in.dim(3);
            if (c <= 0 || h <= 0 || w <= 0) {
                LOG.log(Level.INFO, "warm-up skipped: the model leaves its input size open (" + in.dims() + ")");
                return;
            }
            long start = System.nanoTime();
            for (int n = 1; n <= maxBatchSize; n++) {
                try (Mat blob = new Mat(new int[] {n, c, h, w}, CV_32F)) {
                    blob.put(new org.bytedeco.opencv.opencv_core.Scalar(0.0));
                    g.translateBlob(blob).close();
                }
            }
            LOG.log(Level.INFO, "warm-up of " + g.device() + ": batch sizes 1 to " + maxBatchSize + " in " + ms(System.nanoTime() - start)
                    + " ms");
        }
    }
}
