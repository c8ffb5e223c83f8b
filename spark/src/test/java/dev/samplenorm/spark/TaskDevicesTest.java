package dev.samplenorm.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.Device;
import java.util.Map;
import java.util.function.Function;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;

/** The device of a task follows the GPU address Spark assigned it. */
class TaskDevicesTest {

    private static final Function<Device, String> USABLE = d -> null;
    private static final Function<Device, String> CPU_BUILD = d -> "OpenCV here is built without CUDA";

    private static Map<String, ResourceInformation> gpus(String... addresses) {
        return Map.of("gpu", new ResourceInformation("gpu", addresses));
    }

    @Test
    void withoutAGpuResourceAutoAndCpuRunOnTheCpuAndCudaIsRefused() {
        assertEquals(Device.cpu(), TaskDevices.resolve("auto", Map.of(), USABLE));
        assertEquals(Device.cpu(), TaskDevices.resolve("cpu", Map.of(), USABLE));
        assertEquals(Device.cpu(), TaskDevices.resolve("auto", gpus(), USABLE));
        var e = assertThrows(IllegalStateException.class, () -> TaskDevices.resolve("cuda", Map.of(), USABLE));
        assertTrue(e.getMessage().contains("spark.task.resource.gpu.amount"), e.getMessage());
    }

    @Test
    void theTaskRunsOnTheGpuSparkAssignedIt() {
        assertEquals(Device.cuda(3), TaskDevices.resolve("auto", gpus("3"), USABLE));
        assertEquals(Device.cuda(1), TaskDevices.resolve("cuda", gpus("1", "2"), USABLE));
        assertEquals(Device.cpu(), TaskDevices.resolve("cpu", gpus("1"), USABLE));
    }

    @Test
    void aGpuThisExecutorCannotUseFallsBackUnderAutoAndFailsUnderCuda() {
        assertEquals(Device.cpu(), TaskDevices.resolve("auto", gpus("0"), CPU_BUILD));
        var e = assertThrows(IllegalStateException.class, () -> TaskDevices.resolve("cuda", gpus("0"), CPU_BUILD));
        assertTrue(e.getMessage().contains("built without CUDA"), e.getMessage());
    }

    @Test
    void addressesThatAreNotOrdinalsAndUnknownRequestsAreRefused() {
        var e = assertThrows(IllegalStateException.class, () -> TaskDevices.resolve("auto", gpus("GPU-5f3a"), USABLE));
        assertTrue(e.getMessage().contains("expected a CUDA device ordinal"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> TaskDevices.resolve("auto", gpus("-1"), USABLE));
        assertThrows(IllegalArgumentException.class, () -> TaskDevices.resolve("tpu", Map.of(), USABLE));
    }
}
