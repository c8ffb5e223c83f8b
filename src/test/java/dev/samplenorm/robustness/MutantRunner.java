package dev.samplenorm.robustness;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_dnn.readNetFromONNX;

import dev.samplenorm.SampleNormException;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.StatisticsRewrite;
import dev.samplenorm.onnx.TensorInfo;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.robustness.ModelMutations.Expect;
import dev.samplenorm.robustness.ModelMutations.Mutant;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.samplenorm.testing.Golden;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_dnn.Net;

/**
 * The child-JVM side of the model mutation tests: feeds mutated models to samplenorm (or, to
 * reproduce what samplenorm guards against, straight to OpenCV) and prints one line before and
 * one after each, so that the parent can name the mutant that crashed the JVM.
 *
 * <pre>
 * catalog [FROM]          every {@link ModelMutations} mutant (from index FROM on) through samplenorm
 * bytes SEED COUNT        COUNT random one-byte mutants of the bundled model's structure through samplenorm
 *                         (the model without Dropout nodes, as in plain-bytes)
 * plain-catalog I [J]     catalog mutants I (to J - 1) straight into OpenCV's importer and one forward pass
 * plain-bytes SEED I [J]  byte mutants I (to J - 1) of SEED of the bundled model without Dropout straight into OpenCV
 * </pre>
 *
 * Protocol on stdout: {@code BEGIN i name}, then {@code END i OUTCOME EXPECT name :: message}
 * with OUTCOME one of REFUSED (a MODEL error), TRANSLATED, FAILED (anything else thrown), and
 * finally {@code DONE count violations v}. A violation is a FAILED mutant or a mutant that had to
 * be refused and was not.
 */
public final class MutantRunner {

    static final StatisticsMode[] MODES = {StatisticsMode.SAMPLE, StatisticsMode.BATCH, StatisticsMode.RUNNING};

    private MutantRunner() {}

    public static void main(String[] args) throws IOException {
        PrintStream out = System.out;
        switch (args.length == 0 ? "" : args[0]) {
            case "catalog" -> {
                List<Mutant> mutants = ModelMutations.all();
                int from = args.length > 1 ? Integer.parseInt(args[1]) : 0;
                int violations = 0;
                for (int i = from; i < mutants.size(); i++) {
                    violations += runGuarded(out, i, mutants.get(i).name(), mutants.get(i).model().toByteArray(),
                            mutants.get(i).expect()) ? 0 : 1;
                }
                out.println("DONE " + mutants.size() + " violations " + violations);
            }
            case "bytes" -> {
                long seed = Long.parseLong(args[1]);
                int count = Integer.parseInt(args[2]);
                byte[] bundled = withoutDropout();
                int violations = 0;
                for (int i = 0; i < count; i++) {
                    ByteMutant m = byteMutant(bundled, seed, i);
                    violations += runGuarded(out, i, m.name, m.bytes, Expect.EITHER) ? 0 : 1;
                }
                out.println("DONE " + count + " violations " + violations);
            }
            case "plain-catalog" -> {
                List<Mutant> mutants = ModelMutations.all();
                int from = Integer.parseInt(args[1]), to = args.length > 2 ? Integer.parseInt(args[2]) : from + 1;
                for (int i = from; i < Math.min(to, mutants.size()); i++) {
                    runPlain(out, i, mutants.get(i).name(), mutants.get(i).model().toByteArray(), ModelMutations.H);
                }
                out.println("DONE");
            }
            case "plain-bytes" -> {
                byte[] bundled = withoutDropout();
                int from = Integer.parseInt(args[2]), to = args.length > 3 ? Integer.parseInt(args[3]) : from + 1;
                for (int i = from; i < to; i++) {
                    ByteMutant m = byteMutant(bundled, Long.parseLong(args[1]), i);
                    runPlain(out, i, m.name, m.bytes, 128);
                }
                out.println("DONE");
            }
            default -> {
                System.err.println("usage: catalog | bytes SEED COUNT | plain-catalog I | plain-bytes SEED I");
                System.exit(2);
            }
        }
        out.flush();
    }

    record ByteMutant(String name, byte[] bytes) {}

    /**
     * The bundled model without its Dropout nodes, whose BOOL constant plain OpenCV 4.13 refuses
     * before anything else: so that the plain and the guarded runs see the same mutants.
     */
    static byte[] withoutDropout() throws IOException {
        return StatisticsRewrite.withoutDropout(OnnxModel.read(Golden.MODELS.resolve("pix2pix_shapes_128.onnx"))).toByteArray();
    }

