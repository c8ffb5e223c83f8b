package dev.samplenorm.spark;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_BGRA2BGR;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_GRAY2BGR;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.imaging.ImageDecoder;
import dev.samplenorm.io.NpyArray;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * The executor side of a {@link SparkTranslator}: reads the input values of a unit of rows (a chunk
 * of a partition, or a whole group), translates them in one call on this executor's cached
 * generator, and appends the output and error values. Every input row yields exactly one output row.
 */
final class RowTranslator implements Serializable {

    private static final long serialVersionUID = 1L;

    private final SparkTranslator settings;
    private final SparkTranslator.InputKind kind;
    private final int inputIndex;
    private final int pathIndex; // -1 without a path column
    private final boolean pooled;

    RowTranslator(SparkTranslator settings, StructType schema, SparkTranslator.InputKind kind, String pooledBy) {
        this.settings = settings;
        this.kind = kind;
        this.inputIndex = schema.fieldIndex(settings.inputCol());
        this.pathIndex = Arrays.asList(schema.fieldNames()).indexOf("path");
        this.pooled = pooledBy != null;
    }

    /** Translates a partition chunk by chunk (per-image statistics). */
    Iterator<Row> translatePartition(Iterator<Row> rows) {
        return new Iterator<>() {
            private Iterator<Row> chunk = List.<Row>of().iterator();

            @Override
            public boolean hasNext() {
                while (!chunk.hasNext() && rows.hasNext()) {
                    List<Row> in = new ArrayList<>(settings.batchSize());
                    while (in.size() < settings.batchSize() && rows.hasNext()) in.add(rows.next());
                    chunk = translate(in, null).iterator();
                }
                return chunk.hasNext();
            }

            @Override
            public Row next() {
                if (!hasNext()) throw new NoSuchElementException();
                return chunk.next();
            }
        };
    }

    /** Translates one group in one call (pooled statistics), its rows in the order of column {@code orderIndex}. */
    List<Row> translateGroup(Object group, Iterable<Row> rows, int orderIndex) {
        List<Row> in = new ArrayList<>();
        rows.forEach(in::add);
        in.sort(Comparator.comparing((Row r) -> r.isNullAt(orderIndex) ? null : orderKey(r.get(orderIndex)),
                Comparator.nullsLast(Comparator.naturalOrder())));
        return translate(in, group == null ? "null" : String.valueOf(group));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Comparable orderKey(Object v) {
        return v instanceof Comparable c ? c : String.valueOf(v);
    }

    /** One unit: rows translated together; {@code group} is null for a chunk of independent rows. */
    List<Row> translate(List<Row> rows, String group) {
        int n = rows.size();
        String[] errors = new String[n];
        Object[][] outputs = new Object[n][];
        Input[] inputs = new Input[n];
        try {
            if (group != null && n > settings.maxGroupSize()) {
                Arrays.fill(errors, "not translated: group " + group + " has " + n + " rows, more than maxGroupSize "
                        + settings.maxGroupSize() + " (a group is translated in one call)");
            } else {
                for (int i = 0; i < n; i++) {
                    try {
                        inputs[i] = read(rows.get(i));
                    } catch (RuntimeException e) {
                        errors[i] = message(e);
                    }
                }
                if (group != null) checkGroup(group, rows, inputs, errors);
                List<Integer> ready = new ArrayList<>();
                for (int i = 0; i < n; i++) if (errors[i] == null) ready.add(i);
                if (!ready.isEmpty()) {
                    Generator generator = ExecutorGenerators.get(settings.keyForCurrentTask());
                    run(generator, ready, inputs, outputs, errors, group != null);
                }
            }
        } finally {
            for (Input in : inputs) if (in != null) in.close();
        }
        List<Row> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            if (errors[i] != null && settings.onError() == SparkTranslator.OnError.FAIL) {
                throw new TranslationFailedException("samplenorm: cannot translate " + describe(rows.get(i), i) + ": " + errors[i]
                        + " (onError FAIL; use onError COLUMN to keep such rows with an error message)");
            }
            out.add(outputRow(rows.get(i), outputs[i], errors[i]));
        }
        return out;
    }

    /** Pooled statistics need every row of the group, and (under batch statistics) images of one size. */
    private void checkGroup(String group, List<Row> rows, Input[] inputs, String[] errors) {
        int bad = -1;
        for (int i = 0; i < inputs.length && bad < 0; i++) if (errors[i] != null) bad = i;
        if (bad < 0 && settings.statistics() == StatisticsMode.BATCH && kind != SparkTranslator.InputKind.TENSOR) {
            for (int i = 1; i < inputs.length; i++) {
                Mat a = inputs[0].image, b = inputs[i].image;
                if (a.rows() != b.rows() || a.cols() != b.cols()) {
                    String why = "not translated: batch statistics pool over group " + group + ", so its images must have one size; "
                            + describe(rows.get(0), 0) + " is " + a.cols() + "x" + a.rows() + ", " + describe(rows.get(i), i) + " is "
                            + b.cols() + "x" + b.rows();
                    Arrays.fill(errors, why);
                    return;
                }
            }
        }
        if (bad < 0) return;
        String why = "not translated: statistics " + settings.statistics().cliName() + " pool over group " + group + ", and "
                + describe(rows.get(bad), bad) + " in it cannot be read: " + errors[bad];
        for (int i = 0; i < errors.length; i++) if (errors[i] == null) errors[i] = why;
    }

