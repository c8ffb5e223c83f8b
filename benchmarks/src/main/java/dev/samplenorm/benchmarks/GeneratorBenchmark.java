package dev.samplenorm.benchmarks;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Engine;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.onnx.OnnxModel;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * unet_256 (54.4 M parameters, 13 training-mode BatchNorm, 3 Dropout) on the CPU, end to end:
 *
 * <ul>
 *   <li>{@link #openCv}: {@code Generator.translateBlob} on an N x 3 x 256 x 256 float blob in
 *       [-1, 1], per statistics mode, batch size, engine ({@code engine}: {@code opencv} by default;
 *       {@code -p engine=opencv,onnxruntime} compares samplenorm's two engines), ConvTranspose form
 *       ({@code convTranspose}: sub-pixel rewrite or as exported; OpenCV only) and OpenCV thread count
 *       ({@code cvThreads}, 0 = OpenCV's default);
 *   <li>{@link #openCvTwoInstances}: two generators (batch mode) called at once from two threads,
 *       for OpenCV's thread count ({@code cvThreads}) with several instances in one process;
 *   <li>{@link #onnxRuntime}: the same training export and blob through ONNX Runtime's
 *       {@code OrtSession.run} (BatchNorm with batch statistics, as samplenorm's {@code batch} mode);
 *   <li>{@link #latencyOpenCv} / {@link #latencyOnnxRuntime}: one 256 x 256 8-bit BGR image to one
 *       8-bit image, pre- and post-processing included: {@code Generator.translate} in {@code sample}
 *       mode, and ORT with plain Java pixel loops around {@code run}.
 * </ul>
 *
 * Scores are milliseconds per call (one call = one batch of N images): images/s = 1000 * N / score.
 * The latency benchmarks sample every call (percentiles in the results). One fork, 2 x 5 s warm-up,
 * 5 x 5 s measurement: at N = 16 a call takes seconds, so an iteration holds only a few calls on a
 * 2-core machine. Models are built once into {@link BenchModels#folder()} (see {@link BenchModels}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 5, time = 5)
// -Xss8m: on an AMD EPYC machine ONNX Runtime 1.29's environment crashed the JVM (SIGSEGV, no
// error report) with the default 1 MiB thread stack and this class path.
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "-Xss8m"})
public class GeneratorBenchmark {

    static final int C = 3, H = BenchModels.SIZE, W = BenchModels.SIZE;

    /** A random blob in [-1, 1] (what a Tanh generator's input range is). */
    static float[] randomBlob(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n * C * H * W];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextDouble(-1, 1);
        return v;
    }

    /** {@link #randomBlob} (seed 42) in an N x 3 x 256 x 256 float Mat. */
    static Mat randomBlobMat(int n) {
        Mat blob = new Mat(new int[] {n, C, H, W}, CV_32F);
        new FloatPointer(blob.data()).put(randomBlob(n, 42));
        return blob;
    }

    static Generator load(OnnxModel model, StatisticsMode mode) {
        return load(model, mode, Engine.OPENCV, GeneratorOptions.ConvTransposeForm.AUTO);
    }

    static Generator load(OnnxModel model, StatisticsMode mode, GeneratorOptions.ConvTransposeForm convTranspose) {
        return load(model, mode, Engine.OPENCV, convTranspose);
    }

    static Generator load(OnnxModel model, StatisticsMode mode, Engine engine, GeneratorOptions.ConvTransposeForm convTranspose) {
        return Generator.load(model, GeneratorOptions.builder().statistics(mode).device(Device.cpu()).engine(engine)
                .convTranspose(convTranspose).build());
    }

    /** Sets OpenCV's (process-wide) thread count where {@code threads} > 0; 0 keeps OpenCV's default (one per core). */
    static void openCvThreads(int threads) {
        if (threads > 0) opencv_core.setNumThreads(threads);
        System.err.printf("%nOpenCV threads: %d%n", opencv_core.getNumThreads());
    }

    @State(Scope.Benchmark)
    public static class OpenCv {
        @Param({"running", "sample", "batch", "input"})
        public String mode;

        @Param({"1", "4", "16"})
        public int batch;

        /** samplenorm's engine: opencv (the default) or onnxruntime. */
        @Param({"opencv"})
        public String engine;

        /** {@code SUB_PIXEL} or {@code AS_EXPORTED} (see {@link GeneratorOptions.ConvTransposeForm}); both engines. */
        @Param({"SUB_PIXEL", "AS_EXPORTED"})
        public String convTranspose;

        /** OpenCV's thread count; 0 = OpenCV's default. */
        @Param({"0"})
        public int cvThreads;

        Generator generator;
        Mat blob;

        @Setup(Level.Trial)
        public void setUp() {
            openCvThreads(cvThreads);
            long t0 = System.nanoTime();
            generator = load(BenchModels.readUnet256(), StatisticsMode.parse(mode), Engine.parse(engine),
                    GeneratorOptions.ConvTransposeForm.valueOf(convTranspose));
            System.err.printf("%nGenerator.load(unet_256, %s, %s, %s): %.2f s%n", mode, engine, convTranspose,
                    (System.nanoTime() - t0) / 1e9);
            blob = randomBlobMat(batch);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            generator.close();
            blob.close();
        }
    }

    @State(Scope.Benchmark)
    public static class OnnxRuntime {
        @Param({"1", "4", "16"})
        public int batch;

        OnnxRuntimeGenerator ort;
        OnnxTensor input;

        @Setup(Level.Trial)
        public void setUp() throws OrtException {
            long t0 = System.nanoTime();
            ort = new OnnxRuntimeGenerator(BenchModels.readUnet256());
            System.err.printf("%nORT session (unet_256): %.2f s%n", (System.nanoTime() - t0) / 1e9);
            input = ort.tensor(randomBlob(batch, 42), batch, C, H, W);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws OrtException {
            input.close();
            ort.close();
        }
    }

    /**
     * One generator per JMH thread, for {@link #openCvTwoInstances}: two instances in one process,
     * as a server with two workers runs them; OpenCV's thread count is process-wide.
     */
    @State(Scope.Thread)
    public static class OpenCvInstance {
        @Param({"1", "4"})
        public int batch;

        @Param({"0"})
        public int cvThreads;

        Generator generator;
        Mat blob;

        @Setup(Level.Trial)
        public void setUp() {
            openCvThreads(cvThreads);
            generator = load(BenchModels.readUnet256(), StatisticsMode.BATCH);
            blob = randomBlobMat(batch);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            generator.close();
            blob.close();
        }
    }

    /** One random 256 x 256 8-bit BGR image, for the latency benchmarks. */
    @State(Scope.Benchmark)
    public static class OneImage {
        Mat image;
        byte[] pixels;

        @Setup(Level.Trial)
        public void setUp() {
            pixels = new byte[H * W * C];
            SplittableRandom r = new SplittableRandom(7);
            for (int i = 0; i < pixels.length; i++) pixels[i] = (byte) r.nextInt(256);
            image = new Mat(H, W, CV_8UC3);
            image.data().put(pixels);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            image.close();
        }
    }

    @State(Scope.Benchmark)
    public static class OpenCvSample {
        /** samplenorm's engine: opencv (the default) or onnxruntime. */
        @Param({"opencv"})
        public String engine;

        Generator generator;

        @Setup(Level.Trial)
        public void setUp() {
            generator = load(BenchModels.readUnet256(), StatisticsMode.SAMPLE, Engine.parse(engine), GeneratorOptions.ConvTransposeForm.AUTO);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            generator.close();
        }
    }

    @State(Scope.Benchmark)
    public static class OrtOneImage {
        OnnxRuntimeGenerator ort;

        @Setup(Level.Trial)
        public void setUp() throws OrtException {
            ort = new OnnxRuntimeGenerator(BenchModels.readUnet256());
        }

        @TearDown(Level.Trial)
        public void tearDown() throws OrtException {
            ort.close();
        }
    }

    // ---- throughput: N images per call ----------------------------------------------------------

    @Benchmark
    public void openCv(OpenCv s, Blackhole bh) {
        try (Mat out = s.generator.translateBlob(s.blob)) {
            bh.consume(out.address());
        }
    }

    /** Two generators called at once from two threads (batch mode, ConvTranspose form by device); the score is per call. */
    @Benchmark
    @Threads(2)
    public void openCvTwoInstances(OpenCvInstance s, Blackhole bh) {
        try (Mat out = s.generator.translateBlob(s.blob)) {
            bh.consume(out.address());
        }
    }

    @Benchmark
    public void onnxRuntime(OnnxRuntime s, Blackhole bh) throws OrtException {
        try (OrtSession.Result r = s.ort.run(s.input)) {
            bh.consume(r.get(0));
        }
    }

    // ---- latency: one 8-bit image in, one 8-bit image out ------------------------------------------

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public void latencyOpenCv(OpenCvSample s, OneImage img, Blackhole bh) {
        List<Mat> out = s.generator.translate(List.of(img.image));
        bh.consume(out.get(0).address());
        out.get(0).close();
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    public byte[] latencyOnnxRuntime(OrtOneImage s, OneImage img) throws OrtException {
        // What a user writes around ORT: pixels out of the Mat, into a float CHW array, run, and back.
        byte[] bgr = new byte[H * W * C];
        img.image.data().get(bgr);
        float[] x = new float[C * H * W];
        OnnxRuntimeGenerator.bgrToModel(bgr, x, H, W);
        float[] y = s.ort.run(x, 1, C, H, W);
        byte[] out = new byte[H * W * C];
        OnnxRuntimeGenerator.modelToBgr(y, out, H, W);
        return out;
    }
}
