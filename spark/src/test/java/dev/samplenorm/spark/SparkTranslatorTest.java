package dev.samplenorm.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.regexp_extract;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.io.Npy;
import dev.samplenorm.io.NpyArray;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Spark local[2] against {@code samplenorm translate} on the same files: bit-identical outputs, bad rows, schema checks. */
class SparkTranslatorTest {

    private static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = Fixtures.localSpark(false);
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
        ExecutorGenerators.closeAll();
    }

    private static Dataset<Row> binaryFiles(Path dir) {
        return spark.read().format("binaryFile").option("pathGlobFilter", "*.png").load(dir.toString()).repartition(2);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sample", "running"})
    void perImageStatisticsGiveTheCliBytesForEveryPartitioningAndBatchSize(String stats, @TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in")), cli = tmp.resolve("cli");
        // Sizes other than the model's 128 x 128 exercise the resize to the model and back.
        int[][] sizes = {{128, 128}, {96, 80}, {128, 128}, {150, 130}, {128, 128}};
        for (int i = 0; i < sizes.length; i++) Fixtures.writeSketch(in.resolve("s" + i + ".png"), sizes[i][0], sizes[i][1], 10 + i);
        Fixtures.cliTranslate("--input", in.toString(), "--output", cli.toString(), "--stats", stats);
        Map<String, byte[]> expected = Fixtures.filesIn(cli);
        assertEquals(sizes.length, expected.size());

        for (int batchSize : new int[] {1, 3}) {
            List<Row> rows = SparkTranslator.builder().statistics(StatisticsMode.parse(stats)).device("cpu").batchSize(batchSize).build()
                    .transform(binaryFiles(in)).collectAsList();
            assertEquals(sizes.length, rows.size());
            for (Row r : rows) {
                assertNull(r.getAs("error"), () -> "error for " + Fixtures.name(r) + ": " + r.getAs("error"));
                assertArrayEquals(expected.get(Fixtures.name(r)), (byte[]) r.getAs("translated"),
                        "batchSize " + batchSize + ", " + Fixtures.name(r) + ": Spark's PNG differs from the CLI's");
            }
        }
    }

    @Test
    void batchStatisticsPoolOverTheGroupColumnAndGiveTheCliBytes(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in")), cli = tmp.resolve("cli"), sample = tmp.resolve("sample");
        // The CLI batches sorted names two at a time: {g0_a, g0_b}, {g1_c, g1_d}, {g2_e, g2_f}.
        String[] names = {"g0_a", "g0_b", "g1_c", "g1_d", "g2_e", "g2_f"};
        for (int i = 0; i < names.length; i++) Fixtures.writeSketch(in.resolve(names[i] + ".png"), 128, 128, 100 + i);
        Fixtures.cliTranslate("--input", in.toString(), "--output", cli.toString(), "--stats", "batch", "--batch-size", "2");
        Fixtures.cliTranslate("--input", in.toString(), "--output", sample.toString(), "--stats", "sample");
        Map<String, byte[]> expected = Fixtures.filesIn(cli), perImage = Fixtures.filesIn(sample);

        Dataset<Row> df = binaryFiles(in).withColumn("batch", regexp_extract(col("path"), "/g(\\d)_[a-z]\\.png$", 1));
        List<Row> rows = SparkTranslator.builder().statistics(StatisticsMode.BATCH).device("cpu").groupBy("batch").build()
                .transform(df).collectAsList();
        assertEquals(names.length, rows.size());
        int differFromSample = 0;
        for (Row r : rows) {
            assertNull(r.getAs("error"), () -> "error for " + Fixtures.name(r) + ": " + r.getAs("error"));
            byte[] got = r.getAs("translated");
            assertArrayEquals(expected.get(Fixtures.name(r)), got, Fixtures.name(r) + ": Spark's PNG differs from the CLI's");
            if (!Arrays.equals(perImage.get(Fixtures.name(r)), got)) differFromSample++;
        }
        assertEquals(names.length, differFromSample, "batch statistics should change every output against sample statistics");
    }

    @Test
    void tensorsPoolPerGroupExactlyAsTheCliTranslatesAnNpyBatch(@TempDir Path tmp) throws Exception {
        int n = 3, c = 3, h = 128, w = 128;
        Random random = new Random(7);
        float[] values = new float[n * c * h * w];
        for (int i = 0; i < values.length; i++) values[i] = random.nextFloat() * 2 - 1;
        Path npyIn = tmp.resolve("in.npy");
        Npy.write(npyIn, NpyArray.ofFloats(new int[] {n, c, h, w}, values));
        for (String stats : List.of("batch", "sample")) {
            Path npyOut = tmp.resolve(stats + ".npy");
            Fixtures.cliTranslate("--input", npyIn.toString(), "--output", npyOut.toString(), "--stats", stats);
            NpyArray expected = Npy.read(npyOut);
            int per = expected.shape()[1] * expected.shape()[2] * expected.shape()[3];

            List<Row> in = new ArrayList<>();
            for (int k = 0; k < n; k++) {
                Float[] t = new Float[c * h * w];
                for (int i = 0; i < t.length; i++) t[i] = values[k * t.length + i];
                in.add(RowFactory.create(k, "one", Arrays.asList(t)));
            }
            StructType schema = new StructType().add("id", DataTypes.IntegerType).add("batch", DataTypes.StringType)
                    .add("tensor", DataTypes.createArrayType(DataTypes.FloatType));
            SparkTranslator.Builder b = SparkTranslator.builder().statistics(StatisticsMode.parse(stats)).device("cpu")
                    .inputCol("tensor").tensorShape(c, h, w);
            if (stats.equals("batch")) b.groupBy("batch").orderBy("id");
            List<Row> rows = b.build().transform(spark.createDataFrame(in, schema).repartition(2)).collectAsList();
            assertEquals(n, rows.size());
            for (Row r : rows) {
                int k = r.getInt(0);
                assertNull(r.getAs("error"), () -> "error: " + r.getAs("error"));
                List<Float> got = r.getList(r.fieldIndex("translated"));
                float[] want = Arrays.copyOfRange(expected.asFloats(), k * per, (k + 1) * per);
                float[] gotArray = new float[got.size()];
                for (int i = 0; i < gotArray.length; i++) gotArray[i] = got.get(i);
                assertArrayEquals(want, gotArray, 0f, stats + ": tensor " + k + " differs from the CLI's .npy");
                assertEquals(List.of(expected.shape()[1], expected.shape()[2], expected.shape()[3]), r.getList(r.fieldIndex("translated_shape")));
            }
        }
    }

    @Test
    void sparkImageStructsTranslateToTheCliPixels(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in")), cli = tmp.resolve("cli");
        Fixtures.writeSketch(in.resolve("a.png"), 128, 128, 1);
        Fixtures.writeSketch(in.resolve("b.png"), 90, 70, 2);
        Fixtures.cliTranslate("--input", in.toString(), "--output", cli.toString());
        List<Row> images = new ArrayList<>();
        for (String name : List.of("a.png", "b.png")) {
            try (var m = org.bytedeco.opencv.global.opencv_imgcodecs.imread(in.resolve(name).toString())) {
                byte[] data = new byte[(int) (m.total() * 3)];
                m.data().get(data);
                images.add(RowFactory.create(RowFactory.create(name, m.rows(), m.cols(), 3, 16, data)));
            }
        }
        StructType schema = new StructType().add("image", SparkTranslator.IMAGE_SCHEMA);
        List<Row> rows = SparkTranslator.builder().device("cpu").inputCol("image").build()
                .transform(spark.createDataFrame(images, schema)).collectAsList();
        assertEquals(2, rows.size());
        for (Row r : rows) {
            assertNull(r.getAs("error"));
            Row out = r.getStruct(r.fieldIndex("translated"));
            String name = out.getString(0);
            try (var want = org.bytedeco.opencv.global.opencv_imgcodecs.imread(cli.resolve(name).toString())) {
                assertEquals(want.rows(), out.getInt(1));
                assertEquals(want.cols(), out.getInt(2));
                assertEquals(3, out.getInt(3));
                byte[] data = new byte[(int) (want.total() * 3)];
                want.data().get(data);
                assertArrayEquals(data, (byte[]) out.get(5), name + ": pixels differ from the CLI's output");
            }
        }
    }

    @Test
    void corruptRowsGetAnErrorValueAndRowsInEqualRowsOut(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in")), good = Files.createDirectories(tmp.resolve("good")), cli = tmp.resolve("cli");
        for (int i = 0; i < 4; i++) Fixtures.writeSketch(good.resolve("ok" + i + ".png"), 128, 128, 40 + i);
        for (int i = 0; i < 4; i++) Files.copy(good.resolve("ok" + i + ".png"), in.resolve("ok" + i + ".png"));
        byte[] png = Files.readAllBytes(good.resolve("ok0.png"));
        Files.write(in.resolve("bad_truncated.png"), Arrays.copyOf(png, png.length / 3));
        Files.writeString(in.resolve("bad_text.png"), "not an image at all");
        // A header that declares 20000 x 20000 pixels: refused before decoding (a decompression bomb).
        byte[] bomb = png.clone();
        for (int at : new int[] {16, 20}) {
            bomb[at] = 0;
            bomb[at + 1] = 0;
            bomb[at + 2] = (byte) (20000 >> 8);
            bomb[at + 3] = (byte) (20000 & 0xff);
        }
        Files.write(in.resolve("bad_huge.png"), bomb);
        Fixtures.cliTranslate("--input", good.toString(), "--output", cli.toString());
        Map<String, byte[]> expected = Fixtures.filesIn(cli);

        Dataset<Row> out = SparkTranslator.builder().device("cpu").build().transform(binaryFiles(in)).cache();
        long rowsIn = binaryFiles(in).count();
        assertEquals(7, rowsIn);
        assertEquals(rowsIn, out.count(), "rows in = rows out");
        long ok = out.filter(col("error").isNull()).count(), failed = out.filter(col("error").isNotNull()).count();
        assertEquals(4, ok);
        assertEquals(3, failed);
        assertEquals(rowsIn, ok + failed);
        for (Row r : out.collectAsList()) {
            String name = Fixtures.name(r);
            if (name.startsWith("bad")) {
                assertNull(r.getAs("translated"), name);
                String error = r.getAs("error");
                assertNotNull(error, name);
                assertTrue(error.contains("PNG"), name + ": " + error);
                if (name.equals("bad_huge.png")) assertTrue(error.contains("pixels"), error);
            } else {
                assertArrayEquals(expected.get(name), (byte[]) r.getAs("translated"), name);
            }
        }
        out.unpersist();
    }

    @Test
    void aBadRowLeavesItsWholeGroupUntranslatedAndNoOtherGroup(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        for (String n : List.of("g0_a", "g0_b", "g1_c", "g1_d")) Fixtures.writeSketch(in.resolve(n + ".png"), 128, 128, n.hashCode());
        Files.writeString(in.resolve("g1_e.png"), "corrupt");
        Dataset<Row> df = binaryFiles(in).withColumn("batch", regexp_extract(col("path"), "/g(\\d)_[a-z]\\.png$", 1));
        List<Row> rows = SparkTranslator.builder().statistics(StatisticsMode.BATCH).device("cpu").groupBy("batch").build()
                .transform(df).collectAsList();
        assertEquals(5, rows.size());
        Map<String, String> errors = new HashMap<>();
        for (Row r : rows) errors.put(Fixtures.name(r), r.getAs("error"));
        assertNull(errors.get("g0_a.png"));
        assertNull(errors.get("g0_b.png"));
        assertTrue(errors.get("g1_e.png").contains("PNG"), errors.get("g1_e.png"));
        for (String n : List.of("g1_c.png", "g1_d.png")) {
            assertTrue(errors.get(n).contains("pool over group 1") && errors.get(n).contains("g1_e.png"), n + ": " + errors.get(n));
        }
    }

    @Test
    void failModeFailsTheJobNamingTheRow(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        Fixtures.writeSketch(in.resolve("ok.png"), 128, 128, 3);
        Files.writeString(in.resolve("broken.png"), "corrupt");
        Dataset<Row> out = SparkTranslator.builder().device("cpu").onError(SparkTranslator.OnError.FAIL).build().transform(binaryFiles(in));
        assertFalse(Arrays.asList(out.schema().fieldNames()).contains("error"), "no error column under FAIL");
        SparkException e = assertThrows(SparkException.class, out::collectAsList);
        assertTrue(String.valueOf(e.getMessage()).contains("broken.png"), e.getMessage());
        assertTrue(String.valueOf(e.getMessage()).contains("onError FAIL"), e.getMessage());
    }

    @Test
    void groupsLargerThanTheLimitAreRefusedRowByRow(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        for (int i = 0; i < 3; i++) Fixtures.writeSketch(in.resolve("x" + i + ".png"), 128, 128, i);
        Dataset<Row> df = binaryFiles(in).withColumn("batch", org.apache.spark.sql.functions.lit("all"));
        List<Row> rows = SparkTranslator.builder().statistics(StatisticsMode.BATCH).device("cpu").groupBy("batch").maxGroupSize(2).build()
                .transform(df).collectAsList();
        assertEquals(3, rows.size());
        for (Row r : rows) {
            String error = r.getAs("error");
            assertTrue(error != null && error.contains("more than maxGroupSize 2"), error);
            assertNull(r.getAs("translated"));
        }
    }

    @Test
    void schemaMistakesAreRefusedOnTheDriverWithWhatWasExpected(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        Fixtures.writeSketch(in.resolve("a.png"), 64, 64, 1);
        Dataset<Row> df = binaryFiles(in);
        var e1 = assertThrows(IllegalArgumentException.class, () -> SparkTranslator.builder().inputCol("image").build().transform(df));
        assertTrue(e1.getMessage().contains("input column 'image' not found"), e1.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> SparkTranslator.builder().inputCol("path").build().transform(df));
        assertTrue(e2.getMessage().contains("expected binary"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class,
                () -> SparkTranslator.builder().statistics(StatisticsMode.BATCH).build().transform(df));
        assertTrue(e3.getMessage().contains("groupBy"), e3.getMessage());
        var e4 = assertThrows(IllegalArgumentException.class, () -> SparkTranslator.builder().groupBy("path").build().transform(df));
        assertTrue(e4.getMessage().contains("works per image"), e4.getMessage());
        var e5 = assertThrows(IllegalArgumentException.class, () -> SparkTranslator.builder().outputCol("length").build().transform(df));
        assertTrue(e5.getMessage().contains("exists already"), e5.getMessage());
        var e6 = assertThrows(IllegalArgumentException.class,
                () -> SparkTranslator.builder().statistics(StatisticsMode.BATCH).groupBy("nope").build().transform(df));
        assertTrue(e6.getMessage().contains("group column 'nope' not found"), e6.getMessage());
        var e7 = assertThrows(IllegalArgumentException.class,
                () -> SparkTranslator.builder().statistics(StatisticsMode.BATCH).groupBy("content").build().transform(df));
        assertTrue(e7.getMessage().contains("expected a string or number"), e7.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SparkTranslator.builder().device("cuda:1"));
        assertThrows(IllegalArgumentException.class, () -> SparkTranslator.builder().batchSize(0));
        assertThrows(IllegalArgumentException.class, () -> SparkTranslator.builder().tensorShape(3, 0, 4));
        // fp16 with auto would fall back to the CPU on an executor without a GPU and fail there: refused here.
        for (String device : new String[] {"auto", "cpu"}) {
            var e8 = assertThrows(IllegalArgumentException.class,
                    () -> SparkTranslator.builder().precision(dev.samplenorm.Precision.FP16).device(device).build());
            assertTrue(e8.getMessage().contains("set device cuda"), e8.getMessage());
        }
        SparkTranslator.builder().precision(dev.samplenorm.Precision.FP16).device("cuda").build(); // accepted on the driver
    }

    @Test
    void cudaOnAnExecutorWithoutAGpuFailsTheJobSayingWhy(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        Fixtures.writeSketch(in.resolve("a.png"), 128, 128, 1);
        Dataset<Row> out = SparkTranslator.builder().device("cuda").build().transform(binaryFiles(in));
        SparkException e = assertThrows(SparkException.class, out::collectAsList);
        assertTrue(String.valueOf(e.getMessage()).contains("Spark assigned this task no GPU"), e.getMessage());
    }
}
