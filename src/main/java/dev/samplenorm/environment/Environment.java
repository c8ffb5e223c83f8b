package dev.samplenorm.environment;

import dev.samplenorm.Device;
import dev.samplenorm.Precision;
import dev.samplenorm.SampleNormException;
import dev.samplenorm.kernels.NativeKernels;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.global.opencv_dnn;
import org.bytedeco.opencv.opencv_core.DeviceInfo;
import org.bytedeco.opencv.opencv_core.IntIntPairVector;

/**
 * What this process can run on, probed once: samplenorm's native kernels (which variant, how many
 * CUDA devices), OpenCV (CPU or CUDA build, its CUDA devices) and OpenCV DNN's CUDA backend (FP32 and
 * FP16 targets), each with the reason it cannot be used where it cannot. The generator, the
 * {@code info} and {@code bench} commands and the GPU tests all ask this one record.
 *
 * <p>The probe creates no CUDA object before it knows a device exists: OpenCV's CUDA build on a
 * machine without a driver reports -1 devices and throws at the first CUDA call, leaving objects
 * unusable. Running a network on OpenCV's CUDA backend needs only OpenCV's side; samplenorm's CUDA
 * kernels are a separate toolkit ({@code CudaKernels}) with their own check.
 *
 * @param kernels samplenorm's native kernel library
 * @param openCv OpenCV's build, CUDA devices and DNN CUDA backend
 */
public record Environment(Kernels kernels, OpenCv openCv) {

    /**
     * samplenorm's native kernel library.
     *
     * @param version the loaded library's version with its variant, or null where it could not be loaded
     * @param builtWithCuda whether the loaded variant is the {@code -gpu} one
     * @param cudaDevices CUDA devices the kernels can use (0 without the GPU variant, driver or device)
     * @param status one line: why CUDA is or is not usable by the kernels, or why the library did not load
     */
    public record Kernels(String version, boolean builtWithCuda, int cudaDevices, String status) {

        public boolean loaded() {
            return version != null;
        }

        /** {@code gpu}, {@code cpu} or {@code not loaded}. */
        public String variant() {
            return !loaded() ? "not loaded" : builtWithCuda ? "gpu" : "cpu";
        }

        /** Null where the CUDA kernels can run on device {@code ordinal}; else why not. */
        public String cudaUnusable(int ordinal) {
            if (!loaded()) return "samplenorm's native library could not be loaded: " + status;
            if (!builtWithCuda) {
                return "the CPU variant of samplenorm's native kernels is loaded (built without CUDA, or libcudart.so.13 not found)";
            }
            if (cudaDevices <= 0) return "samplenorm's CUDA kernels find no device: " + status;
            if (ordinal >= cudaDevices) return "samplenorm's CUDA kernels see only " + cudaDevices + " CUDA device(s)";
            return null;
        }
    }

