package dev.samplenorm.testing;

import dev.samplenorm.Precision;
import dev.samplenorm.environment.Environment;
import java.util.Optional;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * Decides per test method whether a {@link GpuTest} runs: enabled where the environment probe says
 * CUDA is usable for what the test {@link GpuTest#value() uses}, skipped with the reason elsewhere,
 * and a failure when {@code samplenorm.requireGpu} is true. Deciding per method (not per class) makes
 * each skipped test visible in the Surefire report.
 */
public final class GpuCondition implements ExecutionCondition {

    /** System property that turns a skip into a failure, for GPU hosts. */
    public static final String REQUIRE_GPU = "samplenorm.requireGpu";

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (context.getTestMethod().isEmpty()) return ConditionEvaluationResult.enabled("decided per test");
        GpuTest.Uses uses = find(context).map(GpuTest::value).orElse(GpuTest.Uses.KERNELS);
        String reason = skipReason(uses);
        if (reason == null) return ConditionEvaluationResult.enabled("CUDA is usable");
        if (Boolean.getBoolean(REQUIRE_GPU)) {
            throw new IllegalStateException(REQUIRE_GPU + "=true but " + reason);
        }
        return ConditionEvaluationResult.disabled("GPU test skipped: " + reason);
    }

    private static Optional<GpuTest> find(ExtensionContext context) {
        Optional<GpuTest> onMethod = context.getTestMethod().flatMap(m -> AnnotationSupport.findAnnotation(m, GpuTest.class));
        if (onMethod.isPresent()) return onMethod;
        return context.getTestClass().flatMap(c -> AnnotationSupport.findAnnotation(c, GpuTest.class));
    }

    /** Null where CUDA device 0 is usable for {@code uses}; else why not, from the environment probe. */
    public static String skipReason(GpuTest.Uses uses) {
        Environment env = Environment.current();
        String dnn = env.openCv().dnnCudaUnusable(0, Precision.FP32);
        if (uses == GpuTest.Uses.OPENCV_DNN) return dnn == null ? null : "no usable CUDA device for OpenCV DNN: " + dnn;
        String kernels = env.kernels().cudaUnusable(0);
        String openCv = env.openCv().cudaDeviceCount() > 0 ? null
                : "OpenCV reports " + env.openCv().cudaDeviceCount() + " CUDA device(s) (" + (env.openCv().cudaBuild() ? "CUDA build" : "CPU build") + ")";
        if (kernels == null && openCv == null) return null;
        return "no usable CUDA device for the CUDA kernels: " + (kernels == null ? openCv : openCv == null ? kernels : kernels + "; " + openCv);
    }

    /** Null where the CUDA kernels and OpenCV's CUDA build can use device 0; else why not. */
    public static String skipReason() {
        return skipReason(GpuTest.Uses.KERNELS);
    }
}
