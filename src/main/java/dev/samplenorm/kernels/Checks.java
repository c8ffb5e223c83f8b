package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_8U;

import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.GpuMat;
import org.bytedeco.opencv.opencv_core.Mat;

/** Argument checks shared by the facades; each failure names what was expected. */
final class Checks {

    private Checks() {}

    static void eps(double eps) {
        if (!(eps > 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("eps must be a finite number > 0, got " + eps);
        }
    }

    static void epsOrZero(double eps) {
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("eps must be a finite number >= 0, got " + eps);
        }
    }

    static void scale(double scale) {
        if (scale == 0 || !Double.isFinite(scale)) {
            throw new IllegalArgumentException("scale must be finite and non-zero, got " + scale);
        }
    }

    /** A 4-D, continuous CV_32F Mat; returns its shape. */
    static BlobShape blob(Mat blob, String name) {
        Objects.requireNonNull(blob, name);
        if (blob.isNull() || blob.empty()) {
            throw new IllegalArgumentException(name + ": expected a 4-D float32 NCHW blob, got an empty Mat");
        }
        if (blob.dims() != 4 || blob.type() != CV_32F) {
            throw new IllegalArgumentException(name + ": expected a 4-D float32 NCHW blob (CV_32F, dims = 4), got dims = "
                    + blob.dims() + ", type = " + typeName(blob.type()));
        }
        if (!blob.isContinuous()) {
            throw new IllegalArgumentException(name + ": expected a continuous blob, got a non-continuous view; clone() it first");
        }
        return new BlobShape(blob.size(0), blob.size(1), blob.size(2), blob.size(3));
    }

    /** A float[] holding exactly shape.elements() values. */
    static void array(float[] data, BlobShape shape, String name) {
        Objects.requireNonNull(data, name);
        Objects.requireNonNull(shape, "shape");
        if (data.length != shape.elements()) {
            throw new IllegalArgumentException(name + ": expected " + shape.elements() + " floats for shape " + shape
                    + ", got " + data.length);
        }
    }

    /** A GpuMat holding a blob of the given shape as N*C*H rows of W CV_32F columns. */
    static void gpuBlob(GpuMat blob, BlobShape shape, String name) {
        Objects.requireNonNull(blob, name);
        Objects.requireNonNull(shape, "shape");
        if (blob.isNull() || blob.empty()) {
            throw new IllegalArgumentException(name + ": expected a CV_32FC1 GpuMat of N*C*H rows and W columns, got an empty GpuMat");
        }
        long rows = (long) shape.n() * shape.c() * shape.h();
        if (blob.type() != CV_32F || blob.rows() != rows || blob.cols() != shape.w()) {
            throw new IllegalArgumentException(name + ": expected a CV_32FC1 GpuMat of " + rows + " rows x " + shape.w()
                    + " columns for blob " + shape + ", got " + blob.rows() + " x " + blob.cols() + " " + typeName(blob.type()));
        }
    }

    /** Image geometry shared by a batch. */
    record ImageGeometry(int n, int h, int w, int channels) {}

    /** A non-empty batch of 8-bit images with 1, 3 or 4 channels, all of the same size and type. */
    static ImageGeometry images(List<?> images, String name) {
        Objects.requireNonNull(images, name);
        if (images.isEmpty()) {
            throw new IllegalArgumentException(name + ": expected at least one image, got an empty batch");
        }
        int h = -1, w = -1, type = -1;
        for (int i = 0; i < images.size(); i++) {
            Object o = images.get(i);
            if (o == null) {
                throw new IllegalArgumentException(name + ": image " + i + " is null");
            }
            int ih, iw, it;
            boolean empty;
            if (o instanceof Mat m) {
                empty = m.isNull() || m.empty();
                ih = empty ? 0 : m.rows();
                iw = empty ? 0 : m.cols();
                it = empty ? -1 : m.type();
                if (!empty && m.dims() != 2) {
                    throw new IllegalArgumentException(name + ": image " + i + " must be a 2-D Mat, got dims = " + m.dims());
                }
            } else if (o instanceof GpuMat g) {
                empty = g.isNull() || g.empty();
                ih = empty ? 0 : g.rows();
                iw = empty ? 0 : g.cols();
                it = empty ? -1 : g.type();
            } else {
                throw new IllegalArgumentException(name + ": image " + i + " must be a Mat or GpuMat, got " + o.getClass().getName());
            }
            if (empty) {
                throw new IllegalArgumentException(name + ": image " + i + " is empty");
            }
            int depth = it & 7, cn = (it >> 3) + 1;
            if (depth != CV_8U || (cn != 1 && cn != 3 && cn != 4)) {
                throw new IllegalArgumentException(name + ": image " + i + " must be 8-bit with 1, 3 or 4 channels (CV_8UC1/3/4), got "
                        + typeName(it));
            }
            if (i == 0) {
                h = ih;
                w = iw;
                type = it;
            } else if (ih != h || iw != w || it != type) {
                throw new IllegalArgumentException(name + ": all images of a batch must have the same size and type; image 0 is "
                        + w + "x" + h + " " + typeName(type) + ", image " + i + " is " + iw + "x" + ih + " " + typeName(it));
            }
        }
        return new ImageGeometry(images.size(), h, w, (type >> 3) + 1);
    }

