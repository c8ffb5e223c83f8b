package dev.samplenorm.spark;

import dev.samplenorm.Device;
import dev.samplenorm.Precision;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.environment.Environment;
import dev.samplenorm.generator.GeneratorOptions;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * Adds a column with the translation of an image or tensor column to a Spark DataFrame.
 *
 * <pre>{@code
 * Dataset<Row> sketches = spark.read().format("binaryFile").load("hdfs:///sketches/*.png");
 * Dataset<Row> out = SparkTranslator.builder().model(ModelSource.file("pix2pix.onnx")).build().transform(sketches);
 * // out: path, modificationTime, length, content, translated (PNG bytes), error (null where translated)
 * }</pre>
 *
 * <p><b>Input column</b> ({@link Builder#inputCol}, default {@code content}):
 * <ul>
 *   <li>binary: an encoded PNG or JPEG (Spark's {@code binaryFile} source), decoded by samplenorm's
 *       {@code ImageDecoder}; the output is encoded in the same format (PNG or JPEG, OpenCV's default
 *       parameters, as {@code samplenorm translate} writes it), or in {@link Builder#outputFormat};</li>
 *   <li>Spark's image struct ({@code spark.read().format("image")}: 8-bit BGR, BGRA or gray); the
 *       output is an image struct (8-bit BGR) with the same origin;</li>
 *   <li>array of float or double: one CHW tensor in model units of the shape {@link Builder#tensorShape}; the
 *       output is a float array (CHW) plus a column {@code <outputCol>_shape} with its C, H, W.</li>
 * </ul>
 *
 * <p><b>Statistics.</b> {@code sample} and {@code running} work per image: any partitioning gives
 * the same outputs as {@code samplenorm translate}, and {@link Builder#batchSize} only groups rows
 * of one partition into one call. {@code batch} and {@code input} pool statistics over a group:
 * they need {@link Builder#groupBy}, a column naming each row's batch; every group is translated
 * in one call, its rows ordered by {@link Builder#orderBy} (default {@code path}), never pooled with
 * whatever else a partition holds.
 *
 * <p><b>Bad rows</b> are never dropped: rows in = rows out. With {@link OnError#COLUMN} (the
 * default) a row that cannot be translated has a null output and a message in the error column
 * ({@code error}; null for translated rows); in a group, one bad row leaves every row of its group
 * untranslated, each saying why. With {@link OnError#FAIL} the first bad row fails the job.
 *
 * <p><b>Executors</b> load one generator per (model, options, device) and reuse it for every task
 * ({@link ExecutorGenerators}); each task runs on the GPU Spark assigned it ({@link TaskDevices}).
 * A pure, serializable value: building one touches no native code.
 */
public final class SparkTranslator implements Serializable {

    private static final long serialVersionUID = 1L;

    /** What a row that cannot be translated does. */
    public enum OnError {
        /** The row gets a null output and a message in the error column. */
        COLUMN,
        /** The job fails, naming the row. */
        FAIL
    }

    enum InputKind { ENCODED, SPARK_IMAGE, TENSOR }

    /** The column type of Spark's image source ({@code org.apache.spark.ml.image.ImageSchema.columnSchema}, in spark-mllib). */
    static final StructType IMAGE_SCHEMA = new StructType()
            .add("origin", DataTypes.StringType, true)
            .add("height", DataTypes.IntegerType, true)
            .add("width", DataTypes.IntegerType, true)
            .add("nChannels", DataTypes.IntegerType, true)
            .add("mode", DataTypes.IntegerType, true)
            .add("data", DataTypes.BinaryType, true);

    private final ModelSource model;
    private final StatisticsMode statistics;
    private final Precision precision;
    private final double eps;
    private final String device;
    private final String inputCol, outputCol, errorCol;
    private final OnError onError;
    private final String groupCol, orderCol;
    private final int batchSize, maxGroupSize;
    private final int[] tensorShape;
    private final String outputFormat;

    private SparkTranslator(Builder b) {
        this.model = b.model;
        this.statistics = b.statistics;
        this.precision = b.precision;
        this.eps = b.eps;
        this.device = b.device;
        this.inputCol = b.inputCol;
        this.outputCol = b.outputCol;
        this.errorCol = b.errorCol;
        this.onError = b.onError;
        this.groupCol = b.groupCol;
        this.orderCol = b.orderCol;
        this.batchSize = b.batchSize;
        this.maxGroupSize = b.maxGroupSize;
        this.tensorShape = b.tensorShape;
        this.outputFormat = b.outputFormat;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Adds the output column (and the error column under {@link OnError#COLUMN}) to {@code input}.
     * The schema is checked here, on the driver; rows are translated when the result is computed.
     *
     * @throws IllegalArgumentException for a missing or mistyped column, or a group column missing under batch or input statistics
     */
    public Dataset<Row> transform(Dataset<Row> input) {
        Objects.requireNonNull(input, "input");
        StructType schema = input.schema();
        InputKind kind = inputKind(schema);
        StructType outSchema = outputSchema(schema, kind);
        boolean grouped = statistics == StatisticsMode.BATCH || statistics == StatisticsMode.INPUT;
        RowTranslator translator = new RowTranslator(this, schema, kind, grouped ? "group" : null);
        JavaRDD<Row> rows = input.javaRDD();
        JavaRDD<Row> out;
        if (grouped) {
            int g = schema.fieldIndex(groupCol);
            int o = schema.fieldIndex(orderColumn(schema));
            out = rows.groupBy(r -> r.isNullAt(g) ? null : r.get(g))
                    .flatMap((Tuple2<Object, Iterable<Row>> group) -> translator.translateGroup(group._1(), group._2(), o).iterator());
        } else {
            out = rows.mapPartitions((Iterator<Row> it) -> translator.translatePartition(it));
        }
        return input.sparkSession().createDataFrame(out, outSchema);
    }

    /** The kind of the input column, checked against the options. */
    InputKind inputKind(StructType schema) {
        StructField field = field(schema, inputCol, "input");
        DataType t = field.dataType();
        InputKind kind;
        if (t.equals(DataTypes.BinaryType)) {
            kind = InputKind.ENCODED;
        } else if (t instanceof StructType s && isImageSchema(s)) {
            kind = InputKind.SPARK_IMAGE;
        } else if (t instanceof ArrayType a && (a.elementType().equals(DataTypes.FloatType) || a.elementType().equals(DataTypes.DoubleType))) {
            kind = InputKind.TENSOR;
            if (tensorShape == null) {
                throw new IllegalArgumentException("input column '" + inputCol + "' holds tensors: set tensorShape(C, H, W), the shape of"
                        + " each row's CHW values");
            }
        } else {
            throw new IllegalArgumentException("input column '" + inputCol + "' has type " + t.simpleString() + "; expected binary (encoded"
                    + " PNG or JPEG, as the binaryFile source reads), Spark's image struct (the image source), or array<float> / array<double>"
                    + " (a CHW tensor)");
        }
        boolean grouped = statistics == StatisticsMode.BATCH || statistics == StatisticsMode.INPUT;
        if (grouped && groupCol == null) {
            throw new IllegalArgumentException("statistics " + statistics.cliName() + " pools over a batch: name the column that says which"
                    + " batch each row belongs to with groupBy(column); rows are never pooled over whatever a partition holds");
        }
        if (!grouped && groupCol != null) {
            throw new IllegalArgumentException("statistics " + statistics.cliName() + " works per image, so groupBy('" + groupCol
                    + "') would change nothing; use batch or input statistics to pool over groups, or drop groupBy");
        }
        if (grouped) {
            DataType g = field(schema, groupCol, "group").dataType();
            if (g.equals(DataTypes.BinaryType) || g instanceof ArrayType || g instanceof StructType || g instanceof org.apache.spark.sql.types.MapType) {
                throw new IllegalArgumentException("group column '" + groupCol + "' has type " + g.simpleString() + "; expected a string or"
                        + " number naming the batch");
            }
            orderColumn(schema);
        }
        return kind;
    }

    private String orderColumn(StructType schema) {
        String name = orderCol != null ? orderCol : "path";
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException("the rows of a group are translated in the order of a column: "
                    + (orderCol != null ? "column '" + name + "' (orderBy) is missing" : "there is no 'path' column, set orderBy(column)")
                    + "; columns: " + Arrays.toString(schema.fieldNames()));
        }
        return name;
    }

    StructType outputSchema(StructType schema, InputKind kind) {
        StructType out = schema;
        for (String name : onError == OnError.COLUMN ? List.of(outputCol, errorCol) : List.of(outputCol)) {
            if (Arrays.asList(schema.fieldNames()).contains(name)) {
                throw new IllegalArgumentException("column '" + name + "' exists already; choose another name with "
                        + (name.equals(outputCol) ? "outputCol" : "errorCol"));
            }
        }
        switch (kind) {
            case ENCODED -> out = out.add(outputCol, DataTypes.BinaryType, true);
            case SPARK_IMAGE -> out = out.add(outputCol, IMAGE_SCHEMA, true);
            case TENSOR -> {
                if (Arrays.asList(schema.fieldNames()).contains(outputCol + "_shape")) {
                    throw new IllegalArgumentException("column '" + outputCol + "_shape' exists already; choose another outputCol");
                }
                out = out.add(outputCol, DataTypes.createArrayType(DataTypes.FloatType, false), true)
                        .add(outputCol + "_shape", DataTypes.createArrayType(DataTypes.IntegerType, false), true);
            }
        }
        if (onError == OnError.COLUMN) out = out.add(errorCol, DataTypes.StringType, true);
        return out;
    }

    private static StructField field(StructType schema, String name, String role) {
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException(role + " column '" + name + "' not found; columns: " + Arrays.toString(schema.fieldNames()));
        }
        return schema.apply(name);
    }

    private static boolean isImageSchema(StructType s) {
        List<String> names = Arrays.asList(s.fieldNames());
        return names.containsAll(List.of("origin", "height", "width", "nChannels", "mode", "data"));
    }

    /** The generator key of the current task: this translator's options on the device Spark gave the task. */
    ExecutorGenerators.Key keyForCurrentTask() {
        Device d = TaskDevices.forCurrentTask(device, cuda -> Environment.current().dnnCudaUnusable(cuda, precision));
        return new ExecutorGenerators.Key(model, statistics, precision, eps, d);
    }

    ModelSource model() {
        return model;
    }

    StatisticsMode statistics() {
        return statistics;
    }

    String inputCol() {
        return inputCol;
    }

    OnError onError() {
        return onError;
    }

    int batchSize() {
        return batchSize;
    }

    int maxGroupSize() {
        return maxGroupSize;
    }

    int[] tensorShape() {
        return tensorShape == null ? null : tensorShape.clone();
    }

    String outputFormat() {
        return outputFormat;
    }

    String groupCol() {
        return groupCol;
    }

    @Override
    public String toString() {
        return "SparkTranslator{model=" + model + ", statistics=" + statistics.cliName() + ", device=" + device + ", precision="
                + precision.name().toLowerCase(Locale.ROOT) + ", input=" + inputCol + ", output=" + outputCol
                + (groupCol != null ? ", groupBy=" + groupCol : "") + ", onError=" + onError + "}";
    }

    /** Options of a {@link SparkTranslator}; every setter checks its argument. */
    public static final class Builder {
        private ModelSource model = ModelSource.bundled();
        private StatisticsMode statistics = StatisticsMode.SAMPLE;
        private Precision precision = Precision.FP32;
        private double eps = GeneratorOptions.DEFAULT_EPS;
        private String device = "auto";
        private String inputCol = "content", outputCol = "translated", errorCol = "error";
        private OnError onError = OnError.COLUMN;
        private String groupCol, orderCol;
        private int batchSize = 1, maxGroupSize = 256;
        private int[] tensorShape;
        private String outputFormat = "same";

        private Builder() {
        }

        /** The model (default: the bundled one). */
        public Builder model(ModelSource model) {
            this.model = Objects.requireNonNull(model, "model");
            return this;
        }

        /** BatchNorm statistics (default sample); batch and input need {@link #groupBy}. */
        public Builder statistics(StatisticsMode statistics) {
            this.statistics = Objects.requireNonNull(statistics, "statistics");
            return this;
        }

        /** fp32 (default) or fp16 (only with device cuda). */
        public Builder precision(Precision precision) {
            this.precision = Objects.requireNonNull(precision, "precision");
            return this;
        }

        /** Epsilon of the input-recipe normalization (default 1e-5), as the CLI's --eps. */
        public Builder eps(double eps) {
            GeneratorOptions.builder().eps(eps); // the core's check
            this.eps = eps;
            return this;
        }

        /** auto (default: the task's GPU where Spark assigned one, else the CPU), cpu, or cuda (fails without a GPU). */
        public Builder device(String device) {
            this.device = TaskDevices.checkRequest(device);
            return this;
        }

        /** The input column (default {@code content}, the binaryFile source's bytes). */
        public Builder inputCol(String name) {
            this.inputCol = name(name, "inputCol");
            return this;
        }

        /** The output column (default {@code translated}). */
        public Builder outputCol(String name) {
            this.outputCol = name(name, "outputCol");
            return this;
        }

        /** The error column under {@link OnError#COLUMN} (default {@code error}). */
        public Builder errorCol(String name) {
            this.errorCol = name(name, "errorCol");
            return this;
        }

        /** What a row that cannot be translated does (default {@link OnError#COLUMN}). */
        public Builder onError(OnError onError) {
            this.onError = Objects.requireNonNull(onError, "onError");
            return this;
        }

        /** The column naming each row's batch, for batch and input statistics; rows with a null group form one group. */
        public Builder groupBy(String column) {
            this.groupCol = name(column, "groupBy");
            return this;
        }

        /** The column that orders the rows of a group (default {@code path}). */
        public Builder orderBy(String column) {
            this.orderCol = name(column, "orderBy");
            return this;
        }

        /** Rows of one partition translated per call under sample and running statistics (default 1). */
        public Builder batchSize(int n) {
            if (n < 1 || n > 4096) throw new IllegalArgumentException("batchSize: expected 1 to 4096, got " + n);
            this.batchSize = n;
            return this;
        }

        /** The largest group translated in one call (default 256); the rows of a larger group get an error. */
        public Builder maxGroupSize(int n) {
            if (n < 1 || n > 4096) throw new IllegalArgumentException("maxGroupSize: expected 1 to 4096, got " + n);
            this.maxGroupSize = n;
            return this;
        }

        /** The C, H, W of each row of a tensor input column. */
        public Builder tensorShape(int c, int h, int w) {
            if (c < 1 || h < 1 || w < 1 || (long) c * h * w > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("tensorShape: expected C, H, W >= 1 with C * H * W < 2^31 - 8, got " + c + ", " + h + ", " + w);
            }
            this.tensorShape = new int[] {c, h, w};
            return this;
        }

        /** The encoding of translated binary images: same (default: the input's format), png or jpg. */
        public Builder outputFormat(String format) {
            String f = format == null ? "" : format.trim().toLowerCase(Locale.ROOT);
            if (f.equals("jpeg")) f = "jpg";
            if (!f.equals("same") && !f.equals("png") && !f.equals("jpg")) {
                throw new IllegalArgumentException("outputFormat: expected same, png or jpg, got '" + format + "'");
            }
            this.outputFormat = f;
            return this;
        }

        public SparkTranslator build() {
            if (precision == Precision.FP16 && !device.equals("cuda")) {
                // auto falls back to the CPU on an executor without a GPU, where fp16 does not run.
                throw new IllegalArgumentException("precision fp16 runs only on a CUDA device: set device cuda (and the"
                        + " executors' GPU resources), or use precision fp32; got device " + device);
            }
            return new SparkTranslator(this);
        }

        private static String name(String name, String what) {
            if (name == null || name.isBlank()) throw new IllegalArgumentException(what + ": expected a column name, got '" + name + "'");
            return name;
        }
    }
}
