// CUDA kernels on float32 NCHW blobs in device memory: statistics and fused normalization.
//
// Determinism and agreement with the CPU:
//  * blob_stats computes the canonical reduction of kernels/common/moments.h, which the CPU
//    kernel computes too: the same chunks, the same per-lane order, the same halving trees, each
//    double operation rounded once. Means and variances are therefore bit-identical run to run,
//    on any GPU, and to the CPU. No atomics.
//  * How chunks map onto the GPU depends on the plane size, so that small planes do not leave
//    blocks idle: a block per chunk for large planes, a warp per plane (each thread playing 8 of
//    the 256 lanes) up to kWarpPlaneMax elements, a thread per plane up to kThreadPlaneMax.
//  * The merge of chunk moments runs in levels: each warp merges one group of kMergeGroup items
//    of one output, so an output with many chunks (batch scope over a large batch) is merged by
//    many warps in parallel instead of one block per channel.
//  * blob_normalize is element-wise: a small kernel computes each plane's coefficients in double
//    (the CPU kernel's formulas), the main kernel streams rows of any plane size.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "../common/moments.h"
#include "cuda_check.h"
#include "cuda_kernels.h"

namespace samplenorm {
namespace cuda {
namespace {

static_assert(kThreads == kReduceLanes, "stage 1 plays one canonical lane per thread");
constexpr int kWarpsPerBlock = kThreads / kWarpSize;
/** Canonical lanes each thread of a warp plays in the warp kernels. */
constexpr int kLanesPerWarpThread = kReduceLanes / kWarpSize;
static_assert(kLanesPerWarpThread == 8, "the warp kernels unroll the lane tree for 8 lanes");
/** Planes up to this size: one warp per plane. */
constexpr int64_t kWarpPlaneMax = 1024;
/** Planes up to this size: one thread per plane. */
constexpr int kThreadPlaneMax = 16;

/** Where stage 1 writes: chunk moments, or the final statistics when each output is one chunk. */
struct StatsOut {
    Moments* partial;  // [plane * chunks + chunk], or null
    double* mean;      // used when partial is null; output index == plane
    double* var;
};

__device__ inline void write_chunk(const StatsOut& out, int64_t item, const Moments& m) {
    if (out.partial != nullptr) {
        out.partial[item] = m;
    } else {
        out.mean[item] = m.mean;
        out.var[item] = m.m2 / m.count;  // biased variance
    }
}

/** Element e (row-major, padding skipped) of a plane. */
__device__ inline float element(const float* plane_base, size_t step, int w, int64_t e) {
    const int64_t y = e / w;
    return row_at(plane_base, step, y)[e - y * w];
}

/** Halving tree steps 16 .. 1 inside a warp (lane 0 gets the result). */
template <typename T, typename Combine>
__device__ inline T warp_halving(T v, Combine combine) {
#pragma unroll
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) v = combine(v, shuffle_down(v, offset));
    return v;
}

struct AddSums {
    __device__ ShiftedSums operator()(const ShiftedSums& a, const ShiftedSums& b) const { return add_sums(a, b); }
};
struct MergeMoments {
    __device__ Moments operator()(const Moments& a, const Moments& b) const { return merge_moments(a, b); }
};

/** Lane tree steps 128, 64, 32 for the 8 lanes j + 32 i (i = 0 .. 7) a warp thread plays. */
template <typename T, typename Combine>
__device__ inline T local_lane_tree(T (&v)[kLanesPerWarpThread], Combine combine) {
#pragma unroll
    for (int i = 0; i < 4; ++i) v[i] = combine(v[i], v[i + 4]);
#pragma unroll
    for (int i = 0; i < 2; ++i) v[i] = combine(v[i], v[i + 2]);
    return combine(v[0], v[1]);
}

/**
 * Stage 1, large planes: one block per chunk, thread t = canonical lane t. Each thread issues its
 * 16 loads before adding them; the lanes are combined by the halving tree (shared memory for
 * steps 128 .. 32, then shuffles in warp 0).
 */
__global__ void __launch_bounds__(kThreads)
chunk_moments_block(const float* src, size_t step, int64_t h, int w, int64_t plane_size,
                    int64_t chunks, int64_t items, int64_t rows_step, int cols_step, StatsOut out) {
    __shared__ ShiftedSums lanes[kReduceLanes];
    const int t = threadIdx.x;
    for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
        const int64_t plane = item / chunks;
        const int64_t begin = (item - plane * chunks) * kStatsChunk;
        const int64_t end = begin + kStatsChunk < plane_size ? begin + kStatsChunk : plane_size;
        const float* base = row_at(src, step, plane * h);
        const double pivot = element(base, step, w, begin);
        // Element begin + t + 256 m sits at (y, x); moving 256 elements on is rows_step rows and
        // cols_step columns, with a carry.
        int64_t e0 = begin + t;
        int64_t y = e0 / w;
        int64_t x = e0 - y * w;
        float v[kLaneElements];
#pragma unroll
        for (int m = 0; m < kLaneElements; ++m) {
            v[m] = 0.f;
            if (e0 + int64_t(m) * kReduceLanes < end) v[m] = row_at(base, step, y)[x];
            x += cols_step;
            y += rows_step;
            if (x >= w) {
                x -= w;
                ++y;
            }
        }
        ShiftedSums s{0.0, 0.0};
#pragma unroll
        for (int m = 0; m < kLaneElements; ++m) {
            if (e0 + int64_t(m) * kReduceLanes < end) accumulate(s, v[m], pivot);
        }
        lanes[t] = s;
        __syncthreads();
#pragma unroll
        for (int width = kReduceLanes / 2; width >= kWarpSize; width /= 2) {
            if (t < width) lanes[t] = add_sums(lanes[t], lanes[t + width]);
            __syncthreads();
        }
        if (t < kWarpSize) {
            const ShiftedSums r = warp_halving(lanes[t], AddSums());
            if (t == 0) {
                write_chunk(out, item, moments_from_shifted_sums(static_cast<double>(end - begin), pivot, r.sum, r.sum_sq));
            }
        }
        __syncthreads();  // lanes[] is reused by the next item
    }
}

/**
 * Stage 1, planes of kThreadPlaneMax < L <= kWarpPlaneMax elements (one chunk each): one warp per
 * plane; thread j plays lanes j + 32 i. Lanes without elements hold +0.0, which the tree adds
 * without changing anything (a lane sum is never -0.0), exactly as the CPU skips them.
 */
__global__ void __launch_bounds__(kThreads)
plane_moments_warp(const float* src, size_t step, int64_t h, int w, int64_t plane_size,
                   int64_t planes, StatsOut out) {
    const int j = threadIdx.x % kWarpSize;
    const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
    for (int64_t plane = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarpSize; plane < planes;
         plane += warps) {
        const float* base = row_at(src, step, plane * h);
        const double pivot = base[0];
        ShiftedSums lane[kLanesPerWarpThread];
#pragma unroll
        for (int i = 0; i < kLanesPerWarpThread; ++i) {
            lane[i] = ShiftedSums{0.0, 0.0};
            for (int64_t e = j + kWarpSize * i; e < plane_size; e += kReduceLanes) {
                accumulate(lane[i], element(base, step, w, e), pivot);
            }
        }
        const ShiftedSums r = warp_halving(local_lane_tree(lane, AddSums()), AddSums());
        if (j == 0) write_chunk(out, plane, moments_from_shifted_sums(static_cast<double>(plane_size), pivot, r.sum, r.sum_sq));
    }
}

/**
 * Stage 1, planes of L <= kThreadPlaneMax elements: one thread per plane, lanes 0 .. L-1 hold one
 * element each; tree steps whose partner lane is empty are skipped (as on the CPU).
 */
__global__ void __launch_bounds__(kThreads)
plane_moments_thread(const float* src, size_t step, int64_t h, int w, int plane_size, int64_t planes,
                     StatsOut out) {
    const int64_t threads = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t plane = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; plane < planes; plane += threads) {
        const float* base = row_at(src, step, plane * h);
        const double pivot = base[0];
        ShiftedSums v[kThreadPlaneMax];
#pragma unroll
        for (int t = 0; t < kThreadPlaneMax; ++t) {
            v[t] = ShiftedSums{0.0, 0.0};
            if (t < plane_size) accumulate(v[t], element(base, step, w, t), pivot);
        }
#pragma unroll
        for (int width = kThreadPlaneMax / 2; width >= 1; width /= 2) {
#pragma unroll
            for (int t = 0; t < width; ++t) {
                if (t + width < plane_size) v[t] = add_sums(v[t], v[t + width]);
            }
        }
        write_chunk(out, plane, moments_from_shifted_sums(static_cast<double>(plane_size), pivot, v[0].sum, v[0].sum_sq));
    }
}

