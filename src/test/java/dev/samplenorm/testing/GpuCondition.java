package dev.samplenorm.testing;

import dev.samplenorm.Device;
import org.bytedeco.opencv.global.opencv_core;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Decides per test method whether a {@link GpuTest} runs: enabled where CUDA is usable, skipped with
 * the reason elsewhere, and a failure when {@code samplenorm.requireGpu} is true. Deciding per method
 * (not per class) makes each skipped test visible in the Surefire report.
 */
public final class GpuCondition implements ExecutionCondition {

    /** System property that turns a skip into a failure, for GPU hosts. */
    public static final String REQUIRE_GPU = "samplenorm.requireGpu";

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        if (context.getTestMethod().isEmpty()) return ConditionEvaluationResult.enabled("decided per test");
        String reason = skipReason();
        if (reason == null) return ConditionEvaluationResult.enabled("CUDA is usable");
        if (Boolean.getBoolean(REQUIRE_GPU)) {
            throw new IllegalStateException(REQUIRE_GPU + "=true but " + reason);
        }
        return ConditionEvaluationResult.disabled("GPU test skipped: " + reason);
    }

    /** Null where CUDA is usable for the tests; else why not. */
    public static String skipReason() {
        boolean kernels = Device.cudaAvailable();
        int cv = opencv_core.getCudaEnabledDeviceCount();
        if (kernels && cv > 0) return null;
        return "no usable CUDA device: OpenCV reports " + cv + " CUDA device(s) (0 = CPU build of OpenCV, -1 = GPU build without"
                + " driver or device); samplenorm kernels: " + Device.cudaStatus();
    }
}
