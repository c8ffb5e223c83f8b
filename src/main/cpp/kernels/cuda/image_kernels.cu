// CUDA kernels between batches of 8-bit interleaved images (CN = 1, 3, 4) and float32 NCHW blobs
// in device memory: exact image statistics, fused convert + normalize + HWC->CHW, and the inverse
// with rounding and saturation.
//
// Determinism:
//  * image_stats sums pixels and squared pixels in integers (32-bit per thread, 64-bit per block
//    and per output), so every partial sum is exact and the result cannot depend on the order of
//    the merge; it is still a reduction without atomics (per-chunk partials, then groups of
//    partials per output on many blocks, then the groups), and the final mean/variance come from the exact sums with a fixed
//    formula. Bit-identical run to run, on any GPU, and to the CPU kernel.
//  * images_to_blob and blob_to_images are elementwise (per-pixel) maps with per-channel float
//    coefficients computed in double once per block with the same formulas and the same float
//    operation order as the CPU kernels, so their results are bit-identical to the x86 CPU path.
//
// The image batch (8 KB of pointers and steps) is a __grid_constant__ kernel parameter: CUDA
// 12.1+ accepts up to 32764 bytes of parameters on sm_70 and newer, and every target here is
// sm_75+. __grid_constant__ keeps it in the constant bank (no per-thread copy) while indexing it
// with the block's image number, a uniform index, so reads are constant-cache broadcasts.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "cuda_check.h"
#include "cuda_kernels.h"

