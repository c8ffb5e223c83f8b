// CUDA kernels on float32 NCHW blobs in device memory: statistics and fused normalization.
//
// Determinism:
//  * blob_stats is a two-stage reduction without atomics. Stage 1 gives each block a fixed chunk
//    of kChunkUnits units of 4 elements of one plane (4096 elements; fewer where a row ends in a
//    partial unit), the same chunking on every GPU; each thread sums
//    its elements, shifted by the chunk's first element, in double in a fixed order, and the block
//    adds the thread sums with a fixed tree (block_reduce). Stage 2 merges the chunk Moments of
//    each output with merge_moments in a fixed order (thread-strided, then a fixed tree). Every
//    rounding is therefore fixed: bit-identical results run to run and on any GPU model. The
//    per-thread order does not depend on alignment or row padding either (vector and scalar
//    loads feed the same sums in the same order), so a pitched and a contiguous copy of the same
//    data give the same bits.
//  * blob_normalize is elementwise: each output depends only on its input element and the
//    per-plane coefficients, which are computed in double once per block.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "../common/moments.h"
#include "cuda_check.h"
#include "cuda_kernels.h"

namespace samplenorm {
namespace cuda {
namespace {

/** Element i (0..3) of a float4. */
__device__ inline float lane(const float4& v, int i) {
    return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}
__device__ inline void set_lane(float4& v, int i, float x) {
    if (i == 0) v.x = x;
    else if (i == 1) v.y = x;
    else if (i == 2) v.z = x;
    else v.w = x;
}

/**
 * The `valid` (1..4) elements at p; one 16-byte load when the row is 16-byte aligned and the
 * unit is full, element loads otherwise. Elements past `valid` are 0 and must be ignored.
 */
__device__ inline float4 load_unit(const float* p, int valid, bool vec4) {
    if (vec4 && valid == kUnitWidth) return *reinterpret_cast<const float4*>(p);
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int i = 0; i < kUnitWidth; ++i) {
        if (i < valid) set_lane(v, i, p[i]);
    }
    return v;
}

__device__ inline void store_unit(float* p, const float4& v, int valid, bool vec4) {
    if (vec4 && valid == kUnitWidth) {
        *reinterpret_cast<float4*>(p) = v;
        return;
    }
#pragma unroll
    for (int i = 0; i < kUnitWidth; ++i) {
        if (i < valid) p[i] = lane(v, i);
    }
}

/** A thread's units of a chunk: their places and their values (elements past valid are 0). */
struct LoadedUnits {
    UnitPlaces at;
    float4 v[kUnitsPerThread];
};

/** Issues all of this thread's loads of the chunk before any is used (memory-level parallelism). */
__device__ inline void load_chunk(const float* plane_base, size_t step, const UnitGrid& g,
                                  const Chunk& ck, bool vec4, LoadedUnits& lu) {
    place_units(g, ck, threadIdx.x, lu.at);
#pragma unroll
    for (int m = 0; m < kUnitsPerThread; ++m) {
        lu.v[m] = make_float4(0.f, 0.f, 0.f, 0.f);
        if (lu.at.valid[m] > 0) {
            lu.v[m] = load_unit(row_at(plane_base, step, lu.at.row[m]) + lu.at.x[m], lu.at.valid[m], vec4);
        }
    }
}

/** Shifted sums of a thread's (then a block's) share of one chunk. */
struct ShiftedSums {
    double sum;
    double sum_sq;
    int count;
    int pad;  // keeps the size a multiple of 8 bytes, explicit for the word-wise shuffle
};

struct AddShiftedSums {
    __device__ ShiftedSums operator()(const ShiftedSums& a, const ShiftedSums& b) const {
        return ShiftedSums{a.sum + b.sum, a.sum_sq + b.sum_sq, a.count + b.count, 0};
    }
};

struct MergeMoments {
    __device__ Moments operator()(const Moments& a, const Moments& b) const {
        return merge_moments(a, b);
    }
};

/**
 * Stage 1: Moments of every chunk of every plane, partial[plane * chunks + chunk]. Block-stride
 * loop over chunks; each chunk is reduced by one block in a fixed order.
 */
__global__ void __launch_bounds__(kThreads)
blob_chunk_moments(const float* src, size_t step, UnitGrid grid, int64_t items, bool vec4,
                   Moments* partial) {
    for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
        const Chunk ck = chunk_of(item, grid);
        const float* plane_base = row_at(src, step, ck.plane * grid.h);
        // The chunk's first element: subtracting it keeps the sums small even when the data has
        // a large common offset (1000 +- 0.01), so no precision is lost to cancellation.
        const double pivot =
            row_at(plane_base, step, ck.first_row)[static_cast<int64_t>(ck.first_unit) * kUnitWidth];
        LoadedUnits lu;
        load_chunk(plane_base, step, grid, ck, vec4, lu);
        ShiftedSums s{0.0, 0.0, 0, 0};
#pragma unroll
        for (int m = 0; m < kUnitsPerThread; ++m) {
#pragma unroll
            for (int i = 0; i < kUnitWidth; ++i) {
                if (i < lu.at.valid[m]) {
                    const double d = static_cast<double>(lane(lu.v[m], i)) - pivot;
                    s.sum += d;
                    s.sum_sq = fma(d, d, s.sum_sq);
                }
            }
            s.count += lu.at.valid[m];
        }
        s = block_reduce<kThreads>(s, AddShiftedSums());
        if (threadIdx.x == 0) {
            partial[item] = moments_from_shifted_sums(s.count, pivot, s.sum, s.sum_sq);
        }
    }
}

/**
 * Stage 2: one block per output merges its chunk Moments: those of plane `o` (per sample), or of
 * planes o, o + C, o + 2C, ... (per channel over the batch). Thread t merges items t, t + T, ...
 * in order, then the block merges the thread results with a fixed tree.
 */
__global__ void __launch_bounds__(kMergeThreads)
blob_merge_moments(const Moments* partial, int64_t chunks_per_plane, int64_t planes_per_output,
                   int64_t plane_stride, int64_t outputs, double* mean, double* var) {
    const int64_t items = planes_per_output * chunks_per_plane;
    for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
        Moments acc{0.0, 0.0, 0.0};
        for (int64_t i = threadIdx.x; i < items; i += kMergeThreads) {
            const int64_t s = i / chunks_per_plane;
            const int64_t plane = s * plane_stride + o;
            acc = merge_moments(acc, partial[plane * chunks_per_plane + (i - s * chunks_per_plane)]);
        }
        acc = block_reduce<kMergeThreads>(acc, MergeMoments());
        if (threadIdx.x == 0) {
            mean[o] = acc.mean;
            var[o] = acc.m2 / acc.count;  // biased variance
        }
    }
}

