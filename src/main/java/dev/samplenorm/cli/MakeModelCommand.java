package dev.samplenorm.cli;

import dev.samplenorm.onnx.ModelInfo;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.ReferenceGenerators;
import dev.samplenorm.onnx.proto.Onnx.ModelProto;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code samplenorm make-model} (developer command, not listed in the help): writes one of the
 * Pix2Pix reference generators of {@link ReferenceGenerators} with random weights, for benchmarks
 * on machines without Python.
 */
@Command(name = "make-model", hidden = true, mixinStandardHelpOptions = true,
        description = {"Writes a Pix2Pix reference generator with random weights as ONNX, in the form of a training-mode export"
                + " (BatchNorm with training_mode = 1 from opset 14, Dropout kept): unet_S (S = 2^k >= 32, e.g. unet_256) or"
                + " resnet_Kblocks (e.g. resnet_9blocks, input --size)."})
final class MakeModelCommand implements Callable<Integer> {

    private static final Pattern UNET = Pattern.compile("unet_(\\d+)");
    private static final Pattern RESNET = Pattern.compile("resnet_(\\d+)blocks");

    @Option(names = "--arch", required = true, paramLabel = "unet_S|resnet_Kblocks", description = "architecture, e.g. unet_256")
    String arch;

    @Option(names = "--output", required = true, paramLabel = "M.onnx", description = "where to write the model")
    Path output;

    @Option(names = "--ngf", paramLabel = "F", defaultValue = "64", description = "filters of the first layer (default: ${DEFAULT-VALUE})")
    int ngf;

    @Option(names = "--size", paramLabel = "S", defaultValue = "256",
            description = "input size of a resnet generator (default: ${DEFAULT-VALUE}); a unet's size is in its name")
    int size;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "1", description = "weight seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--opset", paramLabel = "V", defaultValue = "14", description = "ONNX operator set, 9..21 (default: ${DEFAULT-VALUE})")
    int opset;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        ModelProto proto = build(arch.trim().toLowerCase(Locale.ROOT));
        OnnxModel model = OnnxModel.of(proto);
        AtomicOutput.write(output, model::write);
        ModelInfo info = model.info();
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "wrote %s (ngf %d, opset %d, %d BatchNorm, %d Dropout, input %s) to %s, %.1f MB%n", arch, ngf, opset,
                info.batchNormCount(), info.dropoutCount(), info.input().dims(), output, Files.size(output) / 1e6);
        return 0;
    }

    private ModelProto build(String a) {
        if (ngf < 1) throw new UserError("--ngf must be >= 1, got " + ngf);
        Matcher m = UNET.matcher(a);
        if (m.matches()) {
            int s = Integer.parseInt(m.group(1));
            if (s < 32 || Integer.bitCount(s) != 1) {
                throw new UserError("unet_S needs S a power of two >= 32 (unet_128, unet_256, ...), got " + arch);
            }
            return ReferenceGenerators.unet(Integer.numberOfTrailingZeros(s), ngf, s, seed, opset);
        }
        m = RESNET.matcher(a);
        if (m.matches()) {
            int blocks = Integer.parseInt(m.group(1));
            if (blocks < 1) throw new UserError("resnet_Kblocks needs K >= 1, got " + arch);
            return ReferenceGenerators.resnet(blocks, ngf, size, seed, opset);
        }
        throw new UserError("unknown architecture '" + arch + "', expected unet_S (e.g. unet_256) or resnet_Kblocks (e.g. resnet_9blocks)");
    }
}