/**
 * One merge level: warp `task` merges group g of output o (task = o * groups + g), items
 * [g * kMergeGroup, ...) of the output's sequence. Item i of output o is
 * in[((i / seg) * stride + o) * seg + i % seg]: at level 0 seg = chunks per plane and stride = C
 * (batch scope) or 0 (sample scope); later levels hold each output's items contiguously
 * (seg = items per output, stride 0). The last level (groups == 1) writes mean and variance.
 */
__global__ void __launch_bounds__(kThreads)
merge_level(const Moments* in, int64_t seg, int64_t stride, int64_t per_output, int64_t groups,
            int64_t outputs, Moments* next, double* mean, double* var) {
    const int j = threadIdx.x % kWarpSize;
    const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
    const int64_t tasks = outputs * groups;
    for (int64_t task = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarpSize; task < tasks;
         task += warps) {
        const int64_t o = task / groups;
        const int64_t first = (task - o * groups) * kMergeGroup;
        const int64_t count = per_output - first < kMergeGroup ? per_output - first : kMergeGroup;
        Moments lane[kLanesPerWarpThread];
#pragma unroll
        for (int i = 0; i < kLanesPerWarpThread; ++i) {
            Moments acc{0.0, 0.0, 0.0};
            for (int64_t k = j + kWarpSize * i; k < count; k += kReduceLanes) {
                const int64_t item = first + k;
                const int64_t s = item / seg;
                acc = merge_moments(acc, in[(s * stride + o) * seg + (item - s * seg)]);
            }
            lane[i] = acc;
        }
        const Moments r = warp_halving(local_lane_tree(lane, MergeMoments()), MergeMoments());
        if (j == 0) {
            if (groups == 1) {
                mean[o] = r.mean;
                var[o] = r.m2 / r.count;  // biased variance
            } else {
                next[task] = r;
            }
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

/** One thread per plane: the CPU kernel's double-precision coefficients, rounded to float. */
__global__ void __launch_bounds__(kThreads)
normalize_coefficients(int64_t planes, int c, bool per_sample, const double* mean, const double* var,
                       const float* gamma, const float* beta, double eps, Affine* coef) {
    const int64_t threads = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < planes; p += threads) {
        const int ch = static_cast<int>(p % c);
        const int64_t k = per_sample ? p : ch;
        const double g = gamma != nullptr ? static_cast<double>(gamma[ch]) : 1.0;
        const double factor = g / sqrt(add_rn(var[k], eps));
        const float hi = static_cast<float>(mean[k]);
        coef[p] = Affine{hi, static_cast<float>(add_rn(mean[k], -static_cast<double>(hi))), static_cast<float>(factor),
                         beta != nullptr ? beta[ch] : 0.0f};
    }
}

/** Element i (0..3) of a float4. */
__device__ inline float lane_of(const float4& v, int i) {
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
        if (i < valid) p[i] = lane_of(v, i);
    }
}

/**
 * One pass over all N*C*H rows as one unit grid (so planes of any size fill whole chunks):
 * dst = ((src - hi) - lo) * factor + offset with the coefficients of the row's plane, in place
 * when dst == src (each element is read and written by the same thread, loads before stores;
 * no __restrict__ since the two may alias).
 */
__global__ void __launch_bounds__(kThreads)
blob_normalize_kernel(const float* src, size_t src_step, float* dst, size_t dst_step, int64_t h,
                      UnitGrid grid, int64_t items, bool narrow_rows, const Affine* coef, bool vec4) {
    for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
        const Chunk ck = chunk_of(item, grid);  // ck.plane == 0: the grid spans every row
        UnitPlaces up;
        place_units(grid, ck, threadIdx.x, up);
        float4 x[kUnitsPerThread];
#pragma unroll
        for (int m = 0; m < kUnitsPerThread; ++m) {
            x[m] = make_float4(0.f, 0.f, 0.f, 0.f);
            if (up.valid[m] > 0) x[m] = load_unit(row_at(src, src_step, up.row[m]) + up.x[m], up.valid[m], vec4);
        }
#pragma unroll
        for (int m = 0; m < kUnitsPerThread; ++m) {
            if (up.valid[m] == 0) continue;
            const int64_t plane = narrow_rows ? static_cast<int64_t>(static_cast<uint32_t>(up.row[m]) / static_cast<uint32_t>(h))
                                              : up.row[m] / h;
            const Affine a = coef[plane];
            float4 y = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
            for (int i = 0; i < kUnitWidth; ++i) {
                // Explicitly rounded operations (no FMA contraction), as on the CPU: same floats.
                const float d = __fsub_rn(__fsub_rn(lane_of(x[m], i), a.shift_hi), a.shift_lo);
                set_lane(y, i, __fadd_rn(__fmul_rn(d, a.factor), a.offset));
            }
            store_unit(row_at(dst, dst_step, up.row[m]) + up.x[m], y, up.valid[m], vec4);
        }
    }
}

