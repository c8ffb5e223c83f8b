package dev.samplenorm.cli;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imwrite;
import static org.bytedeco.opencv.global.opencv_imgproc.FONT_HERSHEY_SIMPLEX;
import static org.bytedeco.opencv.global.opencv_imgproc.LINE_AA;
import static org.bytedeco.opencv.global.opencv_imgproc.putText;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.io.NpyArray;
import dev.samplenorm.kernels.HostKernels;
import dev.samplenorm.kernels.PixelMapping;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Point;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.opencv.opencv_core.Scalar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code samplenorm demo}: the bundled sketches through every statistics mode, as one batch, and
 * through test-time dropout with three seeds, into a contact sheet, with the distance of each mode
 * from {@code batch} and of each dropout row from {@code sample} without dropout.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Translates the bundled sample sketches with every statistics mode (one batch) and with test-time"
                + " dropout under three seeds, and writes a contact sheet (rows: input, sample, batch, running, input recipe,"
                + " sample with dropout seeds 1, 2, 3).")
final class DemoCommand implements Callable<Integer> {

    static final StatisticsMode[] ROWS = {StatisticsMode.SAMPLE, StatisticsMode.BATCH, StatisticsMode.RUNNING, StatisticsMode.INPUT};
    /** Test-time dropout rows: the same sketches in {@code sample} mode with these seeds. */
    static final long[] DROPOUT_SEEDS = {1, 2, 3};
    private static final int LABEL_WIDTH = 120;
    private static final int GAP = 4;

    @Mixin
    CommonOptions common;

    @Option(names = "--output", paramLabel = "PNG", defaultValue = "out/demo.png", description = "contact sheet (default: ${DEFAULT-VALUE})")
    Path output;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (common.model != null) {
            throw new UserError("demo uses the bundled model and sketches; use translate for --model " + common.model);
        }
        List<Mat> inputs = SampleImages.load();
        Map<StatisticsMode, List<Mat>> images = new EnumMap<>(StatisticsMode.class);
        Map<StatisticsMode, float[]> blobs = new EnumMap<>(StatisticsMode.class);
        List<float[]> dropoutBlobs = new ArrayList<>();
        List<List<Mat>> dropoutImages = new ArrayList<>();
        String device = "";
        try (Mat blob = new Mat()) {
            // The model takes RGB in [-1, 1]; OpenCV reads BGR.
            HostKernels.imagesToBlob(inputs, blob, PixelMapping.symmetric(), true);
            for (StatisticsMode mode : ROWS) {
                try (Generator g = common.load(mode); Mat out = g.translateBlob(blob)) {
                    images.put(mode, g.translate(inputs));
                    blobs.put(mode, NpyArray.of(out).floats());
                    device = g.device().toString();
                }
            }
            // Dropout: the first pass of a generator seeded with s, once as a blob (for the distance) and once as images.
            for (long seed : DROPOUT_SEEDS) {
                try (Generator g = common.load(StatisticsMode.SAMPLE, seed); Mat out = g.translateBlob(blob)) {
                    dropoutBlobs.add(NpyArray.of(out).floats());
                }
                try (Generator g = common.load(StatisticsMode.SAMPLE, seed)) {
                    dropoutImages.add(g.translate(inputs));
                }
            }
            int h = inputs.get(0).rows(), w = inputs.get(0).cols();
            int cols = inputs.size(), rows = ROWS.length + DROPOUT_SEEDS.length + 1;
            try (Mat sheet = new Mat(rows * (h + GAP) + GAP, LABEL_WIDTH + cols * (w + GAP) + GAP, CV_8UC3, new Scalar(255, 255, 255, 0))) {
                place(sheet, "input", 0, inputs, h, w);
                for (int r = 0; r < ROWS.length; r++) {
                    String label = ROWS[r] == StatisticsMode.INPUT ? "input recipe" : ROWS[r].cliName();
                    place(sheet, label, r + 1, images.get(ROWS[r]), h, w);
                }
                for (int d = 0; d < DROPOUT_SEEDS.length; d++) {
                    place(sheet, "dropout " + DROPOUT_SEEDS[d], ROWS.length + 1 + d, dropoutImages.get(d), h, w);
                }
                AtomicOutput.write(output, tmp -> {
                    if (!imwrite(tmp.toString(), sheet)) throw new IOException("cannot write " + output);
                });
                report(blobs, dropoutBlobs, inputs.size(), device, sheet);
            }
        } finally {
            inputs.forEach(Mat::close);
            images.values().forEach(l -> l.forEach(Mat::close));
            dropoutImages.forEach(l -> l.forEach(Mat::close));
        }
        return 0;
    }

    private void report(Map<StatisticsMode, float[]> blobs, List<float[]> dropout, int n, String device, Mat sheet) {
        PrintWriter out = spec.commandLine().getOut();
        float[] reference = blobs.get(StatisticsMode.BATCH);
        out.printf(Locale.ROOT, "%d sketches as one batch, bundled model, device %s%n", n, device);
        out.printf(Locale.ROOT, "%-14s %s%n", "mode", "relative L2 distance from batch");
        for (StatisticsMode mode : ROWS) {
            out.printf(Locale.ROOT, "%-14s %.4f%n", mode == StatisticsMode.INPUT ? "input recipe" : mode.cliName(),
                    relativeL2(blobs.get(mode), reference));
        }
        out.printf(Locale.ROOT, "test-time dropout (sample mode)  relative L2 distance from sample without dropout%n");
        for (int d = 0; d < dropout.size(); d++) {
            out.printf(Locale.ROOT, "%-14s %.4f%n", "seed " + DROPOUT_SEEDS[d], relativeL2(dropout.get(d), blobs.get(StatisticsMode.SAMPLE)));
        }
        out.printf(Locale.ROOT, "wrote %s (%dx%d)%n", output, sheet.cols(), sheet.rows());
    }

    static double relativeL2(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            num += d * d;
            den += (double) b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }

    private static void place(Mat sheet, String label, int row, List<Mat> images, int h, int w) {
        int y = GAP + row * (h + GAP);
        putText(sheet, label, new Point(8, y + h / 2 + 6), FONT_HERSHEY_SIMPLEX, 0.55, new Scalar(40, 40, 40, 0), 1, LINE_AA, false);
        for (int c = 0; c < images.size(); c++) {
            try (Mat roi = new Mat(sheet, new Rect(LABEL_WIDTH + GAP + c * (w + GAP), y, w, h))) {
                images.get(c).copyTo(roi);
            }
        }
    }
}