namespace samplenorm {
namespace cuda {
namespace {

/** Byte b of a unit held as CN little-endian 32-bit words (b is a constant after unrolling). */
template <int CN>
__device__ inline uint32_t unit_byte(const uint32_t (&words)[CN], int b) {
    return (words[b / 4] >> (8 * (b % 4))) & 0xffu;
}

/**
 * The `valid` pixels (CN bytes each) at p as CN words: CN aligned 32-bit loads when the row is
 * 4-byte aligned and the unit is full, byte loads otherwise (missing bytes are 0).
 */
template <int CN>
__device__ inline void load_pixels(const uint8_t* p, int valid, bool words_ok,
                                   uint32_t (&words)[CN]) {
    if (words_ok && valid == kUnitWidth) {
        const uint32_t* q = reinterpret_cast<const uint32_t*>(p);
#pragma unroll
        for (int i = 0; i < CN; ++i) words[i] = q[i];
        return;
    }
#pragma unroll
    for (int i = 0; i < CN; ++i) words[i] = 0;
#pragma unroll
    for (int b = 0; b < kUnitWidth * CN; ++b) {
        if (b < valid * CN) words[b / 4] |= static_cast<uint32_t>(p[b]) << (8 * (b % 4));
    }
}

template <int CN>
__device__ inline void store_pixels(uint8_t* p, int valid, bool words_ok,
                                    const uint32_t (&words)[CN]) {
    if (words_ok && valid == kUnitWidth) {
        uint32_t* q = reinterpret_cast<uint32_t*>(p);
#pragma unroll
        for (int i = 0; i < CN; ++i) q[i] = words[i];
        return;
    }
#pragma unroll
    for (int b = 0; b < kUnitWidth * CN; ++b) {
        if (b < valid * CN) p[b] = static_cast<uint8_t>(unit_byte<CN>(words, b));
    }
}

/** Image channel that feeds blob channel k (and, as the map is an involution, the reverse). */
template <int CN, bool SWAP>
__host__ __device__ constexpr int partner_channel(int k) {
    return (SWAP && CN >= 3 && (k == 0 || k == 2)) ? 2 - k : k;
}

// ---------------------------------------------------------------------------------------------
// image_stats
// ---------------------------------------------------------------------------------------------

/** Exact per-channel sums of a chunk (or a thread's share of one). */
template <int CN>
struct ChannelSums {
    uint64_t sum[CN];
    uint64_t sum_sq[CN];
};

template <int CN>
struct AddChannelSums {
    __device__ ChannelSums<CN> operator()(const ChannelSums<CN>& a, const ChannelSums<CN>& b) const {
        ChannelSums<CN> r;
#pragma unroll
        for (int j = 0; j < CN; ++j) {
            r.sum[j] = a.sum[j] + b.sum[j];
            r.sum_sq[j] = a.sum_sq[j] + b.sum_sq[j];
        }
        return r;
    }
};

/** Sums of one channel over one chunk: the partials of stage 1, [item * CN + channel]. */
struct PixelSums {
    uint64_t sum;
    uint64_t sum_sq;
};

struct AddPixelSums {
    __device__ PixelSums operator()(const PixelSums& a, const PixelSums& b) const {
        return PixelSums{a.sum + b.sum, a.sum_sq + b.sum_sq};
    }
};

template <int CN>
__global__ void __launch_bounds__(kThreads)
image_chunk_sums(const __grid_constant__ ImageBatch images, UnitGrid grid, int64_t items,
                 PixelSums* partial) {
    for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
        const Chunk ck = chunk_of(item, grid);
        const uint8_t* base = images.data[ck.plane];
        const size_t step = images.step[ck.plane];
        const bool words_ok = is_aligned(base, step, kWordAlign);
        UnitPlaces up;
        place_units(grid, ck, threadIdx.x, up);
        uint32_t words[kUnitsPerThread][CN];
#pragma unroll
        for (int m = 0; m < kUnitsPerThread; ++m) {
            if (up.valid[m] > 0) {
                load_pixels<CN>(row_at(base, step, up.row[m]) + static_cast<int64_t>(up.x[m]) * CN,
                                up.valid[m], words_ok, words[m]);
            } else {
#pragma unroll
                for (int i = 0; i < CN; ++i) words[m][i] = 0;
            }
        }
        // 32-bit per-thread sums: at most kUnitsPerThread * 4 = 16 pixels, 16 * 255^2 < 2^32.
        static_assert(kUnitsPerThread * kUnitWidth * 255u * 255u < 0xffffffffu / 2,
                      "per-thread 32-bit sums must not overflow");
        uint32_t s[CN], q[CN];
#pragma unroll
        for (int j = 0; j < CN; ++j) s[j] = q[j] = 0;
#pragma unroll
        for (int m = 0; m < kUnitsPerThread; ++m) {
#pragma unroll
            for (int px = 0; px < kUnitWidth; ++px) {
                if (px < up.valid[m]) {
#pragma unroll
                    for (int j = 0; j < CN; ++j) {
                        const uint32_t v = unit_byte<CN>(words[m], px * CN + j);
                        s[j] += v;
                        q[j] += v * v;
                    }
                }
            }
        }
        ChannelSums<CN> cs;
#pragma unroll
        for (int j = 0; j < CN; ++j) {
            cs.sum[j] = s[j];
            cs.sum_sq[j] = q[j];
        }
        cs = block_reduce<kThreads>(cs, AddChannelSums<CN>());
        if (threadIdx.x == 0) {
#pragma unroll
            for (int j = 0; j < CN; ++j) partial[item * CN + j] = PixelSums{cs.sum[j], cs.sum_sq[j]};
        }
    }
}

/**
 * Exact mean and biased variance from integer sums, as the CPU kernel computes them:
 * mean = S / count (S < 2^53, so both operands are exact doubles and the quotient is correctly
 * rounded); var = (count * SS - S^2) / count^2 with the numerator formed exactly in unsigned
 * 128-bit integers (supported in device code since CUDA 11.5; count * SS needs more than 64 bits
 * from about 2^24 pixels on, and a double would lose the low bits of the difference). The
 * numerator is >= 0 by Cauchy-Schwarz, so the subtraction cannot wrap; it is then rounded once
 * to double and divided by count^2 (exact in double up to 2^26 pixels per output).
 */
__device__ inline void exact_moments(uint64_t count, uint64_t s, uint64_t ss, double* mean,
                                     double* var) {
    const unsigned __int128 num =
        static_cast<unsigned __int128>(count) * ss - static_cast<unsigned __int128>(s) * s;
    *mean = static_cast<double>(s) / static_cast<double>(count);
    *var = static_cast<double>(num) / (static_cast<double>(count) * static_cast<double>(count));
}

/** Chunk partials one block adds in the first merge stage: outputs with more are split into groups. */
constexpr int64_t kImageMergeGroup = int64_t(kMergeThreads) * 16;

/**
 * Stage 2: block `task` adds group g of output o (task = o * groups + g; an output is a channel,
 * or image * CN + channel): items [g * kImageMergeGroup, ...) of the output's chunk partials
 * (every chunk of every image under batch scope, the chunks of one image under sample scope).
 * With one group per output it writes the statistics; otherwise the group's sums, which
 * image_final_sums adds. Integer sums are exact, so the split cannot change the result, and a
 * batch-scope channel is added by many blocks instead of one.
 */
__global__ void __launch_bounds__(kMergeThreads)
image_merge_sums(const PixelSums* partial, int cn, int64_t chunks_per_image,
                 int64_t images_per_output, int64_t outputs, bool per_sample, int64_t groups,
                 PixelSums* group_sums, uint64_t count, double* mean, double* var) {
    const int64_t items = images_per_output * chunks_per_image;
    for (int64_t task = blockIdx.x; task < outputs * groups; task += gridDim.x) {
        const int64_t o = task / groups;
        const int64_t begin = (task - o * groups) * kImageMergeGroup;
        const int64_t end = begin + kImageMergeGroup < items ? begin + kImageMergeGroup : items;
        const int64_t channel = o % cn;
        const int64_t first_item = per_sample ? (o / cn) * chunks_per_image : 0;
        PixelSums acc{0, 0};
        for (int64_t i = begin + threadIdx.x; i < end; i += kMergeThreads) {
            const PixelSums p = partial[(first_item + i) * cn + channel];
            acc.sum += p.sum;
            acc.sum_sq += p.sum_sq;
        }
        acc = block_reduce<kMergeThreads>(acc, AddPixelSums());
        if (threadIdx.x == 0) {
            if (groups == 1) exact_moments(count, acc.sum, acc.sum_sq, &mean[o], &var[o]);
            else group_sums[task] = acc;
        }
    }
}

/** Stage 3 (outputs of more than one group): one block per output adds its group sums. */
__global__ void __launch_bounds__(kMergeThreads)
image_final_sums(const PixelSums* group_sums, int64_t groups, int64_t outputs, uint64_t count, double* mean,
                 double* var) {
    for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
        PixelSums acc{0, 0};
        for (int64_t g = threadIdx.x; g < groups; g += kMergeThreads) {
            const PixelSums p = group_sums[o * groups + g];
            acc.sum += p.sum;
            acc.sum_sq += p.sum_sq;
        }
        acc = block_reduce<kMergeThreads>(acc, AddPixelSums());
        if (threadIdx.x == 0) exact_moments(count, acc.sum, acc.sum_sq, &mean[o], &var[o]);
    }
}

// ---------------------------------------------------------------------------------------------
// images_to_blob / blob_to_images
// ---------------------------------------------------------------------------------------------

/** Per blob channel k: value = (p - shift) * factor, or p = value * factor + shift. */
struct ChannelAffine {
    float shift[kMaxImageChannels];
    float factor[kMaxImageChannels];
};

/**
 * Fills the block's shared coefficients for image `image` (threads 0 .. CN-1, one channel each)
 * between two barriers: the first lets the previous chunk's readers finish. Formulas and
 * evaluation order in double are those of the CPU kernels, so the floats are the same.
 */
template <int CN, bool SWAP, bool kInverse>
__device__ inline ChannelAffine load_affine(ChannelAffine& shared, int64_t image, bool per_sample,
                                            const double* mean, const double* var, double scale,
                                            double eps) {
    __syncthreads();
    if (threadIdx.x < CN) {
        const int k = threadIdx.x;
        const int64_t idx = (per_sample ? image * CN : 0) +
                            partner_channel<CN, SWAP>(k);
        // Explicitly rounded operations: no FMA contraction, the same double as on the CPU.
        const double sd = sqrt(__dadd_rn(__dmul_rn(__dmul_rn(var[idx], scale), scale), eps));
        shared.shift[k] = static_cast<float>(mean[idx]);
        shared.factor[k] = static_cast<float>(kInverse ? sd / scale : scale / sd);
    }
    __syncthreads();
    return shared;
}

template <int CN, bool SWAP>
__global__ void __launch_bounds__(kThreads)
images_to_blob_kernel(const __grid_constant__ ImageBatch images, UnitGrid grid, int64_t items,
                      bool per_sample, const double* mean, const double* var,
                      double scale, double eps, float* dst, size_t dst_step, bool dst_vec4) {
    __shared__ ChannelAffine coef;
    for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
        const Chunk ck = chunk_of(item, grid);
        const ChannelAffine a =
            load_affine<CN, SWAP, false>(coef, ck.plane, per_sample, mean, var, scale, eps);
        const uint8_t* base = images.data[ck.plane];
        const size_t step = images.step[ck.plane];
        const bool words_ok = is_aligned(base, step, kWordAlign);
        UnitPlaces up;
        place_units(grid, ck, threadIdx.x, up);
        uint32_t words[kUnitsPerThread][CN];
#pragma unroll
        for (int m = 0; m < kUnitsPerThread; ++m) {
            if (up.valid[m] > 0) {
                load_pixels<CN>(row_at(base, step, up.row[m]) + static_cast<int64_t>(up.x[m]) * CN,
                                up.valid[m], words_ok, words[m]);
            }
        }
#pragma unroll
        for (int m = 0; m < kUnitsPerThread; ++m) {
            if (up.valid[m] == 0) continue;
#pragma unroll
            for (int k = 0; k < CN; ++k) {
                const int j = partner_channel<CN, SWAP>(k);
                float out[kUnitWidth];
#pragma unroll
                for (int px = 0; px < kUnitWidth; ++px) {
                    const float p = static_cast<float>(unit_byte<CN>(words[m], px * CN + j));
                    out[px] = __fmul_rn(__fsub_rn(p, a.shift[k]), a.factor[k]);
                }
                const int64_t plane_row = (ck.plane * CN + k) * grid.h + up.row[m];
                float* q = row_at(dst, dst_step, plane_row) + up.x[m];
                if (dst_vec4 && up.valid[m] == kUnitWidth) {
                    *reinterpret_cast<float4*>(q) = make_float4(out[0], out[1], out[2], out[3]);
                } else {
#pragma unroll
                    for (int px = 0; px < kUnitWidth; ++px) {
                        if (px < up.valid[m]) q[px] = out[px];
                    }
                }
            }
        }
    }
}