/** Sizes of the statistics reduction of one shape. */
struct StatsPlan {
    int64_t plane_size;
    int64_t chunks;      // per plane
    int64_t planes;
    int64_t outputs;
    int64_t per_output;  // chunk moments per output
    size_t level0_bytes;
    size_t level1_bytes;
};

StatsPlan plan_stats(int n, int c, int h, int w, int scope) {
    StatsPlan p;
    const bool per_sample = scope == SN_SCOPE_SAMPLE;
    p.plane_size = static_cast<int64_t>(h) * w;
    p.chunks = ceil_div(p.plane_size, kStatsChunk);
    p.planes = static_cast<int64_t>(n) * c;
    p.outputs = per_sample ? p.planes : c;
    p.per_output = (per_sample ? 1 : n) * p.chunks;
    p.level0_bytes = 0;
    p.level1_bytes = 0;
    if (p.per_output > 1) {
        p.level0_bytes = workspace_align(static_cast<size_t>(p.planes * p.chunks) * sizeof(Moments));
        const int64_t groups = merge_groups(p.per_output);
        if (groups > 1) p.level1_bytes = workspace_align(static_cast<size_t>(p.outputs * groups) * sizeof(Moments));
    }
    return p;
}

unsigned blocks_for_warps(int64_t warps) { return grid_for(ceil_div(warps, kWarpsPerBlock)); }

}  // namespace

