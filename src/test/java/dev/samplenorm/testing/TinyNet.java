package dev.samplenorm.testing;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.proto.Onnx.AttributeProto;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.OperatorSetIdProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import dev.samplenorm.onnx.proto.Onnx.TensorShapeProto;
import dev.samplenorm.onnx.proto.Onnx.TypeProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A tiny image-to-image network built twice from one description: as an ONNX model (protobuf
 * builders, any opset) and as an independent double-precision forward pass that knows each
 * statistics mode. Weights are seeded random float32 values shared by both.
 */
public final class TinyNet {

    /** How a BatchNormalization node is written. */
    public enum BnForm {
        /** One output, no training_mode: an eval-mode export. */
        INFERENCE,
        /** Three outputs (Y, running mean, running var); {@code training_mode=1} at opset 14+. */
        TRAINING_3,
        /** Five outputs (Y, running mean, running var, saved mean, saved var), as opset 9-13 training exports. */
        TRAINING_5
    }

    private interface Layer {
        String emit(Emitter e, String x);

        Tensor forward(Tensor x, StatisticsMode mode);
    }

    private final ModelProto model;
    private final List<Layer> layers;
    private final int channels;

    private TinyNet(ModelProto model, List<Layer> layers, int channels) {
        this.model = model;
        this.layers = layers;
        this.channels = channels;
    }

    public static Builder builder(int opset, int channels) {
        return new Builder(opset, channels);
    }

    public OnnxModel model() {
        return OnnxModel.of(model);
    }

    public ModelProto proto() {
        return model;
    }

    public int inputChannels() {
        return channels;
    }

    /**
     * The output for {@code mode} in double precision. {@link StatisticsMode#INPUT} normalizes the
     * input with its batch statistics (eps {@code inputEps}), runs with running statistics and
     * de-normalizes the output with the same statistics.
     */
    public Tensor reference(Tensor x, StatisticsMode mode, double inputEps) {
        if (mode != StatisticsMode.INPUT) return run(x, mode);
        double[][] mv = x.channelStats();
        Tensor xn = x.map((c, v) -> (v - mv[0][c]) / Math.sqrt(mv[1][c] + inputEps));
        Tensor y = run(xn, StatisticsMode.RUNNING);
        if (y.c() != x.c()) throw new IllegalStateException("input mode needs C_out == C_in");
        return y.map((c, v) -> v * Math.sqrt(mv[1][c] + inputEps) + mv[0][c]);
    }

    public Tensor reference(Tensor x, StatisticsMode mode) {
        return reference(x, mode, 1e-5);
    }

    private Tensor run(Tensor x, StatisticsMode mode) {
        Tensor t = x;
        for (Layer l : layers) t = l.forward(t, mode);
        return t;
    }

    /** Collects nodes and initializers, with fresh names. */
    private static final class Emitter {
        final int opset;
        final List<NodeProto> nodes = new ArrayList<>();
        final List<TensorProto> init = new ArrayList<>();
        int next;

        Emitter(int opset) {
            this.opset = opset;
        }

        String name(String op) {
            return op.toLowerCase() + "_" + (next++);
        }

        String floats(String base, long[] dims, float[] v) {
            String n = name(base);
            TensorProto.Builder t = TensorProto.newBuilder().setName(n).setDataType(TensorProto.DataType.FLOAT_VALUE);
            for (long d : dims) t.addDims(d);
            for (float f : v) t.addFloatData(f);
            init.add(t.build());
            return n;
        }
    }

    public static final class Builder {
        private final int opset;
        private final int channels;
        private final SplittableRandom random;
        private final List<Layer> layers = new ArrayList<>();
        private int c;
        private long inputH = -1, inputW = -1;
        private String outputName = "output";

        private Builder(int opset, int channels) {
            this.opset = opset;
            this.channels = channels;
            this.c = channels;
            this.random = new SplittableRandom(1000L * opset + channels);
        }

        /** Declares fixed H and W in the model input (default: symbolic H and W). */
        public Builder inputSize(int h, int w) {
            this.inputH = h;
            this.inputW = w;
            return this;
        }

        public Builder outputName(String name) {
            this.outputName = name;
            return this;
        }