    /**
     * Mutant {@code i} of {@code seed}: one byte of the model's structure (its nodes, graph inputs
     * and outputs, opset; not the weight data, which is nearly all of the file) set to a random value.
     */
    static ByteMutant byteMutant(byte[] model, long seed, int i) {
        ModelProto m;
        try {
            m = ModelProto.parseFrom(model);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(e);
        }
        GraphProto g = m.getGraph();
        // Fields are written in field-number order: graph nodes and name first, initializers, then the rest.
        int head = ModelProto.newBuilder().mergeFrom(m).clearOpsetImport().clearMetadataProps()
                .setGraph(GraphProto.newBuilder().addAllNode(g.getNodeList()).setName(g.getName())).build().getSerializedSize() - 8;
        int tail = GraphProto.newBuilder().addAllInput(g.getInputList()).addAllOutput(g.getOutputList())
                .addAllValueInfo(g.getValueInfoList()).setDocString(g.getDocString()).build().getSerializedSize()
                + ModelProto.newBuilder().addAllOpsetImport(m.getOpsetImportList()).addAllMetadataProps(m.getMetadataPropsList())
                        .build().getSerializedSize();
        SplittableRandom r = new SplittableRandom(seed * 1_000_003L + i);
        int k = r.nextInt(head + tail);
        int at = k < head ? k : model.length - tail + (k - head);
        byte[] b = model.clone();
        byte v;
        do {
            v = (byte) r.nextInt(256);
        } while (v == b[at]);
        b[at] = v;
        return new ByteMutant(String.format("byte %d: 0x%02x -> 0x%02x", at, model[at] & 0xff, v & 0xff), b);
    }

    /** Runs one mutant through samplenorm; true unless it violates what is expected. */
    private static boolean runGuarded(PrintStream out, int i, String name, byte[] bytes, Expect expect) {
        out.println("BEGIN " + i + " " + name);
        out.flush();
        String outcome, message = "";
        try {
            OnnxModel model = OnnxModel.parse(bytes);
            List<String> shapes = new ArrayList<>();
            for (StatisticsMode mode : MODES) shapes.add(mode.cliName() + " " + translate(model, mode));
            outcome = "TRANSLATED";
            message = String.join(", ", shapes);
        } catch (SampleNormException e) {
            outcome = e.code() == SampleNormException.Code.MODEL ? "REFUSED" : "FAILED";
            message = e.code() + " " + e.getMessage();
        } catch (Throwable t) {
            outcome = "FAILED";
            message = t.toString();
            t.printStackTrace();
        }
        boolean ok = !outcome.equals("FAILED") && (expect == Expect.EITHER || outcome.equals("REFUSED"));
        out.println("END " + i + " " + outcome + " " + expect + " " + name + " :: " + message.replace('\n', ' '));
        out.flush();
        return ok;
    }

    /** Loads the generator and translates a batch of two; returns the output shape. */
    private static String translate(OnnxModel model, StatisticsMode mode) {
        try (Generator g = Generator.load(model, GeneratorOptions.builder().statistics(mode).device("cpu").build())) {
            TensorInfo in = g.modelInfo().input();
            int c = extent(in.dim(1), ModelMutations.C), h = extent(in.dim(2), ModelMutations.H), w = extent(in.dim(3), ModelMutations.W);
            if ((long) c * h * w > 1 << 20) return "loaded; input [N, " + c + ", " + h + ", " + w + "] too large to try";
            try (Mat blob = blob(2, c, h, w); Mat y = g.translateBlob(blob)) {
                return "[" + y.size(0) + ", " + y.size(1) + ", " + y.size(2) + ", " + y.size(3) + "]";
            }
        }
    }

    private static int extent(long declared, int dflt) {
        return declared > 0 ? (int) declared : dflt;
    }

    private static Mat blob(int n, int c, int h, int w) {
        Mat m = new Mat(new int[] {n, c, h, w}, CV_32F);
        float[] v = new float[n * c * h * w];
        SplittableRandom r = new SplittableRandom(42);
        for (int k = 0; k < v.length; k++) v[k] = (float) r.nextDouble(-1, 1);
        new FloatPointer(m.data()).put(v);
        return m;
    }

    /** Straight into OpenCV, as a program without samplenorm would: import, then one forward pass. */
    private static void runPlain(PrintStream out, int i, String name, byte[] bytes, int size) {
        out.println("BEGIN " + i + " " + name);
        out.flush();
        String outcome, message = "";
        try (BytePointer buffer = new BytePointer(bytes); Net net = readNetFromONNX(buffer, bytes.length);
                Mat x = blob(1, ModelMutations.C, size, size)) {
            net.setInput(x);
            try (Mat y = net.forward()) {
                outcome = "TRANSLATED";
                message = "dims " + y.dims();
            }
        } catch (Throwable t) {
            outcome = "THREW";
            message = t.toString();
        }
        out.println("END " + i + " " + outcome + " " + name + " :: " + message.replace('\n', ' '));
        out.flush();
    }
}