/** Round to nearest (ties to even) and saturate to [0, 255]; NaN -> 0, +inf -> 255, -inf -> 0. */
__device__ inline uint32_t saturate_u8(float v) {
    v = v > 0.f ? v : 0.f;  // also maps NaN to 0
    v = v < 255.f ? v : 255.f;
    return static_cast<uint32_t>(__float2int_rn(v));
}

template <int CN, bool SWAP>
__global__ void __launch_bounds__(kThreads)
blob_to_images_kernel(const float* src, size_t src_step, UnitGrid grid, int64_t items,
                      bool per_sample, const double* mean, const double* var, double scale,
                      double eps, const __grid_constant__ MutableImageBatch images, bool src_vec4) {
    __shared__ ChannelAffine coef;
    for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
        const Chunk ck = chunk_of(item, grid);
        const ChannelAffine a =
            load_affine<CN, SWAP, true>(coef, ck.plane, per_sample, mean, var, scale, eps);
        UnitPlaces up;
        place_units(grid, ck, threadIdx.x, up);
        // All loads first: CN planes x kUnitsPerThread units of 4 floats.
        float4 v[kUnitsPerThread][CN];
#pragma unroll
        for (int m = 0; m < kUnitsPerThread; ++m) {
#pragma unroll
            for (int k = 0; k < CN; ++k) {
                v[m][k] = make_float4(0.f, 0.f, 0.f, 0.f);
                if (up.valid[m] == 0) continue;
                const int64_t plane_row = (ck.plane * CN + k) * grid.h + up.row[m];
                const float* p = row_at(src, src_step, plane_row) + up.x[m];
                if (src_vec4 && up.valid[m] == kUnitWidth) {
                    v[m][k] = *reinterpret_cast<const float4*>(p);
                } else {
                    v[m][k].x = p[0];  // valid >= 1
                    if (up.valid[m] > 1) v[m][k].y = p[1];
                    if (up.valid[m] > 2) v[m][k].z = p[2];
                    if (up.valid[m] > 3) v[m][k].w = p[3];
                }
            }
        }
        uint8_t* base = images.data[ck.plane];
        const size_t step = images.step[ck.plane];
        const bool words_ok = is_aligned(base, step, kWordAlign);
#pragma unroll
        for (int m = 0; m < kUnitsPerThread; ++m) {
            if (up.valid[m] == 0) continue;
            uint32_t words[CN];
#pragma unroll
            for (int i = 0; i < CN; ++i) words[i] = 0;
#pragma unroll
            for (int px = 0; px < kUnitWidth; ++px) {
#pragma unroll
                for (int j = 0; j < CN; ++j) {
                    const int k = partner_channel<CN, SWAP>(j);  // blob channel feeding byte j
                    const float4& x4 = v[m][k];
                    const float x = px == 0 ? x4.x : px == 1 ? x4.y : px == 2 ? x4.z : x4.w;
                    // Rounded multiply then add (no FMA), as the x86 CPU kernel: same bytes.
                    const float p = __fadd_rn(__fmul_rn(x, a.factor[k]), a.shift[k]);
                    const int b = px * CN + j;
                    words[b / 4] |= saturate_u8(p) << (8 * (b % 4));
                }
            }
            store_pixels<CN>(row_at(base, step, up.row[m]) + static_cast<int64_t>(up.x[m]) * CN,
                             up.valid[m], words_ok, words);
        }
    }
}

