package dev.samplenorm.cli;

import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_UNCHANGED;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imread;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imwrite;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.io.Npy;
import dev.samplenorm.io.NpyArray;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import org.bytedeco.opencv.opencv_core.Mat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code samplenorm translate}: .npy blob to .npy blob, or images to images. */
@Command(name = "translate", mixinStandardHelpOptions = true,
        description = {"Translates a float32 NCHW .npy tensor (one batch) into a .npy tensor, or images (a file, a directory or a"
                + " glob) into images with the same names, in batches of --batch-size."})
final class TranslateCommand implements Callable<Integer> {

    @Mixin
    CommonOptions common;

    @Option(names = "--input", required = true, paramLabel = "IN", description = ".npy file, image file, directory or glob")
    String input;

    @Option(names = "--output", required = true, paramLabel = "OUT", description = ".npy file, image file or directory")
    Path output;

    @Option(names = "--stats", paramLabel = "sample|batch|running|input", defaultValue = "sample",
            description = "BatchNorm statistics (default: ${DEFAULT-VALUE})")
    String stats;

    @Option(names = "--dropout", paramLabel = "off|on", defaultValue = "off",
            description = "test-time dropout: on multiplies each Dropout's input by a fresh random mask per batch, as Pix2Pix"
                    + " does at test time (default: ${DEFAULT-VALUE})")
    String dropout;

    @Option(names = "--seed", paramLabel = "S", description = "seed of the dropout masks (default: a random seed, printed)")
    Long seed;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "1", description = "images per batch (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        StatisticsMode mode = StatisticsMode.parse(stats);
        if (batchSize < 1) {
            throw new UserError("--batch-size must be >= 1, got " + batchSize);
        }
        Long dropoutSeed = dropoutSeed();
        boolean npy = input.toLowerCase(Locale.ROOT).endsWith(".npy");
        List<Path> images = null;
        List<Path> targets = null;
        NpyArray blob = null;
        // Every input is checked, and every output path is known, before the model is loaded.
        if (npy) {
            Path in = Path.of(input);
            if (!Files.isRegularFile(in)) throw new UserError("input not found: " + input);
            if (!output.toString().toLowerCase(Locale.ROOT).endsWith(".npy")) {
                throw new UserError("a .npy input needs a .npy output, got " + output);
            }
            OutputTargets.refuseOverwritingInputs(List.of(in), List.of(output));
            blob = readBlob(in);
        } else {
            images = ImageInputs.expand(input);
            targets = OutputTargets.forImages(input, images, output);
            OutputTargets.refuseOverwritingInputs(images, targets);
        }
        long start = System.nanoTime();
        try (Generator generator = common.load(mode, dropoutSeed)) {
            int count = npy ? translateNpy(generator, blob) : translateImages(generator, images, targets);
            double seconds = (System.nanoTime() - start) / 1e9;
            PrintWriter out = spec.commandLine().getOut();
            out.printf(Locale.ROOT, "translated %d %s in %.2f s (%.1f images/s), device %s, statistics %s%n", count,
                    count == 1 ? "image" : "images", seconds, count / seconds, generator.device(), mode.cliName());
            if (dropoutSeed != null) {
                out.printf(Locale.ROOT, "dropout on, seed %d (%d Dropout node(s))%n", dropoutSeed, generator.modelInfo().dropoutCount());
            }
        }
        return 0;
    }

    private Long dropoutSeed() {
        switch (dropout.trim().toLowerCase(Locale.ROOT)) {
            case "off":
                if (seed != null) throw new UserError("--seed sets the dropout masks; it needs --dropout on");
                return null;
            case "on":
                return seed != null ? seed : new java.security.SecureRandom().nextLong();
            default:
                throw new UserError("--dropout: expected off or on, got '" + dropout + "'");
        }
    }


    /** Reads a 4-D NCHW blob with every extent >= 1. */
    private NpyArray readBlob(Path in) throws IOException {
        NpyArray a = Npy.read(in);
        if (a.rank() != 4) {
            throw new UserError("expected a 4-D NCHW tensor in " + input + ", got shape " + Arrays.toString(a.shape()));
        }
        if (a.size() == 0) {
            throw new UserError("the tensor in " + input + " has shape " + Arrays.toString(a.shape())
                    + " and so no values; expected N, C, H, W >= 1");
        }
        return a;
    }

    private int translateNpy(Generator generator, NpyArray in) throws IOException {
        try (Mat blob = in.toFloatMat(); Mat result = generator.translateBlob(blob)) {
            NpyArray out = NpyArray.of(result);
            AtomicOutput.write(output, tmp -> Npy.write(tmp, out));
            return in.shape()[0];
        }
    }

    private int translateImages(Generator generator, List<Path> images, List<Path> targets) throws IOException {
        boolean showProgress = System.console() != null && images.size() > batchSize;
        try (ProgressBar bar = showProgress ? new ProgressBarBuilder().setTaskName("translate").setInitialMax(images.size())
                .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).build() : null) {
            for (int from = 0; from < images.size(); from += batchSize) {
                List<Path> batch = images.subList(from, Math.min(images.size(), from + batchSize));
                List<Mat> in = read(batch);
                try {
                    List<Mat> out = generator.translate(in);
                    try {
                        for (int i = 0; i < batch.size(); i++) {
                            Path target = targets.get(from + i);
                            Mat img = out.get(i);
                            AtomicOutput.write(target, tmp -> {
                                if (!imwrite(tmp.toString(), img)) throw new IOException("cannot write image " + target);
                            });
                        }
                    } finally {
                        out.forEach(Mat::close);
                    }
                } finally {
                    in.forEach(Mat::close);
                }
                if (bar != null) bar.stepBy(batch.size());
            }
        }
        return images.size();
    }

    private List<Mat> read(List<Path> batch) {
        List<Mat> mats = new ArrayList<>();
        try {
            for (Path p : batch) {
                if (!Files.isReadable(p)) throw new UserError("image not readable: " + p);
                ImageHeaders.checkSize(p);
                Mat m = imread(p.toString(), IMREAD_UNCHANGED);
                if (m == null || m.empty()) {
                    throw new UserError("cannot decode image " + p);
                }
                mats.add(m);
                if (m.channels() != 3 || m.depth() != 0) {
                    throw new UserError("expected an 8-bit 3-channel (color) image, got " + m.channels() + " channel(s) and "
                            + (m.depth() == 0 ? "8" : "more than 8") + " bits per channel in " + p);
                }
                if (mats.size() > 1 && StatisticsMode.parse(stats) == StatisticsMode.BATCH
                        && (m.rows() != mats.get(0).rows() || m.cols() != mats.get(0).cols())) {
                    throw new UserError("--stats batch pools statistics over the batch, so its images must have one size; "
                            + batch.get(0).getFileName() + " is " + mats.get(0).cols() + "x" + mats.get(0).rows() + ", " + p.getFileName()
                            + " is " + m.cols() + "x" + m.rows() + " (use --batch-size 1 or images of one size)");
                }
            }
            return mats;
        } catch (RuntimeException e) {
            mats.forEach(Mat::close);
            throw e;
        }
    }
}
