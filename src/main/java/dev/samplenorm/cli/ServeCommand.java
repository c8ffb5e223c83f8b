package dev.samplenorm.cli;

import dev.samplenorm.StatisticsMode;
import dev.samplenorm.onnx.OnnxModel;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code samplenorm serve}: the translation service behind an HTTP server (KServe v2, /v1/translate, /metrics). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a generator over HTTP: KServe Open Inference Protocol v2 (/v2/...), POST /v1/translate (PNG/JPEG in, PNG"
                + " out) and Prometheus /metrics. Binds 127.0.0.1 unless --host says otherwise; SIGTERM drains requests in flight.")
final class ServeCommand implements Callable<Integer> {

    /** Held strongly: java.util.logging keeps loggers weakly, and a collected logger forgets its level. */
    private static final List<java.util.logging.Logger> QUIET = List.of(java.util.logging.Logger.getLogger("io.undertow"),
            java.util.logging.Logger.getLogger("org.xnio"));

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--stats", paramLabel = "sample|batch|running|input", defaultValue = "sample",
            description = "BatchNorm statistics; sample and running merge requests into batches, batch and input never (default: ${DEFAULT-VALUE})")
    String stats;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to bind (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "port; 0 picks a free one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--name", description = "model name in the /v2/models/{name} paths (default: the model file's name)")
    String name;

    @Option(names = "--instances", paramLabel = "K", defaultValue = "1",
            description = "generator instances (one worker thread each) on the device (default: ${DEFAULT-VALUE})")
    int instances;

    @Option(names = "--max-batch", paramLabel = "B", defaultValue = "8",
            description = "most images per forward pass and per request (default: ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--max-delay-ms", paramLabel = "D", defaultValue = "5",
            description = "how long a request may wait for others to join its batch (default: ${DEFAULT-VALUE})")
    double maxDelayMs;

    @Option(names = "--preferred-batch", paramLabel = "N", split = ",",
            description = "batch sizes dispatched without waiting for the delay, e.g. 4,8")
    List<Integer> preferred;

    @Option(names = "--queue", paramLabel = "Q", defaultValue = "64",
            description = "most requests waiting; more are answered 429 (default: ${DEFAULT-VALUE})")
    int queue;

    @Option(names = "--timeout-ms", defaultValue = "30000",
            description = "how long a request may wait in the queue before it fails with 503 (default: ${DEFAULT-VALUE})")
    long timeoutMs;

    @Option(names = "--max-body-mb", defaultValue = "32", description = "largest request body in MiB (default: ${DEFAULT-VALUE})")
    long maxBodyMb;

    @Option(names = "--max-image-side", defaultValue = "4096",
            description = "largest image width or height accepted, checked in the header before decoding (default: ${DEFAULT-VALUE})")
    int maxImageSide;

    @Option(names = "--max-image-pixels", defaultValue = "16777216",
            description = "largest image area accepted, checked in the header before decoding (default: ${DEFAULT-VALUE})")
    long maxImagePixels;

    /** serve's default for --compute-nice. */
    static final int DEFAULT_COMPUTE_NICE = 10;

    @Option(names = "--compute-nice", paramLabel = "N", defaultValue = "" + DEFAULT_COMPUTE_NICE,
            description = "OS priority (Linux nice value, 0 to 19) of the threads that run the model: the worker threads and the"
                    + " OpenCV and ONNX Runtime threads they create; the HTTP threads keep normal priority, so under CPU overload"
                    + " health checks and 429s wait less for a core (measured: server-side 429 p99 from about 4-6 ms to 2 ms), while"
                    + " the answered requests' latency tail grows; nice also ranks these threads against other processes in the same"
                    + " autogroup or cgroup; 0 leaves every thread as it is (default: ${DEFAULT-VALUE})")
    int computeNice;

    @Option(names = "--warm-up-s", defaultValue = "0",
            description = "before it reports ready, the server sends itself translate requests for this long, so that the JIT has"
                    + " compiled the request path before the first users (default: ${DEFAULT-VALUE}, off)")
    double warmUpS;

    @Option(names = "--shutdown-timeout-s", defaultValue = "30",
            description = "on SIGTERM, how long requests in flight may take to finish (default: ${DEFAULT-VALUE})")
    long shutdownTimeoutS;

    @Override
    public Integer call() throws Exception {
        CommonOptions.configureLogging(common.verbose);
        if (!common.verbose) { // Undertow and XNIO log their start-up at INFO through java.util.logging
            for (java.util.logging.Logger l : QUIET) l.setLevel(java.util.logging.Level.WARNING);
        }
        StatisticsMode mode = StatisticsMode.parse(stats);
        common.checkModelFile();
        if (instances < 1 || maxBatch < 1 || queue < 1 || maxDelayMs < 0 || timeoutMs < 1 || !(warmUpS >= 0 && warmUpS <= 600)) {
            throw new UserError("expected --instances, --max-batch, --queue and --timeout-ms >= 1, --max-delay-ms >= 0 and --warm-up-s"
                    + " from 0 to 600");
        }
        if (maxBodyMb < 1 || maxBodyMb > 2047) {
            throw new UserError("--max-body-mb: expected 1 to 2047 MiB, got " + maxBodyMb);
        }
        if (computeNice < 0 || computeNice > 19) {
            throw new UserError("--compute-nice: expected a nice value from 0 (normal priority) to 19 (lowest), got " + computeNice);
        }
        OnnxModel model = common.model == null ? OnnxModel.fromResource(CommonOptions.BUNDLED_MODEL) : OnnxModel.read(common.model);
        String modelName = name != null ? name : common.model == null ? "pix2pix_shapes_128"
                : common.model.getFileName().toString().replaceFirst("(?i)\\.onnx$", "");
        if (!modelName.matches("[A-Za-z0-9_.-]+")) throw new UserError("--name: expected letters, digits, '_', '.' or '-', got " + modelName);

        requireOptionalDependencies();
        return ServerLauncher.serve(this, mode, model, modelName);
    }

    /** Classes of the optional dependencies that {@code serve} needs, one per library. */
    private static final String[] REQUIRED = {"io.undertow.Undertow", "com.fasterxml.jackson.databind.ObjectMapper",
            "io.micrometer.core.instrument.MeterRegistry", "io.micrometer.prometheusmetrics.PrometheusMeterRegistry"};

    /** @throws UserError naming the missing library when an optional dependency is not on the class path */
    static void requireOptionalDependencies() {
        for (String name : REQUIRED) {
            try {
                Class.forName(name, false, ServeCommand.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new UserError("serve needs the HTTP server and metrics libraries, which are optional dependencies of"
                        + " samplenorm; " + name + " is not on the class path (add undertow-core, jackson-databind,"
                        + " micrometer-core and micrometer-registry-prometheus, or run the ./samplenorm launcher)");
            }
        }
    }
}