// Dispatch from the run-time channel count / swap flag to the kernel instantiations.
template <template <int, bool> class Launch, typename... Args>
void dispatch(int cn, bool swap_rb, Args&&... args) {
    switch (cn) {
        case 1: Launch<1, false>::run(args...); break;
        case 3:
            if (swap_rb) Launch<3, true>::run(args...);
            else Launch<3, false>::run(args...);
            break;
        default:
            if (swap_rb) Launch<4, true>::run(args...);
            else Launch<4, false>::run(args...);
            break;
    }
}

}  // namespace

namespace {

/** Bytes of the chunk partials, then of the group sums (when an output has several groups). */
struct ImageStatsPlan {
    int64_t items;
    int64_t outputs;
    int64_t groups;
    size_t partial_bytes;
    size_t group_bytes;
};

ImageStatsPlan plan_image_stats(int n, int h, int w, int cn, int scope) {
    const UnitGrid grid = make_unit_grid(h, w);
    const bool per_sample = scope == SN_SCOPE_SAMPLE;
    ImageStatsPlan p;
    p.items = static_cast<int64_t>(n) * grid.chunks;
    p.outputs = per_sample ? static_cast<int64_t>(n) * cn : cn;
    p.groups = ceil_div((per_sample ? 1 : n) * grid.chunks, kImageMergeGroup);
    p.partial_bytes = workspace_align(static_cast<size_t>(p.items) * static_cast<size_t>(cn) * sizeof(PixelSums));
    p.group_bytes = p.groups > 1 ? workspace_align(static_cast<size_t>(p.outputs * p.groups) * sizeof(PixelSums)) : 0;
    return p;
}

}  // namespace

