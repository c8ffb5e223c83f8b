// Host kernels on float32 NCHW blobs: statistics and fused normalization.
#include <cmath>
#include <vector>

#include "samplenorm/samplenorm.h"
#include "../common/moments.h"
#include "cpu_kernels.h"
#include "parallel.h"
#include "simd.h"


namespace samplenorm {
namespace cpu {
namespace {

// Elements per statistics chunk: large enough to stream, small enough to balance threads.
constexpr int64_t kStatsChunk = 16384;

inline const float* row_ptr(const float* base, size_t step, int64_t row) {
    return reinterpret_cast<const float*>(reinterpret_cast<const char*>(base) + row * static_cast<int64_t>(step));
}
inline float* row_ptr(float* base, size_t step, int64_t row) {
    return reinterpret_cast<float*>(reinterpret_cast<char*>(base) + row * static_cast<int64_t>(step));
}

SN_VECTOR_CLONES
void shifted_sums(const float* x, int64_t len, double pivot, double* sum, double* sum_sq) {
    double s = 0, ss = 0;
#pragma omp simd reduction(+ : s, ss)
    for (int64_t i = 0; i < len; ++i) {
        double d = static_cast<double>(x[i]) - pivot;
        s += d;
        ss += d * d;
    }
    *sum += s;
    *sum_sq += ss;
}

// Moments of elements [begin, end) of plane `plane` (flat index within the H x W plane).
Moments chunk_moments(const float* src, size_t step, int64_t plane, int h, int w, int64_t begin,
                      int64_t end) {
    int64_t first_row = plane * h + begin / w;
    double pivot = row_ptr(src, step, first_row)[begin % w];
    double sum = 0, sum_sq = 0;
    int64_t i = begin;
    while (i < end) {
        int64_t y = i / w, x0 = i % w;
        int64_t len = std::min<int64_t>(w - x0, end - i);
        shifted_sums(row_ptr(src, step, plane * h + y) + x0, len, pivot, &sum, &sum_sq);
        i += len;
    }
    return moments_from_shifted_sums(static_cast<double>(end - begin), pivot, sum, sum_sq);
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
    parallel_for(planes * chunks_per_plane, 4.0 * kStatsChunk, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            int64_t plane = item / chunks_per_plane, chunk = item % chunks_per_plane;
            int64_t b = chunk * kStatsChunk, e = std::min(plane_size, b + kStatsChunk);
            partial[static_cast<size_t>(item)] = chunk_moments(src, step, plane, h, w, b, e);
        }
    });
    // Fixed-order merge: plane by plane, chunk by chunk.
    const int outputs = scope == SN_SCOPE_SAMPLE ? n * c : c;
    for (int o = 0; o < outputs; ++o) {
        Moments acc{0, 0, 0};
        for (int s = 0; s < (scope == SN_SCOPE_SAMPLE ? 1 : n); ++s) {
            int64_t plane = scope == SN_SCOPE_SAMPLE ? o : static_cast<int64_t>(s) * c + o;
            for (int64_t k = 0; k < chunks_per_plane; ++k)
                acc = merge_moments(acc, partial[static_cast<size_t>(plane * chunks_per_plane + k)]);
        }
        mean[o] = acc.mean;
        var[o] = acc.m2 / acc.count;
    }
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
