package dev.samplenorm.benchmarks;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8U;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import dev.samplenorm.kernels.BlobShape;
import dev.samplenorm.kernels.ChannelStats;
import dev.samplenorm.kernels.HostKernels;
import dev.samplenorm.kernels.PixelMapping;
import dev.samplenorm.kernels.StatsScope;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_dnn;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.MatVector;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.bytedeco.opencv.opencv_core.Size;
import org.bytedeco.opencv.opencv_dnn.Image2BlobParams;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The host kernels against what a user would write without them, side by side on the same data:
 * (a) plain Java loops over heap arrays, (b) the OpenCV composite path (cv::meanStdDev per image or
 * plane, combined, then blobFromImagesWithParams / convertTo), and a plain memory copy of a large
 * buffer as the bandwidth yardstick. Batches of 256 x 256 BGR images; the blob is N x 3 x 256 x 256.
 *
 * <p>Bytes moved per call (for GB/s): preprocess 2 * N*H*W*3 (two reads of the 8-bit pixels) +
 * 4 * N*3*H*W (float write); statistics 4 * N*3*H*W; normalize 8 * N*3*H*W; postprocess
 * 4 * N*3*H*W + N*H*W*3; copy 2 * 48 MiB (read + write), on one thread and split over two.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
public class KernelBenchmark {

    private static final int H = 256, W = 256, C = 3;
    private static final double EPS = 1e-5, SCALE = 1 / 127.5;

    @Param({"16"})
    public int batch;