        private float[] uniform(int n, double lo, double hi) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) random.nextDouble(lo, hi);
            return v;
        }

        public Builder conv(int out, int k, int stride, int pad, boolean bias) {
            int in = c;
            double bound = 1.5 / Math.sqrt(in * k * k);
            float[] w = uniform(out * in * k * k, -bound, bound);
            float[] b = bias ? uniform(out, -0.2, 0.2) : null;
            layers.add(new Layer() {
                public String emit(Emitter e, String x) {
                    String wn = e.floats("conv_w", new long[] {out, in, k, k}, w);
                    NodeProto.Builder n = NodeProto.newBuilder().setOpType("Conv").setName(e.name("Conv")).addInput(x).addInput(wn)
                            .addAttribute(ints("kernel_shape", k, k)).addAttribute(ints("strides", stride, stride))
                            .addAttribute(ints("pads", pad, pad, pad, pad)).addAttribute(ints("dilations", 1, 1))
                            .addAttribute(integer("group", 1));
                    if (b != null) n.addInput(e.floats("conv_b", new long[] {out}, b));
                    String y = e.name("conv_out");
                    e.nodes.add(n.addOutput(y).build());
                    return y;
                }

                public Tensor forward(Tensor x, StatisticsMode mode) {
                    return Tensor.conv(x, w, b, out, k, stride, pad);
                }
            });
            c = out;
            return this;
        }

        public Builder convTranspose(int out, int k, int stride, int pad, int outputPadding, boolean bias) {
            int in = c;
            double bound = 1.5 / Math.sqrt(in * k * k / (double) (stride * stride));
            float[] w = uniform(in * out * k * k, -bound, bound);
            float[] b = bias ? uniform(out, -0.2, 0.2) : null;
            layers.add(new Layer() {
                public String emit(Emitter e, String x) {
                    String wn = e.floats("convt_w", new long[] {in, out, k, k}, w);
                    NodeProto.Builder n = NodeProto.newBuilder().setOpType("ConvTranspose").setName(e.name("ConvTranspose"))
                            .addInput(x).addInput(wn).addAttribute(ints("kernel_shape", k, k))
                            .addAttribute(ints("strides", stride, stride)).addAttribute(ints("pads", pad, pad, pad, pad))
                            .addAttribute(ints("dilations", 1, 1)).addAttribute(integer("group", 1));
                    if (outputPadding != 0) n.addAttribute(ints("output_padding", outputPadding, outputPadding));
                    if (b != null) n.addInput(e.floats("convt_b", new long[] {out}, b));
                    String y = e.name("convt_out");
                    e.nodes.add(n.addOutput(y).build());
                    return y;
                }

                public Tensor forward(Tensor x, StatisticsMode mode) {
                    return Tensor.convTranspose(x, w, b, out, k, stride, pad, outputPadding);
                }
            });
            c = out;
            return this;
        }

        public Builder batchNorm(BnForm form) {
            return batchNorm(form, 1e-5f);
        }

        public Builder batchNorm(BnForm form, float eps) {
            int ch = c;
            float[] gamma = uniform(ch, 0.5, 1.5), beta = uniform(ch, -0.5, 0.5);
            // Running statistics far from any batch's, so that the modes give clearly different outputs.
            float[] mean = uniform(ch, -0.8, 0.8), var = uniform(ch, 0.3, 3.0);
            layers.add(new Layer() {
                public String emit(Emitter e, String x) {
                    String name = e.name("BatchNormalization");
                    NodeProto.Builder n = NodeProto.newBuilder().setOpType("BatchNormalization").setName(name).addInput(x)
                            .addInput(e.floats("bn_scale", new long[] {ch}, gamma)).addInput(e.floats("bn_bias", new long[] {ch}, beta))
                            .addInput(e.floats("bn_mean", new long[] {ch}, mean)).addInput(e.floats("bn_var", new long[] {ch}, var))
                            .addAttribute(AttributeProto.newBuilder().setName("epsilon").setType(AttributeProto.AttributeType.FLOAT)
                                    .setF(eps))
                            .addAttribute(AttributeProto.newBuilder().setName("momentum").setType(AttributeProto.AttributeType.FLOAT)
                                    .setF(0.9f));
                    String y = e.name("bn_out");
                    n.addOutput(y);
                    if (form != BnForm.INFERENCE) {
                        n.addOutput(name + "_running_mean").addOutput(name + "_running_var");
                        if (form == BnForm.TRAINING_5) n.addOutput(name + "_saved_mean").addOutput(name + "_saved_var");
                        if (e.opset >= 14) n.addAttribute(integer("training_mode", 1));
                    }
                    e.nodes.add(n.build());
                    return y;
                }

                public Tensor forward(Tensor x, StatisticsMode mode) {
                    return Tensor.batchNorm(x, gamma, beta, mean, var, eps, mode);
                }
            });
            return this;
        }

        public Builder relu() {
            return activation("Relu", null, v -> Math.max(v, 0));
        }

        public Builder leakyRelu(float alpha) {
            return activation("LeakyRelu", floatAttribute("alpha", alpha), v -> v >= 0 ? v : alpha * v);
        }

        public Builder tanh() {
            return activation("Tanh", null, Math::tanh);
        }

        private Builder activation(String op, AttributeProto attr, java.util.function.DoubleUnaryOperator f) {
            layers.add(new Layer() {
                public String emit(Emitter e, String x) {
                    String y = e.name(op + "_out");
                    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(e.name(op)).addInput(x).addOutput(y);
                    if (attr != null) n.addAttribute(attr);
                    e.nodes.add(n.build());
                    return y;
                }

                public Tensor forward(Tensor x, StatisticsMode mode) {
                    return x.map((ch, v) -> f.applyAsDouble(v));
                }
            });
            return this;
        }

        /** A Dropout node as the opset's exporter writes it (ratio attribute before 12, ratio and BOOL training_mode inputs from 12). */
        public Builder dropout() {
            layers.add(new Layer() {
                public String emit(Emitter e, String x) {
                    String y = e.name("dropout_out"), mask = e.name("dropout_mask");
                    NodeProto.Builder n = NodeProto.newBuilder().setOpType("Dropout").setName(e.name("Dropout")).addInput(x);
                    if (e.opset >= 12) {
                        String ratio = e.name("dropout_ratio"), training = e.name("dropout_training");
                        e.nodes.add(constant(e.name("Constant"), ratio, TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE)
                                .addFloatData(0.5f).build()));
                        e.nodes.add(constant(e.name("Constant"), training, TensorProto.newBuilder().setDataType(TensorProto.DataType.BOOL_VALUE)
                                .addInt32Data(1).build()));
                        n.addInput(ratio).addInput(training);
                    } else {
                        n.addAttribute(AttributeProto.newBuilder().setName("ratio").setType(AttributeProto.AttributeType.FLOAT).setF(0.5f));
                    }
                    e.nodes.add(n.addOutput(y).addOutput(mask).build());
                    return y;
                }

                public Tensor forward(Tensor x, StatisticsMode mode) {
                    return x;
                }
            });
            return this;
        }

        public TinyNet build() {
            Emitter e = new Emitter(opset);
            String x = "input";
            for (Layer l : layers) x = l.emit(e, x);
            // The last node writes the graph output under its public name.
            NodeProto last = e.nodes.remove(e.nodes.size() - 1);
            e.nodes.add(rename(last, x, outputName));
            GraphProto g = GraphProto.newBuilder().setName("tiny").addAllNode(e.nodes).addAllInitializer(e.init)
                    .addInput(valueInfo("input", channels, inputH, inputW)).addOutput(valueInfo(outputName, c, -1, -1)).build();
            ModelProto m = ModelProto.newBuilder().setIrVersion(opset >= 15 ? 8 : 7).setProducerName("samplenorm-tests")
                    .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(g).build();
            return new TinyNet(m, List.copyOf(layers), channels);
        }
    }

    private static NodeProto rename(NodeProto n, String from, String to) {
        NodeProto.Builder b = n.toBuilder();
        for (int i = 0; i < b.getOutputCount(); i++) if (b.getOutput(i).equals(from)) b.setOutput(i, to);
        return b.build();
    }

    public static ValueInfoProto valueInfo(String name, int c, long h, long w) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder()
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(c))
                .addDim(h > 0 ? TensorShapeProto.Dimension.newBuilder().setDimValue(h) : TensorShapeProto.Dimension.newBuilder().setDimParam("H"))
                .addDim(w > 0 ? TensorShapeProto.Dimension.newBuilder().setDimValue(w) : TensorShapeProto.Dimension.newBuilder().setDimParam("W"));
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }

    public static NodeProto constant(String name, String output, TensorProto value) {
        return NodeProto.newBuilder().setOpType("Constant").setName(name).addOutput(output)
                .addAttribute(AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR).setT(value)).build();
    }

    public static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) a.addInts(x);
        return a.build();
    }

    public static AttributeProto integer(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static AttributeProto floatAttribute(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }
}
