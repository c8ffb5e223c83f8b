package dev.samplenorm.kernels;

import java.util.HashMap;
import java.util.Map;

/**
 * The scratch workspaces of one {@link CudaKernels} (one stream): one buffer per CUDA device, grown
 * when a call needs more and otherwise reused, so repeated calls with the same shapes allocate
 * nothing. Allocation and release go through an {@link Allocator} (stream-ordered on the kernels'
 * stream in production), which keeps this policy testable without a device. Not thread-safe, like
 * the kernels that own it.
 */
final class DeviceWorkspaces implements AutoCloseable {

    /** Device memory for workspaces. */
    interface Allocator {
        /** Address of {@code bytes} bytes on {@code device}. */
        long allocate(int device, long bytes);

        /** Frees an address from {@link #allocate}. */
        void free(int device, long address);
    }

    private record Buffer(long address, long bytes) {}

    private final Allocator allocator;
    private final Map<Integer, Buffer> buffers = new HashMap<>();
    private long allocations;
    private boolean closed;

    DeviceWorkspaces(Allocator allocator) {
        this.allocator = allocator;
    }

    /**
     * The address of a workspace of at least {@code bytes} on {@code device} (0 when none is
     * needed). A larger request replaces the buffer; a smaller or equal one reuses it.
     */
    long get(int device, long bytes) {
        if (closed) throw new IllegalStateException("workspaces are closed");
        if (bytes < 0) throw new IllegalArgumentException("workspace bytes must be >= 0, got " + bytes);
        if (bytes == 0) return 0;
        Buffer b = buffers.get(device);
        if (b != null && b.bytes() >= bytes) return b.address();
        if (b != null) {
            buffers.remove(device);
            allocator.free(device, b.address());
        }
        long address = allocator.allocate(device, bytes);
        allocations++;
        buffers.put(device, new Buffer(address, bytes));
        return address;
    }

    /** Workspace allocations made so far (a counter for tests). */
    long allocations() {
        return allocations;
    }

    /** Bytes held on {@code device} (0 if none). */
    long bytes(int device) {
        Buffer b = buffers.get(device);
        return b == null ? 0 : b.bytes();
    }

    /** Frees every buffer; idempotent. The first failure is rethrown after all were attempted. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        for (Map.Entry<Integer, Buffer> e : buffers.entrySet()) {
            try {
                allocator.free(e.getKey(), e.getValue().address());
            } catch (RuntimeException ex) {
                if (first == null) first = ex;
            }
        }
        buffers.clear();
        if (first != null) throw first;
    }
}
