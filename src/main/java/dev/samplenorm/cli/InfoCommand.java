package dev.samplenorm.cli;

import dev.samplenorm.Device;
import dev.samplenorm.environment.Environment;
import dev.samplenorm.generator.Engine;
import dev.samplenorm.onnx.ModelInfo;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.TensorInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code samplenorm info}: what a model contains and which devices can run it here. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Shows a model's inputs, outputs, opset, BatchNorm and Dropout nodes and export mode, and the devices and"
                + " engines available.")
final class InfoCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "M.onnx", description = "ONNX model (default: the bundled model)")
    Path model;

    @Option(names = "--verbose", description = "print stack traces")
    boolean verbose;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        OnnxModel onnx;
        if (model == null) {
            onnx = OnnxModel.fromResource(CommonOptions.BUNDLED_MODEL);
        } else {
            if (!Files.isRegularFile(model)) throw new UserError("model not found: " + model);
            onnx = OnnxModel.read(model);
        }
        ModelInfo info = onnx.info();
        out.printf(Locale.ROOT, "model: %s%n", model == null ? "bundled pix2pix_shapes_128.onnx" : model);
        out.printf(Locale.ROOT, "  opset %d, IR version %d, producer %s%n", info.opsetVersion(), info.irVersion(), info.producer());
        for (TensorInfo t : info.inputs()) out.printf(Locale.ROOT, "  input  %s%n", describe(t));
        for (TensorInfo t : info.outputs()) out.printf(Locale.ROOT, "  output %s%n", describe(t));
        out.printf(Locale.ROOT, "  BatchNormalization nodes: %d (%d in training form)%n", info.batchNormCount(), info.trainingBatchNormCount());
        out.printf(Locale.ROOT, "  Dropout nodes: %d%n", info.dropoutCount());
        out.printf(Locale.ROOT, "  exported in training mode: %s%n", info.hasTrainingModeBatchNorm() ? "yes"
                : info.batchNormCount() > 0 ? "no (BatchNorm in inference form)" : "no BatchNorm at all");
        for (String w : info.warnings()) out.printf(Locale.ROOT, "  warning: %s%n", w);

        out.println("environment:");
        for (String line : Environment.current().describe()) out.printf(Locale.ROOT, "  %s%n", line);
        out.println("engines:");
        out.printf(Locale.ROOT, "  opencv: cpu and cuda%n");
        out.printf(Locale.ROOT, "  onnxruntime: cpu only; %s%n", Engine.ONNXRUNTIME.isAvailable() ? "available"
                : "not available (add " + Engine.ONNXRUNTIME_ARTIFACT + " to the class path)");
        out.printf(Locale.ROOT, "  engine auto: %s on cpu, opencv on cuda%n", Engine.autoFor(Device.cpu()).cliName());
        return 0;
    }

    private static String describe(TensorInfo t) {
        return t.name() + " " + t.dims() + " " + t.elementTypeName();
    }
}