size_t image_stats_workspace(int n, int h, int w, int cn, int scope) {
    const ImageStatsPlan p = plan_image_stats(n, h, w, cn, scope);
    return p.partial_bytes + p.group_bytes;
}

void image_stats(const ImageBatch& images, int n, int h, int w, int cn, int scope, double* mean,
                 double* var, void* workspace, size_t workspace_bytes, int device, void* stream_handle) {
    const cudaStream_t stream = as_stream(stream_handle);
    const UnitGrid grid = make_unit_grid(h, w);
    const ImageStatsPlan p = plan_image_stats(n, h, w, cn, scope);
    const bool per_sample = scope == SN_SCOPE_SAMPLE;

    Workspace ws(workspace, workspace_bytes, p.partial_bytes + p.group_bytes, device, stream, "image_stats (workspace)");
    const unsigned blocks = grid_for(p.items);
    PixelSums* sums = ws.at<PixelSums>(0);
    switch (cn) {
        case 1: image_chunk_sums<1><<<blocks, kThreads, 0, stream>>>(images, grid, p.items, sums); break;
        case 3: image_chunk_sums<3><<<blocks, kThreads, 0, stream>>>(images, grid, p.items, sums); break;
        default: image_chunk_sums<4><<<blocks, kThreads, 0, stream>>>(images, grid, p.items, sums); break;
    }
    check_launch("image_stats (chunk kernel)", stream);

    const uint64_t count = static_cast<uint64_t>(per_sample ? 1 : n) * static_cast<uint64_t>(h) *
                           static_cast<uint64_t>(w);
    PixelSums* group_sums = p.groups > 1 ? ws.at<PixelSums>(p.partial_bytes) : nullptr;
    image_merge_sums<<<grid_for(p.outputs * p.groups), kMergeThreads, 0, stream>>>(
        sums, cn, grid.chunks, per_sample ? 1 : n, p.outputs, per_sample, p.groups, group_sums, count, mean, var);
    check_launch("image_stats (merge kernel)", stream);
    if (p.groups > 1) {
        image_final_sums<<<grid_for(p.outputs), kMergeThreads, 0, stream>>>(group_sums, p.groups, p.outputs, count, mean, var);
        check_launch("image_stats (final merge kernel)", stream);
    }
    ws.release("image_stats (cudaFreeAsync)");
}

