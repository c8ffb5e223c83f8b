package dev.samplenorm.onnx;

import com.google.protobuf.ByteString;
import dev.samplenorm.onnx.proto.Onnx.AttributeProto;
import dev.samplenorm.onnx.proto.Onnx.GraphProto;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import dev.samplenorm.onnx.proto.Onnx.NodeProto;
import dev.samplenorm.onnx.proto.Onnx.OperatorSetIdProto;
import dev.samplenorm.onnx.proto.Onnx.TensorProto;
import dev.samplenorm.onnx.proto.Onnx.TensorShapeProto;
import dev.samplenorm.onnx.proto.Onnx.TypeProto;
import dev.samplenorm.onnx.proto.Onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The two generator architectures of the Pix2Pix reference implementation, built directly as ONNX
 * graphs with random weights, in the form a training-mode PyTorch export takes: every BatchNorm
 * keeps its identity (no folding into convolutions) and, from opset 14, carries
 * {@code training_mode = 1} with three outputs (five outputs below opset 14); Dropout nodes are
 * kept. For benchmarks and tests that need full-size models without Python.
 *
 * <ul>
 *   <li>{@link #unet}: {@code UnetGenerator}; {@code unet(8, 64, 256, ...)} is unet_256 (54.4 M
 *       parameters, 13 BatchNorm layers, Dropout in the three innermost intermediate blocks).
 *   <li>{@link #resnet}: {@code ResnetGenerator} with BatchNorm and reflection padding;
 *       {@code resnet(9, 64, 256, ...)} is resnet_9blocks.
 * </ul>
 *
 * Inputs are {@code input} [N, 3, S, S] with a symbolic batch dimension; the output is {@code output}.
 */
public final class ReferenceGenerators {

    private final int opset;
    private final SplittableRandom random;
    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private int counter;

    private ReferenceGenerators(int opset, long seed) {
        if (opset < 9 || opset > 21) {
            throw new IllegalArgumentException("opset must be in 9..21, got " + opset);
        }
        this.opset = opset;
        this.random = new SplittableRandom(seed);
    }

    /** Pix2Pix U-Net with {@code numDowns} downsamplings (input size must be divisible by 2^numDowns). */
    public static ModelProto unet(int numDowns, int ngf, int size, long seed, int opset) {
        if (numDowns < 5 || ngf < 1 || size % (1 << numDowns) != 0) {
            throw new IllegalArgumentException("expected numDowns >= 5, ngf >= 1 and size divisible by 2^numDowns, got "
                    + numDowns + ", " + ngf + ", " + size);
        }
        ReferenceGenerators b = new ReferenceGenerators(opset, seed);
        String out = b.unetBlock("input", 3, ngf, numDowns, 0, true);
        b.node("Tanh", List.of(out), "output");
        return b.model("unet_" + size + "_ngf" + ngf, size);
    }

    /** Pix2Pix ResNet generator with BatchNorm, {@code blocks} residual blocks and reflection padding. */
    public static ModelProto resnet(int blocks, int ngf, int size, long seed, int opset) {
        if (blocks < 1 || ngf < 1 || size % 4 != 0) {
            throw new IllegalArgumentException("expected blocks >= 1, ngf >= 1 and size divisible by 4, got " + blocks + ", " + ngf
                    + ", " + size);
        }
        ReferenceGenerators b = new ReferenceGenerators(opset, seed);
        String x = b.reflectPad("input", 3);
        x = b.relu(b.batchNorm(b.conv(x, 3, ngf, 7, 1, 0, false), ngf));
        int c = ngf;
        for (int i = 0; i < 2; i++) {
            x = b.relu(b.batchNorm(b.conv(x, c, c * 2, 3, 2, 1, false), c * 2));
            c *= 2;
        }
        for (int i = 0; i < blocks; i++) {
            String y = b.relu(b.batchNorm(b.conv(b.reflectPad(x, 1), c, c, 3, 1, 0, false), c));
            y = b.batchNorm(b.conv(b.reflectPad(y, 1), c, c, 3, 1, 0, false), c);
            x = b.node("Add", List.of(x, y), b.name("add"));
        }
        for (int i = 0; i < 2; i++) {
            x = b.relu(b.batchNorm(b.convTranspose(x, c, c / 2, 3, 2, 1, 1, false), c / 2));
            c /= 2;
        }
        x = b.conv(b.reflectPad(x, 3), c, 3, 7, 1, 0, true);
        b.node("Tanh", List.of(x), "output");
        return b.model("resnet_" + blocks + "blocks_ngf" + ngf, size);
    }

    // One U-Net level: outer -> [down, submodule, up] -> outer, with the skip concatenation.
    private String unetBlock(String x, int outerNc, int ngf, int numDowns, int depth, boolean outermost) {
        int inner = ngf * Math.min(8, 1 << depth);
        int outer = depth == 0 ? 3 : ngf * Math.min(8, 1 << (depth - 1));
        int inputNc = depth == 0 ? 3 : outer;
        boolean innermost = depth == numDowns - 1;
        // The reference applies its LeakyReLU in place, so the skip connection carries the
        // activated input; the outermost block has no activation on its input.
        String act = outermost ? x : leakyRelu(x);
        String h = conv(act, inputNc, inner, 4, 2, 1, false);
        if (!outermost && !innermost) h = batchNorm(h, inner);
        int upIn = inner;
        if (!innermost) {
            h = unetBlock(h, inner, ngf, numDowns, depth + 1, false);
            upIn = inner * 2;
        }
        h = relu(h);
        int upOut = outermost ? outerNc : outer;
        h = convTranspose(h, upIn, upOut, 4, 2, 1, 0, outermost);
        if (outermost) return h;
        h = batchNorm(h, upOut);
        // Dropout in the numDowns - 5 intermediate ngf*8 blocks just outside the innermost one,
        // as the reference builds them with use_dropout.
        if (!innermost && depth >= 4) h = dropout(h);
        return node("Concat", List.of(act, h), name("cat"), intAttr("axis", 1));
    }

    private String conv(String x, int cin, int cout, int k, int stride, int pad, boolean bias) {
        String w = initializer("conv_w", new long[] {cout, cin, k, k}, gaussian(cout * cin * k * k, 0.02));
        List<String> in = new ArrayList<>(List.of(x, w));
        if (bias) in.add(initializer("conv_b", new long[] {cout}, new float[cout]));
        return node("Conv", in, name("conv"), intsAttr("kernel_shape", k, k), intsAttr("strides", stride, stride),
                intsAttr("pads", pad, pad, pad, pad));
    }

    private String convTranspose(String x, int cin, int cout, int k, int stride, int pad, int outputPad, boolean bias) {
        String w = initializer("deconv_w", new long[] {cin, cout, k, k}, gaussian(cin * cout * k * k, 0.02));
        List<String> in = new ArrayList<>(List.of(x, w));
        if (bias) in.add(initializer("deconv_b", new long[] {cout}, new float[cout]));
        List<AttributeProto> attrs = new ArrayList<>(List.of(intsAttr("kernel_shape", k, k), intsAttr("strides", stride, stride),
                intsAttr("pads", pad, pad, pad, pad)));
        if (outputPad > 0) attrs.add(intsAttr("output_padding", outputPad, outputPad));
        return node("ConvTranspose", in, name("deconv"), attrs.toArray(new AttributeProto[0]));
    }

    private String batchNorm(String x, int c) {
        float[] gamma = gaussian(c, 0.02), mean = gaussian(c, 0.1), var = new float[c];
        for (int i = 0; i < c; i++) {
            gamma[i] += 1f;
            var[i] = (float) random.nextDouble(0.5, 1.5);
        }
        List<String> in = List.of(x, initializer("bn_scale", new long[] {c}, gamma), initializer("bn_bias", new long[] {c}, gaussian(c, 0.02)),
                initializer("bn_mean", new long[] {c}, mean), initializer("bn_var", new long[] {c}, var));
        String y = name("bn");
        List<String> outs = new ArrayList<>(List.of(y, y + "_running_mean", y + "_running_var"));
        if (opset < 14) outs.addAll(List.of(y + "_saved_mean", y + "_saved_var"));
        NodeProto.Builder n = NodeProto.newBuilder().setOpType("BatchNormalization").setName(y).addAllInput(in).addAllOutput(outs)
                .addAttribute(floatAttr("epsilon", 1e-5f)).addAttribute(floatAttr("momentum", 0.9f));
        if (opset >= 14) n.addAttribute(intAttr("training_mode", 1));
        graph.addNode(n);
        return y;
    }

    private String dropout(String x) {
        String y = name("dropout");
        NodeProto.Builder n = NodeProto.newBuilder().setOpType("Dropout").setName(y).addInput(x).addOutput(y).addOutput(y + "_mask");
        if (opset >= 12) {
            n.addInput(initializer("dropout_ratio", new long[0], new float[] {0.5f}));
            String training = name("dropout_training");
            graph.addInitializer(TensorProto.newBuilder().setName(training).setDataType(TensorProto.DataType.BOOL_VALUE)
                    .setRawData(ByteString.copyFrom(new byte[] {1})));
            n.addInput(training);
        } else {
            n.addAttribute(floatAttr("ratio", 0.5f));
        }
        graph.addNode(n);
        return y;
    }

    private String reflectPad(String x, int p) {
        if (opset >= 11) {
            String pads = name("pads");
            graph.addInitializer(TensorProto.newBuilder().setName(pads).setDataType(TensorProto.DataType.INT64_VALUE).addDims(8)
                    .addAllInt64Data(List.of(0L, 0L, (long) p, (long) p, 0L, 0L, (long) p, (long) p)));
            return node("Pad", List.of(x, pads), name("pad"), stringAttr("mode", "reflect"));
        }
        return node("Pad", List.of(x), name("pad"), stringAttr("mode", "reflect"), intsAttr("pads", 0, 0, p, p, 0, 0, p, p));
    }

    private String relu(String x) {
        return node("Relu", List.of(x), name("relu"));
    }

    private String leakyRelu(String x) {
        return node("LeakyRelu", List.of(x), name("lrelu"), floatAttr("alpha", 0.2f));
    }

    private String node(String op, List<String> inputs, String output, AttributeProto... attrs) {
        graph.addNode(NodeProto.newBuilder().setOpType(op).setName(output).addAllInput(inputs).addOutput(output).addAllAttribute(List.of(attrs)));
        return output;
    }

    private String initializer(String prefix, long[] dims, float[] values) {
        String n = name(prefix);
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        TensorProto.Builder t = TensorProto.newBuilder().setName(n).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setRawData(ByteString.copyFrom(buf.array()));
        for (long d : dims) t.addDims(d);
        graph.addInitializer(t);
        return n;
    }

    private float[] gaussian(int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i += 2) {
            double u1 = random.nextDouble(1e-12, 1.0), u2 = random.nextDouble(), r = Math.sqrt(-2 * Math.log(u1)) * std;
            v[i] = (float) (r * Math.cos(2 * Math.PI * u2));
            if (i + 1 < n) v[i + 1] = (float) (r * Math.sin(2 * Math.PI * u2));
        }
        return v;
    }

    private String name(String prefix) {
        return prefix + "_" + (counter++);
    }

    private ModelProto model(String name, int size) {
        graph.setName(name).addInput(tensorInfo("input", size)).addOutput(tensorInfo("output", size));
        return ModelProto.newBuilder().setIrVersion(opset >= 14 ? 8 : 6).setProducerName("samplenorm").setProducerVersion("reference")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(graph).build();
    }

    private static ValueInfoProto tensorInfo(String name, int size) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
                .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(3));
        shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(size)).addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(size));
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    private static AttributeProto intAttr(String n, long v) {
        return AttributeProto.newBuilder().setName(n).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static AttributeProto floatAttr(String n, float v) {
        return AttributeProto.newBuilder().setName(n).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    private static AttributeProto stringAttr(String n, String v) {
        return AttributeProto.newBuilder().setName(n).setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(v)).build();
    }

    private static AttributeProto intsAttr(String n, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(n).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) a.addInts(x);
        return a.build();
    }
}