    /**
     * One CUDA device as OpenCV sees it.
     *
     * @param totalMemory bytes
     * @param major compute capability, major
     * @param minor compute capability, minor
     */
    public record CudaDevice(int ordinal, String name, long totalMemory, int major, int minor) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "cuda:%d: %s, compute capability %d.%d, %.1f GiB", ordinal, name, major, minor,
                    totalMemory / (1024.0 * 1024 * 1024));
        }
    }

    /**
     * OpenCV as loaded in this process.
     *
     * @param version OpenCV's version, or null where its native libraries could not be loaded
     * @param cudaBuild whether OpenCV's core was built with CUDA (the {@code opencv-platform-gpu} jars)
     * @param cudaDeviceCount {@code getCudaEnabledDeviceCount()}: 0 for the CPU build or without a device,
     *     -1 for the CUDA build without a (recent enough) driver
     * @param devices the CUDA devices, where the count is positive
     * @param dnnCuda whether OpenCV DNN offers its CUDA backend with the FP32 target
     * @param dnnCudaFp16 whether it offers the CUDA FP16 target (devices of compute capability 5.3 and newer)
     * @param loadError why OpenCV could not be loaded or probed; null when it could
     */
    public record OpenCv(String version, boolean cudaBuild, int cudaDeviceCount, List<CudaDevice> devices, boolean dnnCuda,
            boolean dnnCudaFp16, String loadError) {

        public OpenCv {
            devices = List.copyOf(devices);
        }

        /** Null where OpenCV DNN can run a network on CUDA device {@code ordinal} in {@code precision}; else why not. */
        public String dnnCudaUnusable(int ordinal, Precision precision) {
            Objects.requireNonNull(precision, "precision");
            if (loadError != null) return "OpenCV could not be loaded: " + loadError;
            if (!cudaBuild) return "OpenCV is its CPU build (its CUDA build comes with opencv-platform-gpu, Maven profile -Pgpu)";
            if (cudaDeviceCount < 0) return "OpenCV's CUDA build finds no CUDA driver for CUDA 13 (no NVIDIA driver, or an older one)";
            if (cudaDeviceCount == 0) return "OpenCV's CUDA build finds no CUDA device";
            if (ordinal >= cudaDeviceCount) return "OpenCV sees only " + cudaDeviceCount + " CUDA device(s)";
            if (!dnnCuda) {
                return "OpenCV's DNN module offers no CUDA backend (the CPU build of opencv_dnn was loaded because its CUDA build"
                        + " could not be: are cuDNN 9 and cuBLAS 13 on the library path?)";
            }
            if (precision == Precision.FP16 && !dnnCudaFp16) return "OpenCV's DNN module offers no CUDA FP16 target on this device";
            return null;
        }
    }

    private static final class Holder {
        static final Environment CURRENT = probe();
    }

    /** The environment of this process, probed on first use. */
    public static Environment current() {
        return Holder.CURRENT;
    }

    /** Null where OpenCV DNN can run a network on {@code device} (a CUDA device) in {@code precision}; else why not. */
    public String dnnCudaUnusable(Device device, Precision precision) {
        Objects.requireNonNull(device, "device");
        return openCv.dnnCudaUnusable(device.isCuda() ? device.ordinal() : 0, precision);
    }

    /** Whether {@code auto} resolves to CUDA device 0 for float32 networks. */
    public boolean cudaUsable() {
        return openCv.dnnCudaUnusable(0, Precision.FP32) == null;
    }

    /**
     * The device a network runs on: {@code auto} becomes CUDA device 0 where OpenCV DNN can use it
     * in {@code precision}, else the CPU; {@code cuda:N} must be usable.
     *
     * @throws IllegalArgumentException for {@link Precision#FP16} on the CPU
     * @throws SampleNormException {@code NO_CUDA_DEVICE} for a CUDA device (or fp16 under auto) that cannot be used, with the reason
     */
    public Device resolve(Device requested, Precision precision) {
        Objects.requireNonNull(requested, "device");
        Objects.requireNonNull(precision, "precision");
        if (requested.isCpu()) {
            if (precision == Precision.FP16) {
                throw new IllegalArgumentException("precision fp16 runs only on a CUDA device (OpenCV's CUDA FP16 target); the CPU"
                        + " computes in float32: use precision fp32 on the cpu");
            }
            return requested;
        }
        Device cuda = requested.isAuto() ? Device.cuda(0) : requested;
        String why = dnnCudaUnusable(cuda, precision);
        if (why == null) return cuda;
        if (requested.isAuto() && precision == Precision.FP32) return Device.cpu();
        String what = requested.isAuto() ? "precision fp16 needs a CUDA device" : "device " + requested + " was requested";
        throw new SampleNormException(SampleNormException.Code.NO_CUDA_DEVICE, what + " but " + why + "; use "
                + (precision == Precision.FP16 ? "precision fp32 and " : "") + "device cpu or auto");
    }

    /** One line per component, as {@code samplenorm info} prints them. */
    public List<String> describe() {
        List<String> lines = new ArrayList<>();
        lines.add("cpu: available");
        lines.add("native kernels: " + (kernels.loaded() ? kernels.version() + ", variant " + kernels.variant() : "not loaded")
                + "; CUDA: " + orUsable(kernels.cudaUnusable(0), kernels.cudaDevices() + " device(s)"));
        if (openCv.loadError() != null) {
            lines.add("OpenCV: not loaded (" + openCv.loadError() + ")");
        } else {
            lines.add("OpenCV " + openCv.version() + ", " + (openCv.cudaBuild() ? "CUDA build" : "CPU build") + ", CUDA devices: "
                    + openCv.cudaDeviceCount());
        }
        for (CudaDevice d : openCv.devices()) lines.add("  " + d);
        String fp32 = openCv.dnnCudaUnusable(0, Precision.FP32);
        lines.add("OpenCV DNN CUDA backend: " + (fp32 != null ? "not usable (" + fp32 + ")"
                : "usable, targets fp32" + (openCv.dnnCudaFp16() ? " and fp16" : " (no fp16 target)")));
        lines.add("device auto: " + (fp32 == null ? "cuda:0" : "cpu"));
        return lines;
    }

    private static String orUsable(String why, String usable) {
        return why == null ? "usable, " + usable : "not usable (" + why + ")";
    }

    // ---------------------------------------------------------------------------------- probe

    /** Probes this process; every failure becomes a reason, never an exception. */
    static Environment probe() {
        return new Environment(probeKernels(), probeOpenCv());
    }

    private static Kernels probeKernels() {
        try {
            return new Kernels(NativeKernels.version(), NativeKernels.builtWithCuda(), NativeKernels.cudaDeviceCount(),
                    NativeKernels.cudaStatus());
        } catch (RuntimeException | LinkageError e) {
            return new Kernels(null, false, 0, String.valueOf(e.getMessage()));
        }
    }

    private static OpenCv probeOpenCv() {
        String version;
        boolean cudaBuild;
        int count;
        try {
            version = opencv_core.getVersionString().getString();
            cudaBuild = cudaBuild(opencv_core.getBuildInformation());
            count = opencv_core.getCudaEnabledDeviceCount();
        } catch (RuntimeException | LinkageError e) {
            return new OpenCv(null, false, 0, List.of(), false, false, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        List<CudaDevice> devices = new ArrayList<>();
        boolean dnnCuda = false, dnnFp16 = false;
        // Only with a device: every CUDA call of OpenCV's CUDA build throws without one.
        if (count > 0) {
            try {
                for (int i = 0; i < count; i++) {
                    try (DeviceInfo d = new DeviceInfo(i)) {
                        devices.add(new CudaDevice(i, d.name().getString(), d.totalMemory(), d.majorVersion(), d.minorVersion()));
                    }
                }
                try (IntIntPairVector pairs = opencv_dnn.getAvailableBackends()) {
                    for (long i = 0; i < pairs.size(); i++) {
                        if (pairs.first(i) != opencv_dnn.DNN_BACKEND_CUDA) continue;
                        if (pairs.second(i) == opencv_dnn.DNN_TARGET_CUDA) dnnCuda = true;
                        if (pairs.second(i) == opencv_dnn.DNN_TARGET_CUDA_FP16) dnnFp16 = true;
                    }
                }
            } catch (RuntimeException | LinkageError e) {
                return new OpenCv(version, cudaBuild, count, devices, false, false,
                        "probing its CUDA devices failed: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
        return new OpenCv(version, cudaBuild, count, devices, dnnCuda, dnnFp16, null);
    }

    /** Whether OpenCV's build information says {@code NVIDIA CUDA: YES}. */
    static boolean cudaBuild(BytePointer buildInformation) {
        for (String line : buildInformation.getString().split("\n")) {
            String l = line.strip();
            if (l.startsWith("NVIDIA CUDA:")) return l.substring("NVIDIA CUDA:".length()).strip().startsWith("YES");
        }
        return false;
    }
}