size_t blob_stats_workspace(int n, int c, int h, int w, int scope) {
    const StatsPlan p = plan_stats(n, c, h, w, scope);
    return p.level0_bytes + p.level1_bytes;
}

void blob_stats(const float* src, size_t step, int n, int c, int h, int w, int scope,
                double* mean, double* var, void* workspace, size_t workspace_bytes, int device,
                void* stream_handle) {
    const cudaStream_t stream = as_stream(stream_handle);
    const StatsPlan p = plan_stats(n, c, h, w, scope);
    Workspace ws(workspace, workspace_bytes, p.level0_bytes + p.level1_bytes, device, stream, "blob_stats (workspace)");
    const StatsOut out{p.per_output > 1 ? ws.at<Moments>(0) : nullptr, mean, var};

    if (p.plane_size <= kThreadPlaneMax) {
        plane_moments_thread<<<grid_for(ceil_div(p.planes, kThreads)), kThreads, 0, stream>>>(
            src, step, h, w, static_cast<int>(p.plane_size), p.planes, out);
    } else if (p.plane_size <= kWarpPlaneMax) {
        plane_moments_warp<<<blocks_for_warps(p.planes), kThreads, 0, stream>>>(src, step, h, w, p.plane_size,
                                                                                p.planes, out);
    } else {
        const int64_t items = p.planes * p.chunks;
        chunk_moments_block<<<grid_for(items), kThreads, 0, stream>>>(
            src, step, h, w, p.plane_size, p.chunks, items, kReduceLanes / w, kReduceLanes % w, out);
    }
    check_launch("blob_stats (chunk kernel)", stream);

    if (p.per_output > 1) {
        Moments* const buffers[2] = {ws.at<Moments>(0), ws.at<Moments>(p.level0_bytes)};
        int current = 0;
        int64_t seg = p.chunks, stride = scope == SN_SCOPE_SAMPLE ? 0 : c, per_output = p.per_output;
        for (;;) {
            const int64_t groups = merge_groups(per_output);
            Moments* next = groups > 1 ? buffers[1 - current] : nullptr;
            merge_level<<<blocks_for_warps(p.outputs * groups), kThreads, 0, stream>>>(
                buffers[current], seg, stride, per_output, groups, p.outputs, next, mean, var);
            check_launch("blob_stats (merge kernel)", stream);
            if (groups == 1) break;
            current = 1 - current;
            seg = groups;
            stride = 0;
            per_output = groups;
        }
    }
    ws.release("blob_stats (cudaFreeAsync)");
}

