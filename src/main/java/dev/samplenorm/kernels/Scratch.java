package dev.samplenorm.kernels;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * Native temporaries of one kernel call (statistics arrays, image pointer tables), freed by
 * {@link #close()}. They are taken with {@code malloc} rather than JavaCPP's allocators, whose
 * memory accounting reads the process's resident size on every allocation: that check alone
 * cost 60 microseconds per call, twice the kernel's time on a single 256 x 256 image.
 */
final class Scratch implements AutoCloseable {

    private final List<Pointer> owned = new ArrayList<>(4);

    private Pointer allocate(long bytes) {
        Pointer p = Pointer.malloc(Math.max(bytes, 1));
        if (p == null || p.isNull()) {
            throw new OutOfMemoryError("cannot allocate " + bytes + " bytes of native memory");
        }
        owned.add(p);
        return p;
    }

    DoublePointer doubles(int n) {
        return new DoublePointer(allocate((long) n * Double.BYTES)).capacity(n);
    }

    DoublePointer doubles(double[] values) {
        DoublePointer p = doubles(values.length);
        p.put(values);
        return p;
    }

    FloatPointer floats(float[] values) {
        FloatPointer p = new FloatPointer(allocate((long) values.length * Float.BYTES)).capacity(values.length);
        p.put(values);
        return p;
    }

    IntPointer ints(int n) {
        return new IntPointer(allocate((long) n * Integer.BYTES)).capacity(n);
    }

    SizeTPointer sizes(int n) {
        return new SizeTPointer(allocate((long) n * Pointer.sizeof(SizeTPointer.class))).capacity(n);
    }

    PointerPointer<BytePointer> pointers(int n) {
        return new PointerPointer<BytePointer>(allocate((long) n * Pointer.sizeof(PointerPointer.class))).capacity(n);
    }

    @Override
    public void close() {
        for (Pointer p : owned) Pointer.free(p);
        owned.clear();
    }
}
