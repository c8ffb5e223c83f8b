// Internal helpers shared by the CUDA translation units: error checking, launch shapes, the
// stream-ordered scratch buffer and the "unit" addressing that every streaming kernel uses.
#ifndef SAMPLENORM_KERNELS_CUDA_CUDA_CHECK_H
#define SAMPLENORM_KERNELS_CUDA_CUDA_CHECK_H

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "samplenorm/samplenorm.h"
#include "../common/status.h"
#include "cuda_kernels.h"

namespace samplenorm {
namespace cuda {

// ---------------------------------------------------------------------------------------------
// Errors, debug mode, devices
// ---------------------------------------------------------------------------------------------

/** "CUDA error in <what>: <description> (<cudaErrorName>)". */
inline std::string cuda_error_message(cudaError_t err, const char* what) {
    return std::string("CUDA error in ") + what + ": " + cudaGetErrorString(err) + " (" +
           cudaGetErrorName(err) + ")";
}

/** The status code of a CUDA error. */
inline int status_of(cudaError_t err) {
    switch (err) {
        case cudaErrorMemoryAllocation: return SN_OUT_OF_MEMORY;
        case cudaErrorNoDevice:
        case cudaErrorInsufficientDriver: return SN_NO_CUDA_DEVICE;
        default: return SN_CUDA_ERROR;
    }
}

/** Throws Error (SN_CUDA_ERROR, SN_OUT_OF_MEMORY, ...) when `err` is not cudaSuccess. */
inline void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess) {
        // Reading the error back clears it unless it is sticky, so that the next, unrelated
        // call in this thread does not report it again.
        (void)cudaGetLastError();
        raise(status_of(err), cuda_error_message(err, what));
    }
}

/** Debug mode (set_cuda_debug_sync): synchronize the stream after every launch. Defined in device.cu. */
bool debug_sync();

/** Counts one stream-ordered allocation (cuda_allocation_count). Defined in device.cu. */
void count_allocation();

/**
 * To be called right after every <<<...>>> launch: reports configuration/launch failures and,
 * in debug mode, waits for the stream so that a fault in the kernel is reported here.
 */
inline void check_launch(const char* what, cudaStream_t stream) {
    check(cudaGetLastError(), what);
    if (debug_sync()) check(cudaStreamSynchronize(stream), what);
}

inline cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

// ---------------------------------------------------------------------------------------------
// Launch shapes. They are constants, not derived from the device, so that the reduction trees
// (and therefore every rounding) are the same on every GPU.
// ---------------------------------------------------------------------------------------------

/** Threads per block of the streaming kernels (stats stage 1, normalize, image conversions). */
constexpr int kThreads = 256;
/** Elements (blob) or pixels (image) per "unit": one float4, or 4 pixels of CN bytes. */
constexpr int kUnitWidth = 4;
/** Units each thread handles per chunk; their loads are all issued before any is consumed. */
constexpr int kUnitsPerThread = 4;
/** Units per chunk: a block processes one chunk of one plane (blob) or one image at a time. */
constexpr int kChunkUnits = kThreads * kUnitsPerThread;
/** Threads per block of the second (merge) stage of the reductions: one block per output. */
constexpr int kMergeThreads = 256;
constexpr int kWarpSize = 32;
constexpr unsigned kFullWarpMask = 0xffffffffu;
/** Upper bound of gridDim.x; kernels use block-stride loops so any work size fits. */
constexpr int64_t kMaxGridBlocks = 2147483647;
/** Largest number of channels of an image batch. */
constexpr int kMaxImageChannels = 4;
/** float4 accesses need 16-byte aligned addresses; 32-bit accesses to bytes need 4. */
constexpr size_t kVecAlign = 16;
constexpr size_t kWordAlign = 4;

static_assert(kThreads % kWarpSize == 0 && kMergeThreads % kWarpSize == 0,
              "blocks must be made of whole warps");
static_assert(kThreads / kWarpSize <= kWarpSize && kMergeThreads / kWarpSize <= kWarpSize,
              "the second level of a block reduction runs in one warp");

