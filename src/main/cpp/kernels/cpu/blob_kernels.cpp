// Host kernels on float32 NCHW blobs: statistics and fused normalization.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "samplenorm/samplenorm.h"
#include "../common/moments.h"
#include "cpu_kernels.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include "blob_stats_simd.h"
#define SN_HAVE_AVX2_PATHS 1
#endif
#include "parallel.h"
#include "simd.h"


namespace samplenorm {
namespace cpu {
namespace {

inline const float* row_ptr(const float* base, size_t step, int64_t row) {
    return reinterpret_cast<const float*>(reinterpret_cast<const char*>(base) + row * static_cast<int64_t>(step));
}
inline float* row_ptr(float* base, size_t step, int64_t row) {
    return reinterpret_cast<float*>(reinterpret_cast<char*>(base) + row * static_cast<int64_t>(step));
}

// Adds x[0 .. len) to lanes s[0 .. len), q[0 .. len): one element per lane, in the canonical
// per-lane order (the caller walks m = 0, 1, ...). Independent lanes: the loop vectorizes.
SN_VECTOR_CLONES
void add_to_lanes(const float* x, int len, double pivot, double* __restrict s, double* __restrict q) {
    for (int j = 0; j < len; ++j) {
        const double d = static_cast<double>(x[j]) - pivot;
        s[j] = s[j] + d;
        q[j] = q[j] + d * d;
    }
}

#if defined(SN_HAVE_AVX2_PATHS)
bool has_avx2() {
    static const bool avx2 = __builtin_cpu_supports("avx2");
    return avx2;
}
#endif

// A full chunk of contiguous memory (portable path): lanes in blocks of 16, each block's sums
// kept in locals over its 16 elements, the same per-lane order as add_to_lanes.
SN_VECTOR_CLONES
void full_chunk_lanes(const float* x, double pivot, double* __restrict s, double* __restrict q) {
    constexpr int kBlock = 16;
    for (int tb = 0; tb < kReduceLanes; tb += kBlock) {
        double bs[kBlock] = {}, bq[kBlock] = {};
        for (int m = 0; m < kLaneElements; ++m) {
            const float* p = x + m * kReduceLanes + tb;
            for (int j = 0; j < kBlock; ++j) {
                const double d = static_cast<double>(p[j]) - pivot;
                bs[j] = bs[j] + d;
                bq[j] = bq[j] + d * d;
            }
        }
        for (int j = 0; j < kBlock; ++j) {
            s[tb + j] = bs[j];
            q[tb + j] = bq[j];
        }
    }
}

// Canonical moments of elements [begin, end) of plane `plane` (flat index within the H x W
// plane): see kernels/common/moments.h.
Moments chunk_moments(const float* src, size_t step, int64_t plane, int h, int w, int64_t begin,
                      int64_t end) {
    alignas(64) double s[kReduceLanes];
    alignas(64) double q[kReduceLanes];
    const int active = static_cast<int>(std::min<int64_t>(end - begin, kReduceLanes));
    for (int t = 0; t < active; ++t) s[t] = q[t] = 0.0;
    const double pivot = row_ptr(src, step, plane * h + begin / w)[begin % w];
    const bool contiguous = step == static_cast<size_t>(w) * sizeof(float) || begin / w == (end - 1) / w;
    if (contiguous && end - begin == kStatsChunk) {
        const float* x = row_ptr(src, step, plane * h + begin / w) + begin % w;
#if defined(SN_HAVE_AVX2_PATHS)
        if (has_avx2()) {
            full_chunk_sums_avx2(x, pivot, s, q);
            halving_tree_avx2(s, q);
            return moments_from_shifted_sums(static_cast<double>(kStatsChunk), pivot, s[0], q[0]);
        }
#endif
        full_chunk_lanes(x, pivot, s, q);
    } else {
        for (int64_t base = begin; base < end; base += kReduceLanes) {
            // Elements base + t, t = 0 .. 255, cut where rows end.
            const int64_t stop = std::min(end, base + kReduceLanes);
            int64_t e = base;
            while (e < stop) {
                const int64_t y = e / w, x0 = e % w;
                const int len = static_cast<int>(std::min<int64_t>(w - x0, stop - e));
                const int lane = static_cast<int>(e - base);
                add_to_lanes(row_ptr(src, step, plane * h + y) + x0, len, pivot, s + lane, q + lane);
                e += len;
            }
        }
    }
    // Halving tree; lanes >= active hold +0.0, and adding it changes nothing (a lane is never -0).
    for (int width = kReduceLanes / 2; width >= 1; width /= 2) {
        for (int t = 0; t + width < active && t < width; ++t) {
            s[t] = s[t] + s[t + width];
            q[t] = q[t] + q[t + width];
        }
    }
    return moments_from_shifted_sums(static_cast<double>(end - begin), pivot, s[0], q[0]);
}

// Canonical merge of items[0 .. count) (count <= kMergeGroup): lanes, then the halving tree.
// Merging with an empty lane returns the other side exactly, so empty lanes are skipped.
template <typename Item>
Moments merge_group(Item item, int64_t count) {
    Moments lane[kReduceLanes];
    const int active = static_cast<int>(std::min<int64_t>(count, kReduceLanes));
    for (int t = 0; t < active; ++t) {
        Moments acc{0, 0, 0};
        for (int64_t j = t; j < count; j += kReduceLanes) acc = merge_moments(acc, item(j));
        lane[t] = acc;
    }
    for (int width = kReduceLanes / 2; width >= 1; width /= 2) {
        for (int t = 0; t + width < active && t < width; ++t) lane[t] = merge_moments(lane[t], lane[t + width]);
    }
    return lane[0];
}

// Canonical merge of a whole sequence: groups of kMergeGroup, then their results, recursively.
Moments merge_sequence(std::vector<Moments>& items) {
    while (static_cast<int64_t>(items.size()) > kMergeGroup) {
        const int64_t groups = merge_groups(static_cast<int64_t>(items.size()));
        std::vector<Moments> next(static_cast<size_t>(groups));
        for (int64_t g = 0; g < groups; ++g) {
            const int64_t first = g * kMergeGroup;
            const int64_t count = std::min<int64_t>(kMergeGroup, static_cast<int64_t>(items.size()) - first);
            next[static_cast<size_t>(g)] = merge_group([&](int64_t j) { return items[static_cast<size_t>(first + j)]; }, count);
        }
        items.swap(next);
    }
    return merge_group([&](int64_t j) { return items[static_cast<size_t>(j)]; }, static_cast<int64_t>(items.size()));
}

SN_VECTOR_CLONES
// y = (x - (shift_hi + shift_lo)) * factor + offset. The mean is split into two floats so that
// data with a large common offset keeps its precision: x - shift_hi is exact near the mean.
void affine_row(const float* x, float* y, int64_t len, float shift_hi, float shift_lo,
                float factor, float offset) {
    for (int64_t i = 0; i < len; ++i) y[i] = ((x[i] - shift_hi) - shift_lo) * factor + offset;
}

}  // namespace

void blob_stats(const float* src, size_t step, int n, int c, int h, int w, int scope,
                double* mean, double* var) {
    const int64_t plane_size = static_cast<int64_t>(h) * w;
    const int64_t chunks_per_plane = (plane_size + kStatsChunk - 1) / kStatsChunk;
    const int64_t planes = static_cast<int64_t>(n) * c;
    std::vector<Moments> partial(static_cast<size_t>(planes * chunks_per_plane));
    parallel_for(planes * chunks_per_plane, 4.0 * static_cast<double>(std::min(plane_size, kStatsChunk)),
                 [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            int64_t plane = item / chunks_per_plane, chunk = item % chunks_per_plane;
            int64_t b = chunk * kStatsChunk, e = std::min(plane_size, b + kStatsChunk);
            partial[static_cast<size_t>(item)] = chunk_moments(src, step, plane, h, w, b, e);
        }
    });
    // Each output merges its sequence: plane by plane (batch scope: n = 0 .. N-1), chunk by chunk.
    const int64_t outputs = scope == SN_SCOPE_SAMPLE ? planes : c;
    const int64_t per_output = (scope == SN_SCOPE_SAMPLE ? 1 : n) * chunks_per_plane;
    parallel_for(outputs, 8.0 * static_cast<double>(per_output), [&](int64_t begin, int64_t end) {
        std::vector<Moments> items;
        for (int64_t o = begin; o < end; ++o) {
            items.resize(static_cast<size_t>(per_output));
            for (int64_t i = 0; i < per_output; ++i) {
                const int64_t s = i / chunks_per_plane, k = i % chunks_per_plane;
                const int64_t plane = scope == SN_SCOPE_SAMPLE ? o : s * c + o;
                items[static_cast<size_t>(i)] = partial[static_cast<size_t>(plane * chunks_per_plane + k)];
            }
            const Moments m = merge_sequence(items);
            mean[o] = m.mean;
            var[o] = m.m2 / m.count;
        }
    });
}

void blob_normalize(const float* src, size_t src_step, float* dst, size_t dst_step, int n, int c,
                    int h, int w, int scope, const double* mean, const double* var,
                    const float* gamma, const float* beta, double eps) {
    const int64_t rows = static_cast<int64_t>(n) * c * h;
    parallel_for(rows, 8.0 * w, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            int64_t plane = row / h;
            int ch = static_cast<int>(plane % c);
            int64_t k = scope == SN_SCOPE_SAMPLE ? plane : ch;
            double g = gamma != nullptr ? gamma[ch] : 1.0;
            double factor = g / std::sqrt(var[k] + eps);
            float offset = beta != nullptr ? beta[ch] : 0.0f;
            float shift_hi = static_cast<float>(mean[k]);
            float shift_lo = static_cast<float>(mean[k] - shift_hi);
            affine_row(row_ptr(src, src_step, row), row_ptr(dst, dst_step, row), w, shift_hi,
                       shift_lo, static_cast<float>(factor), offset);
        }
    });
}

}  // namespace cpu
}  // namespace samplenorm
