package dev.samplenorm.generator;

import dev.samplenorm.Device;

/** Whether the CUDA variants of the tests can run here. */
final class GpuSupport {

    private GpuSupport() {}

    /** Null where OpenCV's CUDA backend, the GPU kernels and a device are all usable; else why not. */
    static String skipReason() {
        int cv = Generator.openCvCudaDeviceCount();
        boolean kernels = Device.cudaAvailable();
        if (kernels && cv > 0) return null;
        return "no usable CUDA device: OpenCV reports " + cv + " CUDA device(s) (0 = CPU build of OpenCV, -1 = GPU build without"
                + " driver or device); samplenorm kernels: " + Device.cudaStatus();
    }
}