/** Blocks for a block-stride loop over `items` work items. */
inline unsigned grid_for(int64_t items) {
    return static_cast<unsigned>(items < kMaxGridBlocks ? items : kMaxGridBlocks);
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

#if defined(__CUDACC__)
#define SN_CUDA_HOST_DEVICE __host__ __device__
#else
#define SN_CUDA_HOST_DEVICE
#endif

/** True when every row of a pitched array (base p, row step) starts at a multiple of alignment. */
SN_CUDA_HOST_DEVICE inline bool is_aligned(const void* p, size_t step, size_t alignment) {
    return reinterpret_cast<uintptr_t>(p) % alignment == 0 && step % alignment == 0;
}

// ---------------------------------------------------------------------------------------------
// Scratch memory: the caller's workspace, or stream-ordered memory from the library's pool
// ---------------------------------------------------------------------------------------------

/**
 * Bytes of freed scratch memory the library's pool keeps mapped across synchronizations, so that
 * a call does not map memory again after each synchronization.
 */
constexpr uint64_t kScratchPoolKeepBytes = uint64_t(32) << 20;

/**
 * The library's own stream-ordered memory pool on `device` (created on first use, thread-safe,
 * kept for the life of the process): one pool per device. A separate pool, so that the release
 * threshold of the process-wide default pool, which other code may rely on, is left alone.
 * Defined in device.cu.
 */
cudaMemPool_t scratch_pool(int device);

/** Rounds a workspace part up to 256 bytes, so that every part is aligned for any type. */
constexpr size_t workspace_align(size_t bytes) { return (bytes + 255) / 256 * 256; }

/**
 * The scratch memory of one call: the caller's workspace when it gave one (checked to be large
 * enough), else an allocation from the pool, taken and freed on `stream` so that nothing
 * synchronizes and the memory is reused only after the kernels that use it have run.
 * release() frees it on the normal path (and reports an error); the destructor frees it when an
 * exception unwinds before that.
 */
class Workspace {
public:
    Workspace(void* given, size_t given_bytes, size_t needed, int device, cudaStream_t stream,
              const char* what)
        : stream_(stream) {
        if (needed == 0) return;
        if (given != nullptr) {
            if (given_bytes < needed) {
                raise(SN_INVALID_ARGUMENT, std::string(what) + ": workspace of " +
                                               std::to_string(given_bytes) + " bytes, need " +
                                               std::to_string(needed));
            }
            ptr_ = given;
            return;
        }
        check(cudaMallocFromPoolAsync(&ptr_, needed, scratch_pool(device), stream), what);
        owned_ = true;
        count_allocation();
    }
    ~Workspace() {
        if (owned_ && ptr_ != nullptr && cudaFreeAsync(ptr_, stream_) != cudaSuccess) {
            (void)cudaGetLastError();  // already unwinding with the first error
        }
    }
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;

    /** The part at byte `offset` (a multiple of 256). */
    template <typename T>
    T* at(size_t offset) const { return reinterpret_cast<T*>(static_cast<char*>(ptr_) + offset); }

    void release(const char* what) {
        if (!owned_) return;
        void* p = ptr_;
        ptr_ = nullptr;
        owned_ = false;
        check(cudaFreeAsync(p, stream_), what);
    }

private:
    void* ptr_ = nullptr;
    bool owned_ = false;
    cudaStream_t stream_;
};

// ---------------------------------------------------------------------------------------------
// Unit addressing (device side)
// ---------------------------------------------------------------------------------------------
//
// A plane (one (n, c) plane of a blob, or one image) of H rows and W elements/pixels is cut into
// units of kUnitWidth consecutive elements of a row: units_per_row = ceil(W / 4), and the last
// unit of a row is partial when W % 4 != 0. Units are numbered row-major over the plane, chunks
// are kChunkUnits consecutive units, and in a chunk thread t handles units t + m * kThreads,
// m = 0 .. kUnitsPerThread - 1: consecutive threads touch consecutive units of a row (coalesced),
// whatever the alignment or the path (vector or scalar) used to load them.

/** Position (row, unit in row) of a thread's current unit; advanced by kThreads units. */
struct UnitCursor {
    int64_t y;
    uint32_t ux;

    /** Unit `offset` (< kThreads) after the chunk start (y0, ux0), ux0 < units_per_row. */
    SN_CUDA_HOST_DEVICE void init(int64_t y0, uint32_t ux0, uint32_t offset, uint32_t units_per_row) {
        const uint32_t u = ux0 + offset;  // < 2^29 + kThreads: no overflow in 32 bits
        y = y0 + u / units_per_row;
        ux = u % units_per_row;
    }
    /** Moves kThreads units ahead; rows_step/units_step = kThreads / and % units_per_row. */
    SN_CUDA_HOST_DEVICE void advance(uint32_t rows_step, uint32_t units_step, uint32_t units_per_row) {
        y += rows_step;
        ux += units_step;
        if (ux >= units_per_row) {
            ux -= units_per_row;
            ++y;
        }
    }
};

/** The unit grid of a plane of h rows of w elements (a blob plane, or an image in pixels). */
struct UnitGrid {
    int64_t h;
    int w;
    uint32_t per_row;     // ceil(w / 4)
    int64_t per_plane;    // h * per_row
    int64_t chunks;       // chunks per plane: ceil(per_plane / kChunkUnits)
    uint32_t rows_step;   // kThreads / per_row: how a cursor moves on by kThreads units
    uint32_t units_step;  // kThreads % per_row
};

inline UnitGrid make_unit_grid(int64_t h, int w) {
    UnitGrid g;
    g.h = h;
    g.w = w;
    g.per_row = static_cast<uint32_t>(ceil_div(w, kUnitWidth));
    g.per_plane = static_cast<int64_t>(h) * g.per_row;
    g.chunks = ceil_div(g.per_plane, kChunkUnits);
    g.rows_step = static_cast<uint32_t>(kThreads) / g.per_row;
    g.units_step = static_cast<uint32_t>(kThreads) % g.per_row;
    return g;
}

/** Work item `item` = chunk (item % chunks) of plane (item / chunks). */
struct Chunk {
    int64_t plane;        // blob plane n * C + c, or image index
    int64_t first_row;    // row of the chunk's first unit, within the plane
    uint32_t first_unit;  // unit-in-row of the chunk's first unit
    int units;            // 1 .. kChunkUnits
};

SN_CUDA_HOST_DEVICE inline Chunk chunk_of(int64_t item, const UnitGrid& g) {
    Chunk ck;
    ck.plane = item / g.chunks;
    const int64_t begin = (item - ck.plane * g.chunks) * kChunkUnits;
    const int64_t left = g.per_plane - begin;
    ck.units = static_cast<int>(left < kChunkUnits ? left : kChunkUnits);
    ck.first_row = begin / g.per_row;
    ck.first_unit = static_cast<uint32_t>(begin - ck.first_row * g.per_row);
    return ck;
}

/** Where a thread's units of a chunk are: row, first element/pixel, valid count (0 = none). */
struct UnitPlaces {
    int64_t row[kUnitsPerThread];
    int x[kUnitsPerThread];
    int valid[kUnitsPerThread];
};

/** The units of thread `thread` in chunk `ck`: units thread + m * kThreads of the chunk. */
SN_CUDA_HOST_DEVICE inline void place_units(const UnitGrid& g, const Chunk& ck, int thread,
                                            UnitPlaces& up) {
    UnitCursor cur;
    cur.init(ck.first_row, ck.first_unit, static_cast<uint32_t>(thread), g.per_row);
#if defined(__CUDACC__)
#pragma unroll
#endif
    for (int m = 0; m < kUnitsPerThread; ++m) {
        up.row[m] = cur.y;
        up.x[m] = static_cast<int>(cur.ux) * kUnitWidth;
        up.valid[m] = 0;
        if (thread + m * kThreads < ck.units) {
            const int left = g.w - up.x[m];
            up.valid[m] = left < kUnitWidth ? left : kUnitWidth;
        }
        cur.advance(g.rows_step, g.units_step, g.per_row);
    }
}

#if defined(__CUDACC__)

/** Row `row` of a pitched 2-D array (row index counted over all planes). */
template <typename T>
__device__ inline T* row_at(T* base, size_t step, int64_t row) {
    using Byte = std::conditional_t<std::is_const<T>::value, const char, char>;
    return reinterpret_cast<T*>(reinterpret_cast<Byte*>(base) + row * static_cast<int64_t>(step));
}

/** Warp shuffle of any trivially copyable value, word by word. */
template <typename T>
__device__ inline T shuffle_down(const T& value, int offset) {
    static_assert(sizeof(T) % sizeof(uint32_t) == 0, "shuffled types are made of 32-bit words");
    static_assert(std::is_trivially_copyable<T>::value, "shuffled types are plain data");
    constexpr int kWords = sizeof(T) / sizeof(uint32_t);
    uint32_t words[kWords];
    memcpy(words, &value, sizeof(T));
#pragma unroll
    for (int i = 0; i < kWords; ++i) words[i] = __shfl_down_sync(kFullWarpMask, words[i], offset);
    T result;
    memcpy(&result, words, sizeof(T));
    return result;
}

/**
 * Reduces one value per thread of a block of kBlock threads with `combine(lower, upper)`; the
 * result is valid in thread 0. The tree is fixed (shuffles inside each warp, then the warp
 * results in warp 0), so a non-associative combine (double addition, moment merging) still
 * gives bit-identical results run to run. Every thread of the block must call it; it ends with a
 * barrier so it can be called again right away.
 */
template <int kBlock, typename T, typename Combine>
__device__ inline T block_reduce(T value, Combine combine) {
    constexpr int kWarps = kBlock / kWarpSize;
    static_assert(kBlock % kWarpSize == 0 && kWarps <= kWarpSize && (kWarps & (kWarps - 1)) == 0,
                  "a power-of-two number of whole warps, at most one warp of them");
    __shared__ T warp_results[kWarps];
    const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
#pragma unroll
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
        value = combine(value, shuffle_down(value, offset));
    }
    if (lane == 0) warp_results[warp] = value;
    __syncthreads();
    if (warp == 0) {
        // Lanes >= kWarps hold stale values, but with a power-of-two kWarps lane 0's result
        // depends only on lanes 0 .. kWarps - 1.
        value = warp_results[lane < kWarps ? lane : 0];
#pragma unroll
        for (int offset = kWarps / 2; offset > 0; offset /= 2) {
            value = combine(value, shuffle_down(value, offset));
        }
    }
    __syncthreads();
    return value;
}

#endif  // __CUDACC__

}  // namespace cuda
}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_CUDA_CUDA_CHECK_H
