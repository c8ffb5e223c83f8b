package dev.samplenorm.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A test (or test class) that needs a usable CUDA device. Where there is none it is reported as
 * skipped, with the reason, per test; with {@code -Dsamplenorm.requireGpu=true} it fails instead.
 * Tagged {@code gpu}, so {@code -Dgroups=gpu} runs only these. What "usable" means comes from the one
 * environment probe ({@code dev.samplenorm.environment.Environment}) and {@link #value()}.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("gpu")
@ExtendWith(GpuCondition.class)
public @interface GpuTest {

    /** What the test runs on CUDA. */
    enum Uses {
        /** OpenCV DNN's CUDA backend (the generator); samplenorm's kernel variant does not matter. */
        OPENCV_DNN,
        /** samplenorm's CUDA kernels on OpenCV GpuMats: the {@code -gpu} kernel variant and OpenCV's CUDA build. */
        KERNELS
    }

    /** Default: the CUDA kernels. */
    Uses value() default Uses.KERNELS;
}
