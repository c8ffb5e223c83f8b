package dev.samplenorm.cli;

import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.environment.ThreadPriority;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.runtime.MicrometerServiceMetrics;
import dev.samplenorm.runtime.TranslationService;
import dev.samplenorm.server.TranslationServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;

/**
 * Starts {@code serve}'s HTTP server. Apart from {@link ServeCommand} so that the command line loads
 * without the server's optional dependencies (Undertow, Jackson, Micrometer): only this class names
 * their types, and it is loaded when {@code serve} runs, after {@link ServeCommand} has checked that
 * they are on the class path (loading this class verifies it, which loads them).
 */
final class ServerLauncher {

    private ServerLauncher() {}

    static int serve(ServeCommand c, StatisticsMode mode, OnnxModel model, String modelName) throws InterruptedException {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        TranslationService.Builder b = TranslationService.builder(model).name(modelName)
                .generatorOptions(c.common.options(mode).build())
                .maxBatchSize(c.maxBatch).maxQueueDelay(Duration.ofNanos((long) (c.maxDelayMs * 1e6))).queueCapacity(c.queue)
                .maxImageSize(c.maxImageSide, c.maxImagePixels).metrics(new MicrometerServiceMetrics(registry, modelName))
                // Nothing else in this process uses OpenCV while the server starts: the restart is safe here.
                .computeNice(c.computeNice).restartOpenCvPool(c.computeNice > 0);
        if (c.preferred != null) b.preferredBatchSizes(c.preferred.stream().mapToInt(Integer::intValue).toArray());
        if (c.common.device.trim().equalsIgnoreCase("auto")) {
            b.instances(c.instances);
        } else {
            b.instances(Device.parse(c.common.device), c.instances);
        }
        long start = System.nanoTime();
        TranslationService service = b.build();
        TranslationServer server;
        try {
            server = TranslationServer.builder(service).host(c.host).port(c.port).modelName(modelName).metrics(registry)
                    .maxBodyBytes(c.maxBodyMb << 20).requestTimeout(Duration.ofMillis(c.timeoutMs))
                    .warmUp(Duration.ofNanos((long) (c.warmUpS * 1e9))).build().start();
        } catch (RuntimeException e) {
            service.shutdown(Duration.ZERO);
            throw new UserError("cannot listen on " + c.host + ":" + c.port + ": " + e.getMessage());
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            c.spec.commandLine().getErr().println("samplenorm: draining requests in flight (up to " + c.shutdownTimeoutS + " s)");
            server.shutdown(Duration.ofSeconds(c.shutdownTimeoutS));
            c.spec.commandLine().getErr().println("samplenorm: stopped");
            stopped.countDown();
        }, "samplenorm-shutdown"));
        c.spec.commandLine().getOut().printf(Locale.ROOT,
                "serving %s (statistics %s, %s, max batch %d, max delay %s ms, queue %d, %s) on http://%s:%d (ready in %.1f s)%n",
                modelName, mode.cliName(), service.devices(), c.maxBatch, c.maxDelayMs, c.queue, computePriority(service),
                server.address().getHostString(), server.port(), (System.nanoTime() - start) / 1e9);
        c.spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }

    /** The start-up line's words for the compute threads' priority, e.g. "compute threads at nice 10". */
    static String computePriority(TranslationService service) {
        if (service.computeNice() == 0) return "compute threads at normal priority";
        List<ThreadPriority.Outcome> outcomes = service.computePriorities();
        ThreadPriority.Outcome first = outcomes.get(0);
        for (ThreadPriority.Outcome o : outcomes) {
            if (o.notApplied()) return "compute nice " + service.computeNice() + " not applied: " + o.reason();
        }
        int nice = outcomes.stream().mapToInt(ThreadPriority.Outcome::after).min().orElse(first.after());
        return "compute threads at nice " + nice;
    }
}
