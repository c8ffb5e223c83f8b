package dev.samplenorm.generator;

import static org.bytedeco.opencv.global.opencv_dnn.DNN_BACKEND_CUDA;
import static org.bytedeco.opencv.global.opencv_dnn.DNN_BACKEND_OPENCV;
import static org.bytedeco.opencv.global.opencv_dnn.DNN_TARGET_CPU;
import static org.bytedeco.opencv.global.opencv_dnn.DNN_TARGET_CUDA;
import static org.bytedeco.opencv.global.opencv_dnn.DNN_TARGET_CUDA_FP16;

import dev.samplenorm.Device;
import dev.samplenorm.Precision;
import dev.samplenorm.SampleNormException;
import dev.samplenorm.onnx.OnnxModel;
import dev.samplenorm.onnx.OpenCvNets;
import java.util.List;
import org.bytedeco.opencv.global.opencv_core;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.bytedeco.opencv.opencv_dnn.Net;

/** A rewritten model imported into OpenCV DNN, on the CPU or OpenCV's CUDA backend. */
final class OpenCvNetwork implements Network {

    private final Net net;
    private final Device device;
    private final List<String> maskInputs;
    private boolean closed;

    OpenCvNetwork(OnnxModel rewritten, Device device, Precision precision, List<String> maskInputs) {
        this.device = device;
        this.maskInputs = List.copyOf(maskInputs);
        Net n = OpenCvNets.read(rewritten);
        // Kept until close(), also past a PointerScope of the caller (JavaCPP attaches new objects to
        // the innermost scope and frees them when it closes): one more reference than the scope holds.
        n.retainReference();
        try {
            if (device.isCuda()) {
                selectDevice();
                n.setPreferableBackend(DNN_BACKEND_CUDA);
                n.setPreferableTarget(precision == Precision.FP16 ? DNN_TARGET_CUDA_FP16 : DNN_TARGET_CUDA);
            } else {
                n.setPreferableBackend(DNN_BACKEND_OPENCV);
                n.setPreferableTarget(DNN_TARGET_CPU);
            }
        } catch (RuntimeException e) {
            n.close();
            throw new SampleNormException(SampleNormException.Code.MODEL, "OpenCV DNN cannot select device " + device + ": "
                    + OpenCvNets.message(e), e);
        }
        this.net = n;
    }

    /**
     * Makes the calling thread use this network's CUDA device: OpenCV DNN allocates and launches on
     * the thread's current device, which is whatever the thread used last (device 0 included).
     */
    private void selectDevice() {
        if (device.isCuda()) opencv_core.setDevice(device.ordinal());
    }

    @Override
    public Mat forward(Mat blob, List<Mat> masks) {
        if (closed) throw new IllegalStateException("this network is closed");
        try {
            selectDevice();
            net.setInput(blob);
            if (!masks.isEmpty()) {
                try (Scalar noMean = new Scalar()) {
                    for (int i = 0; i < masks.size(); i++) net.setInput(masks.get(i), maskInputs.get(i), 1.0, noMean);
                }
            }
            return net.forward();
        } catch (RuntimeException e) {
            throw new SampleNormException(SampleNormException.Code.MODEL, "OpenCV DNN failed to run the model on a "
                    + Network.shapeOf(blob) + " input on " + device + ": " + OpenCvNets.message(e), e);
        }
    }

    @Override
    public boolean outputIsNew() {
        return false;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        net.close();
    }
}
