package dev.samplenorm.spark;

import dev.samplenorm.Device;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * Chooses the device of a task from the GPU Spark assigned to it ({@code TaskContext.resources()},
 * filled by {@code spark.executor.resource.gpu.amount} and {@code spark.task.resource.gpu.amount}).
 *
 * <ul>
 *   <li>{@code auto}: the task's GPU (its first address, if Spark gave it several) where OpenCV DNN can
 *       use it; with no GPU resource, or with a GPU that this executor's OpenCV build cannot use
 *       (the CPU build), the CPU.</li>
 *   <li>{@code cuda}: the task's GPU, and an error when Spark gave the task none or it is unusable.</li>
 *   <li>{@code cpu}: the CPU, whatever Spark assigned.</li>
 * </ul>
 */
public final class TaskDevices {

    /** The resource name Spark's GPU scheduling uses. */
    public static final String GPU = "gpu";

    private TaskDevices() {
    }

    /** The device request values {@link #resolve} accepts. */
    static String checkRequest(String request) {
        String r = request == null ? "" : request.trim().toLowerCase(Locale.ROOT);
        if (!r.equals("auto") && !r.equals("cpu") && !r.equals("cuda")) {
            throw new IllegalArgumentException("device: expected auto, cpu or cuda (the GPU comes from Spark's resource scheduling),"
                    + " got '" + request + "'");
        }
        return r;
    }

    /** The device for the current task (or for the caller's thread outside a task: no GPU resource). */
    static Device forCurrentTask(String request, Function<Device, String> cudaUnusable) {
        TaskContext task = TaskContext.get();
        Map<String, ResourceInformation> resources = task == null ? Map.of() : task.resourcesJMap();
        return resolve(request, resources, cudaUnusable);
    }

    /**
     * The device for a task holding {@code resources}.
     *
     * @param cudaUnusable null where OpenCV DNN can run on the given CUDA device, else the reason
     * @throws IllegalStateException for {@code cuda} without a usable GPU resource, or a GPU address that is not a device ordinal
     */
    static Device resolve(String request, Map<String, ResourceInformation> resources, Function<Device, String> cudaUnusable) {
        String r = checkRequest(request);
        if (r.equals("cpu")) return Device.cpu();
        ResourceInformation gpu = resources.get(GPU);
        if (gpu == null || gpu.addresses().length == 0) {
            if (r.equals("auto")) return Device.cpu();
            throw new IllegalStateException("device cuda: Spark assigned this task no GPU; set spark.executor.resource.gpu.amount,"
                    + " spark.task.resource.gpu.amount and a GPU discovery script, or use device auto (CPU on CPU-only executors)");
        }
        String address = gpu.addresses()[0].trim();
        int ordinal;
        try {
            ordinal = Integer.parseInt(address);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("GPU address '" + address + "' assigned by Spark: expected a CUDA device ordinal (0, 1, ...),"
                    + " as the discovery script must report", e);
        }
        if (ordinal < 0) throw new IllegalStateException("GPU address " + ordinal + " assigned by Spark: expected an ordinal >= 0");
        Device cuda = Device.cuda(ordinal);
        String why = cudaUnusable.apply(cuda);
        if (why == null) return cuda;
        if (r.equals("auto")) return Device.cpu();
        throw new IllegalStateException("device cuda: Spark assigned GPU " + ordinal + " but " + why);
    }
}