size_t blob_normalize_workspace(int n, int c) {
    return workspace_align(static_cast<size_t>(n) * static_cast<size_t>(c) * sizeof(Affine));
}

void blob_normalize(const float* src, size_t src_step, float* dst, size_t dst_step, int n, int c,
                    int h, int w, int scope, const double* mean, const double* var,
                    const float* gamma, const float* beta, double eps, void* workspace,
                    size_t workspace_bytes, int device, void* stream_handle) {
    const cudaStream_t stream = as_stream(stream_handle);
    const int64_t planes = static_cast<int64_t>(n) * c;
    Workspace ws(workspace, workspace_bytes, blob_normalize_workspace(n, c), device, stream,
                 "blob_normalize (workspace)");
    Affine* coef = ws.at<Affine>(0);
    normalize_coefficients<<<grid_for(ceil_div(planes, kThreads)), kThreads, 0, stream>>>(
        planes, c, scope == SN_SCOPE_SAMPLE, mean, var, gamma, beta, eps, coef);
    check_launch("blob_normalize (coefficient kernel)", stream);

    const int64_t rows = planes * h;
    const UnitGrid grid = make_unit_grid(rows, w);
    const bool vec4 = is_aligned(src, src_step, kVecAlign) && is_aligned(dst, dst_step, kVecAlign);
    blob_normalize_kernel<<<grid_for(grid.chunks), kThreads, 0, stream>>>(
        src, src_step, dst, dst_step, h, grid, grid.chunks, rows <= int64_t(UINT32_MAX), coef, vec4);
    check_launch("blob_normalize (kernel)", stream);
    ws.release("blob_normalize (cudaFreeAsync)");
}

}  // namespace cuda
}  // namespace samplenorm
