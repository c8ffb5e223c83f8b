package dev.samplenorm.benchmarks;

import static org.bytedeco.opencv.global.opencv_imgcodecs.imread;

import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.kernels.ChannelStats;
import dev.samplenorm.kernels.HostKernels;
import dev.samplenorm.kernels.PixelMapping;
import dev.samplenorm.kernels.StatsScope;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Endurance run, not a test: many host-kernel calls, then many translations of the bundled model,
 * in one JVM, printing the resident set size (VmRSS) as it goes. Native memory that a call fails to
 * release shows as RSS growing with the number of calls.
 *
 * <pre>
 * java -Xmx512m -cp ... dev.samplenorm.benchmarks.Endurance [kernelCalls [translations]]   (default 100000 10000)
 * </pre>
 */
public final class Endurance {

    private Endurance() {}

    public static void main(String[] args) throws Exception {
        long kernelCalls = args.length > 0 ? Long.parseLong(args[0]) : 100_000;
        long translations = args.length > 1 ? Long.parseLong(args[1]) : 10_000;
        GeneratorOptions options = GeneratorOptions.builder().statistics(StatisticsMode.SAMPLE).device(Device.cpu()).build();
        List<Mat> sketches = sketches();
        try (Generator generator = Generator.loadResource(ModelLoadTimes.BUNDLED, options)) {
            // One untimed round of each so that lazily loaded code and OpenCV's allocator pools exist before "start".
            kernels(sketches, 100);
            translate(generator, sketches, 10);
            report("start", 0, 0);
            long step = Math.max(1, kernelCalls / 4);
            for (long done = 0; done < kernelCalls; done += step) {
                kernels(sketches, Math.min(step, kernelCalls - done));
                report("kernels", Math.min(done + step, kernelCalls), 0);
            }
            report("middle", kernelCalls, 0);
            step = Math.max(1, translations / 4);
            for (long done = 0; done < translations; done += step) {
                translate(generator, sketches, Math.min(step, translations - done));
                report("translations", kernelCalls, Math.min(done + step, translations));
            }
            report("end", kernelCalls, translations);
        }
    }

    /** {@code calls} host-kernel calls, cycling through statistics, normalize, images to blob and blob to images. */
    static void kernels(List<Mat> images, long calls) {
        List<Mat> batch = images.subList(0, 4);
        try (Mat blob = new Mat(); Mat normalized = new Mat()) {
            List<Mat> outs = new ArrayList<>();
            for (int i = 0; i < batch.size(); i++) outs.add(new Mat());
            HostKernels.imagesToBlob(batch, blob, PixelMapping.symmetric(), true);
            for (long i = 0; i < calls; i++) {
                switch ((int) (i % 4)) {
                    case 0 -> HostKernels.statistics(blob, StatsScope.SAMPLE);
                    case 1 -> {
                        ChannelStats s = HostKernels.statistics(blob, StatsScope.BATCH);
                        HostKernels.normalize(blob, normalized, s, null, null, 1e-5);
                    }
                    case 2 -> HostKernels.imagesToNormalizedBlob(batch, blob, StatsScope.SAMPLE, true, 1 / 127.5, 1e-5);
                    default -> HostKernels.blobToImages(blob, outs, PixelMapping.symmetric(), true);
                }
            }
            outs.forEach(Mat::close);
        }
    }

    /** {@code count} translations of one sketch each through the generator; outputs are closed. */
    static void translate(Generator generator, List<Mat> sketches, long count) {
        for (long i = 0; i < count; i++) {
            List<Mat> out = generator.translate(List.of(sketches.get((int) (i % sketches.size()))));
            out.forEach(Mat::close);
        }
    }

    private static List<Mat> sketches() throws IOException {
        List<Mat> out = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            Path tmp = Files.createTempFile("sketch", ".png");
            try (InputStream in = Endurance.class.getClassLoader().getResourceAsStream("dev/samplenorm/models/samples/sketch_0" + i + ".png")) {
                Files.write(tmp, in.readAllBytes());
                out.add(imread(tmp.toString()));
            } finally {
                Files.delete(tmp);
            }
        }
        return out;
    }

    private static void report(String phase, long kernelCalls, long translations) throws IOException {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        System.out.printf(Locale.ROOT, "%-12s kernel calls %7d  translations %6d  VmRSS %7d kB  Java heap used %6d kB  JavaCPP tracked %6d kB%n",
                phase, kernelCalls, translations, rssKb(), (rt.totalMemory() - rt.freeMemory()) / 1024, Pointer.totalBytes() / 1024);
    }

    /** VmRSS of this process in kB, from /proc/self/status. */
    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IOException("no VmRSS line in /proc/self/status");
    }
}
