package dev.samplenorm.spark.bench;

import dev.samplenorm.cli.Main;
import dev.samplenorm.spark.ExecutorGenerators;
import dev.samplenorm.spark.SparkTranslator;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Images/s of a Spark local[N] job against {@code samplenorm translate} on the same directory of
 * PNGs, and the per-executor overhead (model load, first job). Wall-clock times of whole runs,
 * repeated; prints the median and the min..max. Not a test: run by {@code spark/benchmarks/run-throughput.sh}.
 *
 * <p>Arguments: images-dir master repeats.
 */
public final class SparkThroughput {

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String master = args.length > 1 ? args[1] : "local[2]";
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        long images;
        try (var s = Files.list(dir)) {
            images = s.filter(p -> p.toString().endsWith(".png")).count();
        }
        Path out = Files.createTempDirectory("samplenorm-bench-cli");

        // The CLI as a user runs it: model load, decode, translate, encode, write, one image per call.
        List<Double> cli = new ArrayList<>();
        for (int r = 0; r < repeats + 1; r++) {
            long t0 = System.nanoTime();
            StringWriter err = new StringWriter();
            int rc = Main.execute(new String[] {"translate", "--device", "cpu", "--input", dir.toString(), "--output",
                out.resolve("run" + r).toString()}, new PrintWriter(new StringWriter()), new PrintWriter(err));
            if (rc != 0) throw new IllegalStateException("CLI failed: " + err);
            if (r > 0) cli.add((System.nanoTime() - t0) / 1e9); // run 0 warms the JIT and the file cache
        }

        long s0 = System.nanoTime();
        SparkSession spark = SparkSession.builder().master(master).appName("samplenorm-spark-bench").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        double sessionStart = (System.nanoTime() - s0) / 1e9;
        int partitions = spark.sparkContext().defaultParallelism();
        SparkTranslator translator = SparkTranslator.builder().device("cpu").build();
        List<Double> jobs = new ArrayList<>();
        double firstJob = 0;
        long loadsBefore = ExecutorGenerators.loadCount(), loadNanosBefore = ExecutorGenerators.loadNanos();
        for (int r = 0; r < repeats + 1; r++) {
            long t0 = System.nanoTime();
            Dataset<Row> df = spark.read().format("binaryFile").option("pathGlobFilter", "*.png").load(dir.toString()).repartition(partitions);
            // Every row's translation is computed and its bytes kept, as a write would need them.
            long bytes = translator.transform(df).javaRDD().map(row -> (long) ((byte[]) row.getAs("translated")).length).reduce(Long::sum);
            double s = (System.nanoTime() - t0) / 1e9;
            if (bytes <= 0) throw new IllegalStateException("no output");
            if (r == 0) firstJob = s;
            else jobs.add(s);
        }
        double load = (ExecutorGenerators.loadNanos() - loadNanosBefore) / 1e9;
        long loads = ExecutorGenerators.loadCount() - loadsBefore;

        // Per-executor overhead without JVM and Spark start: a one-image job on an empty generator cache
        // (load + first batch) against the same job with the generator loaded.
        Path first;
        try (var s = Files.list(dir)) {
            first = s.filter(p -> p.toString().endsWith(".png")).sorted().findFirst().orElseThrow();
        }
        List<Double> cold = new ArrayList<>(), warm = new ArrayList<>(), coldLoad = new ArrayList<>();
        for (int r = 0; r < repeats; r++) {
            ExecutorGenerators.closeAll();
            long n0 = ExecutorGenerators.loadNanos();
            cold.add(oneImageJob(spark, translator, first));
            coldLoad.add((ExecutorGenerators.loadNanos() - n0) / 1e9);
            warm.add(oneImageJob(spark, translator, first));
        }
        spark.stop();

        System.out.printf(Locale.ROOT, "images %d, cores %d, load average %s%n", images, Runtime.getRuntime().availableProcessors(),
                Files.readString(Path.of("/proc/loadavg")).trim());
        report("CLI translate (in-process, with model load)", cli, images);
        report("Spark " + master + " job, warm executor", jobs, images);
        System.out.printf(Locale.ROOT, "Spark session start %.2f s; first job %.2f s (%.1f images/s); generator loads %d, %.3f s in all%n",
                sessionStart, firstJob, images / firstJob, loads, load);
        report("one-image job, empty generator cache (load + first batch)", cold, 1);
        report("  of which generator load", coldLoad, 1);
        report("one-image job, generator loaded", warm, 1);
    }

    private static double oneImageJob(SparkSession spark, SparkTranslator translator, Path image) {
        long t0 = System.nanoTime();
        Dataset<Row> df = spark.read().format("binaryFile").load(image.toString());
        long n = translator.transform(df).javaRDD().filter(row -> row.getAs("translated") != null).count();
        if (n != 1) throw new IllegalStateException("expected one translated image, got " + n);
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void report(String what, List<Double> seconds, long images) {
        double[] s = seconds.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double median = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        System.out.printf(Locale.ROOT, "%s: median %.3f s = %.1f images/s; min..max %.3f..%.3f s (%.1f..%.1f images/s); runs %s%n", what,
                median, images / median, s[0], s[s.length - 1], images / s[s.length - 1], images / s[0], Arrays.toString(s));
    }
}
