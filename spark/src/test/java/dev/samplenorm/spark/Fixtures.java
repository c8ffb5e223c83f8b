package dev.samplenorm.spark;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imwrite;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.samplenorm.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Point;
import org.bytedeco.opencv.opencv_core.Scalar;

/** Test inputs (sketch-like PNGs), the CLI as a reference, and local Spark sessions. */
final class Fixtures {

    private Fixtures() {
    }

    /** A local[2] session; {@code plugin} enables {@link SampleNormPlugin}. */
    static SparkSession localSpark(boolean plugin) {
        SparkSession.Builder b = SparkSession.builder().master("local[2]").appName("samplenorm-spark-test")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.default.parallelism", "2");
        if (plugin) b.config("spark.plugins", SampleNormPlugin.class.getName());
        return b.getOrCreate();
    }

    /** Writes a sketch-like 8-bit BGR PNG of {@code w} x {@code h}: white, with random outlined shapes. */
    static void writeSketch(Path file, int w, int h, long seed) {
        Random r = new Random(seed);
        try (Mat m = new Mat(h, w, CV_8UC3, new Scalar(255, 255, 255, 0))) {
            for (int k = 0; k < 4; k++) {
                Scalar color = new Scalar(r.nextInt(120), r.nextInt(120), r.nextInt(120), 0);
                Point a = new Point(r.nextInt(w), r.nextInt(h));
                Point b = new Point(r.nextInt(w), r.nextInt(h));
                if (k % 2 == 0) opencv_imgproc.rectangle(m, a, b, color, 2, opencv_imgproc.LINE_8, 0);
                else opencv_imgproc.circle(m, a, 5 + r.nextInt(Math.max(1, Math.min(w, h) / 3)), color, 2, opencv_imgproc.LINE_8, 0);
            }
            if (!imwrite(file.toString(), m)) throw new IllegalStateException("cannot write " + file);
        }
    }

    /** Runs {@code samplenorm translate} in this JVM and asserts exit code 0. */
    static void cliTranslate(String... args) {
        List<String> all = new ArrayList<>(List.of("translate", "--device", "cpu"));
        all.addAll(List.of(args));
        StringWriter out = new StringWriter(), err = new StringWriter();
        int rc = Main.execute(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, rc, "samplenorm " + all + " failed: " + err);
    }

    /** File name -> bytes of every file in {@code dir}. */
    static Map<String, byte[]> filesIn(Path dir) {
        Map<String, byte[]> files = new HashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) files.put(p.getFileName().toString(), Files.readAllBytes(p));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files;
    }

    /** The file name of a binaryFile row's path. */
    static String name(Row row) {
        String path = row.getString(row.fieldIndex("path"));
        return path.substring(path.lastIndexOf('/') + 1);
    }
}
