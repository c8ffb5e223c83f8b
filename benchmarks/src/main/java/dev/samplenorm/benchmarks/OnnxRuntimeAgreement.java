package dev.samplenorm.benchmarks;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.io.NpyArray;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.testing.Tensor;
import java.util.Arrays;
import java.util.Locale;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Checks that the benchmarked paths compute the same thing (not timed): unet_256 through samplenorm
 * ({@code batch} on the whole batch, {@code sample}) against ONNX Runtime's training-mode BatchNorm,
 * at N = 1 and 4, on the random [-1, 1] blobs of {@link GeneratorBenchmark}. {@code sample} is
 * compared with ORT run one image at a time; {@code running} is shown as the control that the
 * comparison can tell statistics apart. Exits with status 1 if batch or sample is above 1e-4
 * relative L2.
 */
public final class OnnxRuntimeAgreement {

    static final double TOLERANCE = 1e-4;
    static final int C = GeneratorBenchmark.C, H = GeneratorBenchmark.H, W = GeneratorBenchmark.W;

    public static void main(String[] args) throws Exception {
        OnnxModel model = BenchModels.readUnet256();
        boolean ok = true;
        try (OnnxRuntimeGenerator ort = new OnnxRuntimeGenerator(model)) {
            for (StatisticsMode mode : new StatisticsMode[] {StatisticsMode.BATCH, StatisticsMode.SAMPLE, StatisticsMode.RUNNING}) {
                try (Generator g = GeneratorBenchmark.load(model, mode)) {
                    for (int n : new int[] {1, 4}) {
                        float[] x = GeneratorBenchmark.randomBlob(n, 42);
                        float[] actual = translate(g, x, n);
                        float[] expected;
                        String how;
                        if (mode == StatisticsMode.SAMPLE) {
                            int image = C * H * W;
                            expected = new float[n * image];
                            for (int i = 0; i < n; i++) {
                                float[] one = ort.run(Arrays.copyOfRange(x, i * image, (i + 1) * image), 1, C, H, W);
                                System.arraycopy(one, 0, expected, i * image, image);
                            }
                            how = "ORT one image at a time";
                        } else {
                            expected = ort.run(x, n, C, H, W);
                            how = "ORT on the whole batch";
                        }
                        double rel = Tensor.relativeL2(actual, expected), max = maxAbs(actual, expected);
                        boolean checked = mode != StatisticsMode.RUNNING;
                        if (checked && !(rel <= TOLERANCE)) ok = false;
                        System.out.printf(Locale.ROOT, "%-8s N=%d vs %-24s relative L2 %.2e  max |diff| %.2e  %s%n", mode.cliName(), n, how,
                                rel, max, checked ? (rel <= TOLERANCE ? "ok (<= 1e-4)" : "FAIL (> 1e-4)") : "(control: eval-mode statistics)");
                    }
                }
            }
        }
        System.exit(ok ? 0 : 1);
    }

    static float[] translate(Generator g, float[] x, int n) {
        try (Mat blob = new Mat(new int[] {n, C, H, W}, CV_32F)) {
            new FloatPointer(blob.data()).put(x);
            try (Mat out = g.translateBlob(blob)) {
                return NpyArray.of(out).floats();
            }
        }
    }

    static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }
}
