package dev.samplenorm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One generator per (model, options, device) per executor JVM, reused by every task, closed when the executor stops. */
class ExecutorGeneratorsTest {

    @Test
    void tasksReuseOneGeneratorPerModelAndOptionsAndThePluginClosesThemAtExecutorShutdown(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        for (int i = 0; i < 6; i++) Fixtures.writeSketch(in.resolve("s" + i + ".png"), 128, 128, i);
        ExecutorGenerators.closeAll();
        SparkSession spark = Fixtures.localSpark(true);
        List<Generator> held;
        try {
            // 6 partitions over local[2]: several tasks per executor thread, two jobs.
            Dataset<Row> df = spark.read().format("binaryFile").load(in.toString()).repartition(6);
            long before = ExecutorGenerators.loadCount();
            SparkTranslator sample = SparkTranslator.builder().device("cpu").build();
            for (int job = 0; job < 2; job++) {
                List<Row> rows = sample.transform(df).collectAsList();
                assertEquals(6, rows.size());
                rows.forEach(r -> assertNull(r.getAs("error")));
            }
            assertEquals(1, ExecutorGenerators.loadCount() - before, "12 tasks over two jobs, one model and options: one load");
            assertEquals(1, ExecutorGenerators.size());

            // Other options are another generator; the first is still reused.
            SparkTranslator.builder().device("cpu").statistics(StatisticsMode.RUNNING).build().transform(df).count();
            sample.transform(df).collectAsList();
            assertEquals(2, ExecutorGenerators.loadCount() - before);
            assertEquals(2, ExecutorGenerators.size());
            held = ExecutorGenerators.held();
            held.forEach(g -> assertTrue(!g.isClosed()));
        } finally {
            spark.stop();
        }
        // In local mode the executor lives in this JVM: stopping Spark stops it, and its plugin closes the generators.
        assertEquals(0, ExecutorGenerators.size(), "generators left after executor shutdown");
        assertEquals(2, held.size());
        held.forEach(g -> assertTrue(g.isClosed(), g + " not closed at executor shutdown"));
        assertEquals(0, ExecutorGenerators.closeAll(), "closeAll is idempotent");
    }
}