namespace {

template <int CN, bool SWAP>
struct LaunchImagesToBlob {
    static void run(const ImageBatch& images, const UnitGrid& grid, int64_t items,
                    bool per_sample, const double* mean, const double* var, double scale,
                    double eps, float* dst, size_t dst_step, bool dst_vec4, cudaStream_t stream) {
        images_to_blob_kernel<CN, SWAP><<<grid_for(items), kThreads, 0, stream>>>(
            images, grid, items, per_sample, mean, var, scale, eps, dst, dst_step, dst_vec4);
    }
};

template <int CN, bool SWAP>
struct LaunchBlobToImages {
    static void run(const float* src, size_t src_step, const UnitGrid& grid, int64_t items,
                    bool per_sample, const double* mean, const double* var, double scale,
                    double eps, const MutableImageBatch& images, bool src_vec4,
                    cudaStream_t stream) {
        blob_to_images_kernel<CN, SWAP><<<grid_for(items), kThreads, 0, stream>>>(
            src, src_step, grid, items, per_sample, mean, var, scale, eps, images, src_vec4);
    }
};

}  // namespace

void images_to_blob(const ImageBatch& images, int n, int h, int w, int cn, bool swap_rb,
                    int scope, const double* mean, const double* var, double scale, double eps,
                    float* dst, size_t dst_step, void* stream_handle) {
    const UnitGrid grid = make_unit_grid(h, w);
    const int64_t items = static_cast<int64_t>(n) * grid.chunks;
    dispatch<LaunchImagesToBlob>(cn, swap_rb, images, grid, items, scope == SN_SCOPE_SAMPLE, mean,
                                 var, scale, eps, dst, dst_step, is_aligned(dst, dst_step, kVecAlign),
                                 as_stream(stream_handle));
    check_launch("images_to_blob (kernel)", as_stream(stream_handle));
}

void blob_to_images(const float* src, size_t src_step, int n, int c, int h, int w, bool swap_rb,
                    int scope, const double* mean, const double* var, double scale, double eps,
                    const MutableImageBatch& images, void* stream_handle) {
    const UnitGrid grid = make_unit_grid(h, w);
    const int64_t items = static_cast<int64_t>(n) * grid.chunks;
    dispatch<LaunchBlobToImages>(c, swap_rb, src, src_step, grid, items, scope == SN_SCOPE_SAMPLE,
                                 mean, var, scale, eps, images, is_aligned(src, src_step, kVecAlign),
                                 as_stream(stream_handle));
    check_launch("blob_to_images (kernel)", as_stream(stream_handle));
}

}  // namespace cuda
}  // namespace samplenorm
