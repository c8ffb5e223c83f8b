package dev.samplenorm.io;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.bytedeco.opencv.global.opencv_core.CV_64F;

import java.util.Arrays;
import java.util.Objects;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * A dense C-order array of float32 or float64 values with its shape, as stored in an {@code .npy}
 * file. Exactly one of {@link #floats()} and {@link #doubles()} is non-null.
 */
public final class NpyArray {

    /** Element type. */
    public enum Type {
        FLOAT32("<f4", 4),
        FLOAT64("<f8", 8);

        final String descr;
        final int bytes;

        Type(String descr, int bytes) {
            this.descr = descr;
            this.bytes = bytes;
        }
    }

    private final int[] shape;
    private final float[] floats;
    private final double[] doubles;

    private NpyArray(int[] shape, float[] floats, double[] doubles) {
        this.shape = shape;
        this.floats = floats;
        this.doubles = doubles;
    }

    /** A float32 array; {@code data} is used as is (not copied). */
    public static NpyArray ofFloats(int[] shape, float[] data) {
        int[] s = checkShape(shape, Objects.requireNonNull(data, "data").length);
        return new NpyArray(s, data, null);
    }

    /** A float64 array; {@code data} is used as is (not copied). */
    public static NpyArray ofDoubles(int[] shape, double[] data) {
        int[] s = checkShape(shape, Objects.requireNonNull(data, "data").length);
        return new NpyArray(s, null, data);
    }

    /** A copy of a continuous CV_32F or CV_64F single-channel Mat of any number of dimensions. */
    public static NpyArray of(Mat mat) {
        Objects.requireNonNull(mat, "mat");
        if (mat.isNull() || mat.empty()) {
            throw new IllegalArgumentException("mat: expected a non-empty CV_32F or CV_64F Mat, got an empty one");
        }
        if ((mat.type() != CV_32F && mat.type() != CV_64F) || !mat.isContinuous()) {
            throw new IllegalArgumentException("mat: expected a continuous single-channel CV_32F or CV_64F Mat, got type " + mat.type()
                    + (mat.isContinuous() ? "" : " (not continuous)"));
        }
        int[] shape = new int[mat.dims()];
        for (int i = 0; i < shape.length; i++) shape[i] = mat.size(i);
        long n = mat.total();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("mat: more than 2^31 - 9 elements");
        if (mat.type() == CV_32F) {
            float[] d = new float[(int) n];
            new FloatPointer(mat.data()).get(d);
            return new NpyArray(shape, d, null);
        }
        double[] d = new double[(int) n];
        new DoublePointer(mat.data()).get(d);
        return new NpyArray(shape, null, d);
    }

    /** Largest element count of an array: what one Java array can hold. */
    static final int MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    /** Most dimensions a Mat can have (OpenCV's CV_MAX_DIM). */
    public static final int MAX_MAT_DIMS = 32;

    /**
     * The number of elements of {@code shape}, computed without overflow.
     *
     * @throws IllegalArgumentException if an extent is negative or the product exceeds what one Java array holds
     */
    static long elements(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("shape: expected extents >= 0, got " + Arrays.toString(shape));
        }
        for (int d : shape) {
            if (d == 0) return 0;
        }
        for (int d : shape) {
            // Extents are ints and the running product stays <= MAX_ELEMENTS, so one long product cannot wrap.
            n *= d;
            if (n > MAX_ELEMENTS) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than " + MAX_ELEMENTS
                        + " elements, too many for one array");
            }
        }
        return n;
    }

    private static int[] checkShape(int[] shape, int length) {
        Objects.requireNonNull(shape, "shape");
        long n = elements(shape);
        if (n != length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " elements, data has " + length);
        }
        return shape.clone();
    }

    public Type type() {
        return floats != null ? Type.FLOAT32 : Type.FLOAT64;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements. */
    public int size() {
        return floats != null ? floats.length : doubles.length;
    }

    /** The float32 data (not a copy), or null for a float64 array. */
    public float[] floats() {
        return floats;
    }

    /** The float64 data (not a copy), or null for a float32 array. */
    public double[] doubles() {
        return doubles;
    }

    /** The values as doubles (a copy for float32 arrays, the data itself for float64 arrays). */
    public double[] asDoubles() {
        if (doubles != null) return doubles;
        double[] d = new double[floats.length];
        for (int i = 0; i < d.length; i++) d[i] = floats[i];
        return d;
    }

    /** The values as floats (rounded from float64 where needed). */
    public float[] asFloats() {
        if (floats != null) return floats;
        float[] f = new float[doubles.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) doubles[i];
        return f;
    }

    /**
     * A new continuous CV_32F Mat with this shape (a float32 NCHW blob for a 4-D array); float64
     * values are rounded to float32. The caller closes it.
     *
     * @throws IllegalArgumentException for an array with no elements, or with 0 or more than 32 dimensions
     */
    public Mat toFloatMat() {
        if (shape.length == 0) throw new IllegalArgumentException("a 0-D array has no Mat form; expected 1 to " + MAX_MAT_DIMS + " dimensions");
        if (shape.length > MAX_MAT_DIMS) {
            throw new IllegalArgumentException("an array of " + shape.length + " dimensions has no Mat form; expected 1 to "
                    + MAX_MAT_DIMS + " dimensions");
        }
        if (size() == 0) {
            throw new IllegalArgumentException("array of shape " + Arrays.toString(shape) + " has no elements; expected every extent >= 1");
        }
        Mat m = new Mat(shape, CV_32F);
        new FloatPointer(m.data()).put(asFloats());
        return m;
    }

    @Override
    public String toString() {
        return "NpyArray{" + type() + " " + Arrays.toString(shape) + "}";
    }
}