/** Per-plane affine map y = ((x - shift_hi) - shift_lo) * factor + offset. */
struct Affine {
    float shift_hi;
    float shift_lo;
    float factor;
    float offset;
};

/**
 * One pass: dst = ((src - hi) - lo) * factor + offset per plane, in place when dst == src (each
 * element is read and written by the same thread, loads before stores; no __restrict__ since
 * the two may alias). Coefficients are computed in double by one thread per chunk and shared.
 */
__global__ void __launch_bounds__(kThreads)
blob_normalize_kernel(const float* src, size_t src_step, float* dst, size_t dst_step, int c,
                      UnitGrid grid, int64_t items, bool per_sample, const double* mean,
                      const double* var, const float* gamma, const float* beta, double eps,
                      bool vec4) {
    __shared__ Affine coef;
    for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
        const Chunk ck = chunk_of(item, grid);
        __syncthreads();  // every thread has read the previous chunk's coefficients
        if (threadIdx.x == 0) {
            // Same double-precision formula as the CPU kernel, so both give the same floats.
            const int ch = static_cast<int>(ck.plane % c);
            const int64_t k = per_sample ? ck.plane : ch;
            const double g = gamma != nullptr ? static_cast<double>(gamma[ch]) : 1.0;
            const double factor = g / sqrt(var[k] + eps);
            const float hi = static_cast<float>(mean[k]);
            coef.shift_hi = hi;
            coef.shift_lo = static_cast<float>(mean[k] - hi);
            coef.factor = static_cast<float>(factor);
            coef.offset = beta != nullptr ? beta[ch] : 0.0f;
        }
        __syncthreads();
        const Affine a = coef;
        LoadedUnits lu;
        load_chunk(row_at(src, src_step, ck.plane * grid.h), src_step, grid, ck, vec4, lu);
        float* dst_plane = row_at(dst, dst_step, ck.plane * grid.h);
#pragma unroll
        for (int m = 0; m < kUnitsPerThread; ++m) {
            if (lu.at.valid[m] == 0) continue;
            float4 y = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
            for (int i = 0; i < kUnitWidth; ++i) {
                // Explicitly rounded multiply then add (no FMA contraction), as on the x86 CPU
                // path: GPU and CPU results are bit-identical there.
                const float d = __fsub_rn(__fsub_rn(lane(lu.v[m], i), a.shift_hi), a.shift_lo);
                set_lane(y, i, __fadd_rn(__fmul_rn(d, a.factor), a.offset));
            }
            store_unit(row_at(dst_plane, dst_step, lu.at.row[m]) + lu.at.x[m], y, lu.at.valid[m], vec4);
        }
    }
}

}  // namespace