    private void run(Generator generator, List<Integer> ready, Input[] inputs, Object[][] outputs, String[] errors, boolean pooledGroup) {
        try {
            List<Object[]> results = translateTogether(generator, ready, inputs);
            for (int k = 0; k < ready.size(); k++) outputs[ready.get(k)] = results.get(k);
        } catch (RuntimeException e) {
            if (pooledGroup || ready.size() == 1) {
                for (int i : ready) errors[i] = message(e);
            } else {
                // Independent rows: find which ones fail by translating them one by one.
                for (int i : ready) run(generator, List.of(i), inputs, outputs, errors, false);
            }
        }
    }

    private List<Object[]> translateTogether(Generator generator, List<Integer> ready, Input[] inputs) {
        List<Object[]> results = new ArrayList<>(ready.size());
        if (kind == SparkTranslator.InputKind.TENSOR) {
            int[] s = settings.tensorShape();
            int per = s[0] * s[1] * s[2];
            if ((long) per * ready.size() > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("a call of " + ready.size() + " tensors of " + per + " values exceeds 2^31 - 9 values;"
                        + " use a smaller batchSize or smaller groups");
            }
            float[] blob = new float[per * ready.size()];
            for (int k = 0; k < ready.size(); k++) System.arraycopy(inputs[ready.get(k)].tensor, 0, blob, k * per, per);
            try (Mat in = NpyArray.ofFloats(new int[] {ready.size(), s[0], s[1], s[2]}, blob).toFloatMat();
                 Mat out = generator.translateBlob(in)) {
                NpyArray result = NpyArray.of(out);
                int[] shape = result.shape();
                float[] values = result.asFloats();
                int outPer = shape[1] * shape[2] * shape[3];
                for (int k = 0; k < ready.size(); k++) {
                    results.add(new Object[] {Arrays.copyOfRange(values, k * outPer, (k + 1) * outPer),
                            new int[] {shape[1], shape[2], shape[3]}});
                }
            }
            return results;
        }
        List<Mat> images = new ArrayList<>(ready.size());
        for (int i : ready) images.add(inputs[i].image);
        List<Mat> out = generator.translate(images);
        try {
            for (int k = 0; k < ready.size(); k++) {
                Input in = inputs[ready.get(k)];
                results.add(new Object[] {kind == SparkTranslator.InputKind.ENCODED ? encode(out.get(k), in.extension) : imageRow(in, out.get(k))});
            }
        } finally {
            out.forEach(Mat::close);
        }
        return results;
    }

    // ------------------------------------------------------------------------------ inputs

    /** One row's decoded input; owns its Mat. */
    private static final class Input implements AutoCloseable {
        Mat image;
        String extension; // encoded input: the output's encoding
        String origin; // Spark image input
        float[] tensor;

        @Override
        public void close() {
            if (image != null) image.close();
        }
    }

    private Input read(Row row) {
        if (row.isNullAt(inputIndex)) throw new IllegalArgumentException("input column '" + settings.inputCol() + "' is null");
        Input in = new Input();
        switch (kind) {
            case ENCODED -> {
                byte[] bytes = (byte[]) row.get(inputIndex);
                ImageDecoder decoder = ImageDecoder.defaults();
                ImageDecoder.Format format = decoder.header(bytes).format();
                in.image = decoder.decode(bytes);
                in.extension = switch (settings.outputFormat()) {
                    case "png" -> ".png";
                    case "jpg" -> ".jpg";
                    default -> format == ImageDecoder.Format.JPEG ? ".jpg" : ".png";
                };
            }
            case SPARK_IMAGE -> readSparkImage(row.getStruct(inputIndex), in);
            case TENSOR -> in.tensor = readTensor(row.getList(inputIndex));
        }
        return in;
    }