    private final List<Mat> images = new ArrayList<>();
    private final List<Mat> outImages = new ArrayList<>();
    private MatVector imageVector;
    private byte[][] javaImages;
    private float[] javaBlob;
    private float[] javaOut;
    private byte[][] javaOutImages;
    private Mat blob;
    private Mat outBlob;
    private Mat copySrc;
    private Mat copyDst;
    /** Source and target of a copy as large as the N x 3 x 256 x 256 float blob (cache-sized at small N). */
    private Mat blobCopySrc, blobCopyDst;
    private BlobShape shape;
    private java.util.concurrent.ExecutorService copyPool;
    private ChannelStats blobStats;
    private ChannelStats imageStats;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom r = new SplittableRandom(1);
        javaImages = new byte[batch][H * W * C];
        javaOutImages = new byte[batch][H * W * C];
        for (int i = 0; i < batch; i++) {
            Mat m = new Mat(H, W, CV_8UC3);
            for (int b = 0; b < H * W * C; b++) javaImages[i][b] = (byte) r.nextInt(256);
            m.data().put(javaImages[i]);
            images.add(m);
            outImages.add(new Mat());
        }
        imageVector = new MatVector(images.toArray(new Mat[0]));
        shape = new BlobShape(batch, C, H, W);
        blob = new Mat();
        imageStats = HostKernels.imagesToNormalizedBlob(images, blob, StatsScope.BATCH, true, SCALE, EPS);
        javaBlob = new float[shape.elements()];
        new FloatPointer(blob.data()).get(javaBlob);
        javaOut = new float[shape.elements()];
        outBlob = new Mat();
        blobStats = HostKernels.statistics(blob, StatsScope.BATCH);
        copySrc = new Mat(new int[] {48, 1024, 256}, CV_32F, new Scalar(1.0));
        copyDst = new Mat(new int[] {48, 1024, 256}, CV_32F);
        copyPool = java.util.concurrent.Executors.newSingleThreadExecutor();
        blobCopySrc = new Mat(new int[] {batch * C, H, W}, CV_32F, new Scalar(1.0));
        blobCopyDst = new Mat(new int[] {batch * C, H, W}, CV_32F);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Mat m : images) m.close();
        for (Mat m : outImages) m.close();
        imageVector.close();
        blob.close();
        outBlob.close();
        copySrc.close();
        copyDst.close();
        blobCopySrc.close();
        blobCopyDst.close();
        copyPool.shutdownNow();
    }

    // ---- bandwidth yardstick -------------------------------------------------------------

    @Benchmark
    public void copy48MiB() {
        copySrc.copyTo(copyDst);
    }

    /** The same copy split across two threads: the machine's copy bandwidth with both cores. */
    @Benchmark
    public void copy48MiBTwoThreads() throws Exception {
        long half = copySrc.total() * Float.BYTES / 2;
        java.util.concurrent.Future<?> other = copyPool.submit(() -> Pointer.memcpy(copyDst.data().position(half), copySrc.data().position(half), half));
        Pointer.memcpy(copyDst.data(), copySrc.data(), half);
        other.get();
    }

    /**
     * A two-thread copy of as many bytes as the float blob: the yardstick for kernels whose data fits
     * in the caches (at N = 16 the 12 MiB blob fits in a 32 MiB L3, the 48 MiB copy does not).
     */
    @Benchmark
    public void copyBlobSizeTwoThreads() throws Exception {
        long half = blobCopySrc.total() * Float.BYTES / 2;
        java.util.concurrent.Future<?> other = copyPool.submit(() -> Pointer.memcpy(blobCopyDst.data().position(half),
                blobCopySrc.data().position(half), half));
        Pointer.memcpy(blobCopyDst.data(), blobCopySrc.data(), half);
        other.get();
    }

    // ---- pre-processing: images -> blob normalized by the batch's statistics ----------------

    @Benchmark
    public ChannelStats preprocessSamplenorm() {
        return HostKernels.imagesToNormalizedBlob(images, blob, StatsScope.BATCH, true, SCALE, EPS);
    }

    @Benchmark
    public Mat preprocessOpenCvComposite() {
        // Pooled batch statistics from per-image meanStdDev, then one blobFromImagesWithParams.
        double[] sum = new double[C], sumSq = new double[C];
        try (Mat mean = new Mat(); Mat std = new Mat()) {
            for (Mat m : images) {
                opencv_core.meanStdDev(m, mean, std);
                for (int j = 0; j < C; j++) {
                    double mu = mean.ptr(j).getDouble(), sd = std.ptr(j).getDouble();
                    sum[j] += mu;
                    sumSq[j] += sd * sd + mu * mu;
                }
            }
        }
        double[] mu = new double[C], inv = new double[C];
        for (int j = 0; j < C; j++) {
            mu[j] = sum[j] / batch;
            double var = sumSq[j] / batch - mu[j] * mu[j];
            inv[j] = SCALE / Math.sqrt(var * SCALE * SCALE + EPS);
        }
        // swapRB: blob channel k comes from image channel 2 - k; mean and scale are given in blob order.
        try (Image2BlobParams p = new Image2BlobParams(new Scalar(inv[2], inv[1], inv[0], 0), new Size(W, H),
                new Scalar(mu[2], mu[1], mu[0], 0), true, CV_32F, opencv_dnn.DNN_LAYOUT_NCHW, opencv_dnn.DNN_PMODE_NULL,
                new Scalar(0.0))) {
            opencv_dnn.blobFromImagesWithParams(imageVector, blob, p);
        }
        return blob;
    }

    @Benchmark
    public float[] preprocessJavaLoops() {
        long[] sum = new long[C], sumSq = new long[C];
        for (byte[] img : javaImages) {
            for (int p = 0; p < H * W; p++) {
                for (int j = 0; j < C; j++) {
                    int v = img[p * C + j] & 0xff;
                    sum[j] += v;
                    sumSq[j] += v * v;
                }
            }
        }
        double count = (double) batch * H * W;
        float[] shift = new float[C], factor = new float[C];
        for (int j = 0; j < C; j++) {
            double m = sum[j] / count, var = sumSq[j] / count - m * m;
            shift[j] = (float) m;
            factor[j] = (float) (SCALE / Math.sqrt(var * SCALE * SCALE + EPS));
        }
        int plane = H * W;
        for (int i = 0; i < batch; i++) {
            byte[] img = javaImages[i];
            for (int k = 0; k < C; k++) {
                int j = 2 - k, base = (i * C + k) * plane;
                for (int p = 0; p < plane; p++) javaOut[base + p] = ((img[p * C + j] & 0xff) - shift[j]) * factor[j];
            }
        }
        return javaOut;
    }

    // ---- statistics of a float blob ------------------------------------------------------

    @Benchmark
    public ChannelStats statisticsSamplenorm() {
        return HostKernels.statistics(blob, StatsScope.BATCH);
    }

    @Benchmark
    public double[] statisticsOpenCvComposite() {
        double[] out = new double[2 * C];
        try (Mat mean = new Mat(); Mat std = new Mat()) {
            FloatPointer base = new FloatPointer(blob.data());
            for (int i = 0; i < batch; i++) {
                for (int c = 0; c < C; c++) {
                    try (Mat plane = new Mat(H, W, CV_32F, base.getPointer((long) (i * C + c) * H * W))) {
                        opencv_core.meanStdDev(plane, mean, std);
                        double mu = mean.ptr(0).getDouble(), sd = std.ptr(0).getDouble();
                        out[c] += mu / batch;
                        out[C + c] += (sd * sd + mu * mu) / batch;
                    }
                }
            }
        }
        for (int c = 0; c < C; c++) out[C + c] -= out[c] * out[c];
        return out;
    }

    @Benchmark
    public double[] statisticsJavaLoops() {
        double[] out = new double[2 * C];
        int plane = H * W;
        for (int c = 0; c < C; c++) {
            double s = 0, ss = 0;
            for (int i = 0; i < batch; i++) {
                int base = (i * C + c) * plane;
                for (int p = 0; p < plane; p++) {
                    double v = javaBlob[base + p];
                    s += v;
                    ss += v * v;
                }
            }
            double n = (double) batch * plane;
            out[c] = s / n;
            out[C + c] = ss / n - out[c] * out[c];
        }
        return out;
    }

    // ---- normalization with given statistics -----------------------------------------------

    @Benchmark
    public Mat normalizeSamplenorm() {
        HostKernels.normalize(blob, outBlob, blobStats, null, null, EPS);
        return outBlob;
    }

    @Benchmark
    public Mat normalizeOpenCvComposite() {
        outBlob.create(new int[] {batch, C, H, W}, CV_32F);
        FloatPointer in = new FloatPointer(blob.data()), out = new FloatPointer(outBlob.data());
        for (int i = 0; i < batch; i++) {
            for (int c = 0; c < C; c++) {
                long off = (long) (i * C + c) * H * W;
                double a = 1 / Math.sqrt(blobStats.variance(0, c) + EPS);
                try (Mat src = new Mat(H, W, CV_32F, in.getPointer(off)); Mat dst = new Mat(H, W, CV_32F, out.getPointer(off))) {
                    src.convertTo(dst, CV_32F, a, -blobStats.mean(0, c) * a);
                }
            }
        }
        return outBlob;
    }

    @Benchmark
    public float[] normalizeJavaLoops() {
        int plane = H * W;
        for (int i = 0; i < batch; i++) {
            for (int c = 0; c < C; c++) {
                float m = (float) blobStats.mean(0, c), f = (float) (1 / Math.sqrt(blobStats.variance(0, c) + EPS));
                int base = (i * C + c) * plane;
                for (int p = 0; p < plane; p++) javaOut[base + p] = (javaBlob[base + p] - m) * f;
            }
        }
        return javaOut;
    }

    // ---- post-processing: blob -> 8-bit images --------------------------------------------

    @Benchmark
    public List<Mat> postprocessSamplenorm() {
        HostKernels.blobToImages(blob, outImages, imageStats, true, SCALE, EPS);
        return outImages;
    }

    @Benchmark
    public void postprocessOpenCvComposite(Blackhole bh) {
        FloatPointer in = new FloatPointer(blob.data());
        for (int i = 0; i < batch; i++) {
            try (MatVector planes = new MatVector(C)) {
                for (int k = 0; k < C; k++) {
                    int j = 2 - k;
                    double a = Math.sqrt(imageStats.variance(0, j) * SCALE * SCALE + EPS) / SCALE;
                    try (Mat src = new Mat(H, W, CV_32F, in.getPointer((long) (i * C + k) * H * W))) {
                        Mat dst = new Mat();
                        src.convertTo(dst, CV_8U, a, imageStats.mean(0, j));
                        planes.put(j, dst);
                    }
                }
                opencv_core.merge(planes, outImages.get(i));
            }
        }
        bh.consume(outImages);
    }

    @Benchmark
    public byte[][] postprocessJavaLoops() {
        int plane = H * W;
        for (int i = 0; i < batch; i++) {
            byte[] img = javaOutImages[i];
            for (int k = 0; k < C; k++) {
                int j = 2 - k;
                float a = (float) (Math.sqrt(imageStats.variance(0, j) * SCALE * SCALE + EPS) / SCALE);
                float b = (float) imageStats.mean(0, j);
                int base = (i * C + k) * plane;
                for (int p = 0; p < plane; p++) {
                    float v = javaBlob[base + p] * a + b;
                    img[p * C + j] = (byte) Math.max(0, Math.min(255, Math.round(v)));
                }
            }
        }
        return javaOutImages;
    }
}