    /** Statistics that fit a batch of {@code n} samples with {@code channels} channels. */
    static void stats(ChannelStats stats, int n, int channels, String name) {
        Objects.requireNonNull(stats, name);
        if (stats.channels() != channels) {
            throw new IllegalArgumentException(name + ": expected statistics for " + channels + " channels, got " + stats.channels());
        }
        if (stats.scope() == StatsScope.SAMPLE && stats.samples() != n) {
            throw new IllegalArgumentException(name + ": expected per-sample statistics for " + n + " samples, got " + stats.samples());
        }
    }

    static void perChannel(float[] values, int channels, String name) {
        if (values != null && values.length != channels) {
            throw new IllegalArgumentException(name + ": expected " + channels + " values (one per channel), got " + values.length);
        }
    }

    /** The bytes {@code [start, end)} that a Mat's elements span; empty for an empty Mat. */
    record Span(long start, long end) {
        boolean overlaps(Span o) {
            return start < end && o.start < o.end && start < o.end && o.start < end;
        }
    }

    static Span span(Mat m) {
        if (m.isNull() || m.empty()) return new Span(0, 0);
        BytePointer data = m.data();
        if (data == null || data.isNull()) return new Span(0, 0);
        long start = data.address(), last = 0;
        for (int i = 0; i < m.dims(); i++) {
            last += (m.size(i) - 1L) * m.step1(i) * m.elemSize1();
        }
        return new Span(start, start + last + m.elemSize());
    }

    /** True when both are the same native Mat header (possibly through two Java objects). */
    static boolean sameHeader(Mat a, Mat b) {
        return a == b || (!a.isNull() && a.address() == b.address());
    }

    /**
     * Refuses an output Mat that is one of the inputs: allocating the output would reallocate
     * (and so destroy) that input while the kernel still reads it. Call before {@code create}.
     */
    static void notAnInput(Mat output, String outputName, List<Mat> inputs, String inputsName) {
        for (int i = 0; i < inputs.size(); i++) {
            if (sameHeader(output, inputs.get(i))) {
                throw new IllegalArgumentException(outputName + " is " + inputsName + "[" + i + "]: an output must not be one of the"
                        + " inputs; pass a new Mat");
            }
        }
    }

    /**
     * Refuses an output whose memory overlaps an input's memory: the kernel would overwrite values it
     * has still to read. Call after the output has been allocated.
     */
    static void noOverlap(Mat output, String outputName, List<Mat> inputs, String inputsName) {
        Span out = span(output);
        for (int i = 0; i < inputs.size(); i++) {
            if (out.overlaps(span(inputs.get(i)))) {
                throw new IllegalArgumentException(outputName + " shares memory with " + inputsName
                        + (inputs.size() == 1 ? "" : "[" + i + "]") + ": an output must not overlap an input; pass a new Mat");
            }
        }
    }

    /** Refuses two outputs that are one Mat or share memory: one would overwrite the other. */
    static void distinctOutputs(List<Mat> outputs, String name) {
        for (int i = 0; i < outputs.size(); i++) {
            Span a = span(outputs.get(i));
            for (int j = i + 1; j < outputs.size(); j++) {
                if (sameHeader(outputs.get(i), outputs.get(j)) || a.overlaps(span(outputs.get(j)))) {
                    throw new IllegalArgumentException(name + "[" + i + "] and " + name + "[" + j + "] share memory: each output"
                            + " needs its own Mat");
                }
            }
        }
    }

    static String typeName(int type) {
        if (type < 0) return "none";
        String[] depths = {"8U", "8S", "16U", "16S", "32S", "32F", "64F", "16F"};
        return "CV_" + depths[type & 7] + "C" + ((type >> 3) + 1);
    }
}