    private static void readSparkImage(Row image, Input in) {
        int h = image.getInt(image.fieldIndex("height")), w = image.getInt(image.fieldIndex("width"));
        int c = image.getInt(image.fieldIndex("nChannels"));
        int mode = image.getInt(image.fieldIndex("mode"));
        int origin = image.fieldIndex("origin");
        in.origin = image.isNullAt(origin) ? null : image.getString(origin);
        if (h < 1 || w < 1 || (long) h * w > ImageDecoder.DEFAULT_MAX_PIXELS) {
            throw new IllegalArgumentException("image struct: " + w + "x" + h + "; expected 1 to " + ImageDecoder.DEFAULT_MAX_PIXELS
                    + " pixels (an image the image source could not read has height and width -1)");
        }
        if ((c != 1 && c != 3 && c != 4) || mode != CV_8UC(c)) {
            throw new IllegalArgumentException("image struct: " + c + " channel(s), OpenCV type " + mode + "; expected 8-bit gray, BGR"
                    + " or BGRA (types 0, 16, 24) as Spark's image source writes");
        }
        int dataIndex = image.fieldIndex("data");
        byte[] data = image.isNullAt(dataIndex) ? null : (byte[]) image.get(dataIndex);
        if (data == null || data.length != (long) h * w * c) {
            throw new IllegalArgumentException("image struct: " + (data == null ? "no data" : data.length + " bytes of data") + "; expected "
                    + ((long) h * w * c) + " (" + w + " x " + h + " x " + c + ")");
        }
        try (BytePointer p = new BytePointer(data); Mat view = new Mat(h, w, CV_8UC(c), p)) {
            Mat bgr = new Mat();
            if (c == 3) view.copyTo(bgr);
            else opencv_imgproc.cvtColor(view, bgr, c == 1 ? COLOR_GRAY2BGR : COLOR_BGRA2BGR);
            in.image = bgr;
        }
    }

    private float[] readTensor(List<Object> values) {
        int[] s = settings.tensorShape();
        long expected = (long) s[0] * s[1] * s[2];
        if (values.size() != expected) {
            throw new IllegalArgumentException("tensor of " + values.size() + " values; expected C * H * W = " + s[0] + " * " + s[1]
                    + " * " + s[2] + " = " + expected + " (tensorShape)");
        }
        float[] t = new float[values.size()];
        for (int i = 0; i < t.length; i++) {
            Object v = values.get(i);
            if (v == null) throw new IllegalArgumentException("tensor value " + i + " is null; expected a number");
            t[i] = ((Number) v).floatValue();
        }
        return t;
    }

    // ----------------------------------------------------------------------------- outputs

    /** Encodes as {@code samplenorm translate}'s imwrite does for a file of that extension (OpenCV's default parameters). */
    static byte[] encode(Mat image, String extension) {
        try (BytePointer out = new BytePointer()) {
            if (!opencv_imgcodecs.imencode(extension, image, out)) {
                throw new IllegalStateException("OpenCV could not encode the output as " + extension);
            }
            byte[] bytes = new byte[(int) out.limit()];
            out.get(bytes);
            return bytes;
        }
    }

    private static Row imageRow(Input in, Mat out) {
        Mat bgr = out;
        Mat converted = null;
        if (out.channels() == 1) {
            converted = new Mat();
            opencv_imgproc.cvtColor(out, converted, COLOR_GRAY2BGR);
            bgr = converted;
        }
        try {
            Mat continuous = bgr.isContinuous() ? bgr : bgr.clone();
            try {
                byte[] data = new byte[(int) (continuous.total() * continuous.channels())];
                continuous.data().get(data);
                return RowFactory.create(in.origin, continuous.rows(), continuous.cols(), 3, CV_8UC(3), data);
            } finally {
                if (continuous != bgr) continuous.close();
            }
        } finally {
            if (converted != null) converted.close();
        }
    }

    private Row outputRow(Row row, Object[] output, String error) {
        boolean tensor = kind == SparkTranslator.InputKind.TENSOR;
        int extra = (tensor ? 2 : 1) + (settings.onError() == SparkTranslator.OnError.COLUMN ? 1 : 0);
        Object[] values = new Object[row.length() + extra];
        for (int i = 0; i < row.length(); i++) values[i] = row.get(i);
        int at = row.length();
        if (tensor) {
            values[at++] = output == null ? null : boxed((float[]) output[0]);
            values[at++] = output == null ? null : Arrays.stream((int[]) output[1]).boxed().toArray(Integer[]::new);
        } else {
            values[at++] = output == null ? null : output[0];
        }
        if (settings.onError() == SparkTranslator.OnError.COLUMN) values[at] = error;
        return RowFactory.create(values);
    }

    private static Float[] boxed(float[] v) {
        Float[] b = new Float[v.length];
        for (int i = 0; i < v.length; i++) b[i] = v[i];
        return b;
    }

    private String describe(Row row, int index) {
        if (pathIndex >= 0 && !row.isNullAt(pathIndex)) return String.valueOf(row.get(pathIndex));
        return "row " + index + " of its " + (pooled ? "group" : "chunk");
    }

    private static String message(RuntimeException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + ": " + (m == null ? "(no message)" : m.replaceAll("\\s*\\n\\s*", " | ").strip());
    }
}