void blob_stats(const float* src, size_t step, int n, int c, int h, int w, int scope,
                double* mean, double* var, void* stream_handle) {
    const cudaStream_t stream = as_stream(stream_handle);
    const UnitGrid grid = make_unit_grid(h, w);
    const int64_t planes = static_cast<int64_t>(n) * c;
    const int64_t items = planes * grid.chunks;
    const bool per_sample = scope == SN_SCOPE_SAMPLE;
    const bool vec4 = is_aligned(src, step, kVecAlign);

    StreamBuffer partial(static_cast<size_t>(items) * sizeof(Moments), stream,
                         "blob_stats (cudaMallocAsync)");
    blob_chunk_moments<<<grid_for(items), kThreads, 0, stream>>>(src, step, grid, items, vec4,
                                                                 partial.as<Moments>());
    check_launch("blob_stats (chunk kernel launch)");

    const int64_t outputs = per_sample ? planes : c;
    blob_merge_moments<<<grid_for(outputs), kMergeThreads, 0, stream>>>(
        partial.as<Moments>(), grid.chunks, per_sample ? 1 : n, c, outputs, mean, var);
    check_launch("blob_stats (merge kernel launch)");
    partial.release("blob_stats (cudaFreeAsync)");
}

void blob_normalize(const float* src, size_t src_step, float* dst, size_t dst_step, int n, int c,
                    int h, int w, int scope, const double* mean, const double* var,
                    const float* gamma, const float* beta, double eps, void* stream_handle) {
    const cudaStream_t stream = as_stream(stream_handle);
    const UnitGrid grid = make_unit_grid(h, w);
    const int64_t items = static_cast<int64_t>(n) * c * grid.chunks;
    const bool vec4 = is_aligned(src, src_step, kVecAlign) && is_aligned(dst, dst_step, kVecAlign);
    blob_normalize_kernel<<<grid_for(items), kThreads, 0, stream>>>(
        src, src_step, dst, dst_step, c, grid, items, scope == SN_SCOPE_SAMPLE, mean, var, gamma,
        beta, eps, vec4);
    check_launch("blob_normalize (kernel launch)");
}

}  // namespace cuda
}  // namespace samplenorm
