// Host kernels between 8-bit interleaved image batches and float32 NCHW blobs: exact image
// statistics, fused convert + normalize + HWC->CHW, and the inverse with rounding/saturation.
#include <cmath>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <vector>

#include "samplenorm/samplenorm.h"
#include "cpu_kernels.h"
#include "image_convert_simd.h"
#include "image_sums.h"
#include "parallel.h"
#include "simd.h"


namespace samplenorm {
namespace cpu {
namespace {

#if defined(__x86_64__) && defined(__GNUC__)
#define SN_HAVE_AVX2_PATHS 1
bool has_avx2() {
    static const bool avx2 = __builtin_cpu_supports("avx2");
    return avx2;
}
#endif

// Channel of the image that feeds blob channel k.
inline int source_channel(int k, int cn, bool swap_rb) {
    if (swap_rb && cn >= 3 && (k == 0 || k == 2)) return 2 - k;
    return k;
}

#if defined(__SSE2__)
struct Sse2 {
    using Reg = __m128i;
    static constexpr int kBytes = 16;
    static Reg zero() { return _mm_setzero_si128(); }
    static Reg load(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
    static Reg unpacklo8(Reg a, Reg b) { return _mm_unpacklo_epi8(a, b); }
    static Reg unpackhi8(Reg a, Reg b) { return _mm_unpackhi_epi8(a, b); }
    static Reg unpacklo16(Reg a, Reg b) { return _mm_unpacklo_epi16(a, b); }
    static Reg unpackhi16(Reg a, Reg b) { return _mm_unpackhi_epi16(a, b); }
    static Reg add16(Reg a, Reg b) { return _mm_add_epi16(a, b); }
    static Reg add32(Reg a, Reg b) { return _mm_add_epi32(a, b); }
    static Reg mullo16(Reg a, Reg b) { return _mm_mullo_epi16(a, b); }
    static void store16(uint16_t* p, Reg v) { _mm_store_si128(reinterpret_cast<__m128i*>(p), v); }
    static void store32(uint32_t* p, Reg v) { _mm_store_si128(reinterpret_cast<__m128i*>(p), v); }
    static constexpr int s16_byte(int h, int i) { return 8 * h + i; }
    static constexpr int q32_byte(int h, int i) { return 4 * h + i; }
};
#endif

template <int CN>
void span_sums(const RowSpan& span, uint64_t* sum, uint64_t* sum_sq) {
#if defined(__x86_64__) && defined(__GNUC__)
    static const bool avx2 = __builtin_cpu_supports("avx2");
    if (avx2) {
        span_sums_avx2(span, CN, sum, sum_sq);
        return;
    }
#endif
#if defined(__SSE2__)
    lane_block_sums<CN, Sse2>(span, sum, sum_sq);
#else
    for (int y = 0; y < span.rows; ++y) scalar_sums(span.row(y), 0, span.w, CN, sum, sum_sq);
#endif
}

void span_sums_any(const RowSpan& span, int cn, uint64_t* sum, uint64_t* sum_sq) {
    switch (cn) {
        case 1: span_sums<1>(span, sum, sum_sq); break;
        case 3: span_sums<3>(span, sum, sum_sq); break;
        default: span_sums<4>(span, sum, sum_sq); break;
    }
}

// Exact mean and biased variance from integer sums: var = (count*SS - S^2) / count^2, with the
// numerator formed in 128-bit integers.
void exact_moments(uint64_t count, uint64_t s, uint64_t ss, double* mean, double* var) {
    unsigned __int128 num = static_cast<unsigned __int128>(count) * ss -
                            static_cast<unsigned __int128>(s) * s;
    *mean = static_cast<double>(s) / static_cast<double>(count);
    *var = static_cast<double>(num) / (static_cast<double>(count) * static_cast<double>(count));
}

// The channel permutation is a template parameter so that the compiler sees constant strides
// and vectorizes the (de)interleaving.
template <int CN, bool SWAP>
SN_VECTOR_CLONES void hwc_to_planes(const uint8_t* p, int x0, int w, float* const* planes,
                                    const Affine* a) {
    for (int x = x0; x < w; ++x) {
        for (int k = 0; k < CN; ++k) {
            const int j = (SWAP && CN >= 3 && k != 1 && k != 3) ? 2 - k : k;
            planes[k][x] = (static_cast<float>(p[x * CN + j]) - a[k].shift) * a[k].factor;
        }
    }
}

// Rounded, saturated 8-bit value of x * factor + shift, as an int in [0, 255].
inline int to_u8(float x, Affine a) {
    float v = x * a.factor + a.shift;
    v = v > 0.f ? v : 0.f;  // also maps NaN to 0
    v = v < 255.f ? v : 255.f;
    // Adding and removing 1.5 * 2^23 rounds to nearest, ties to even, for 0 <= v <= 255.
    v = (v + 12582912.f) - 12582912.f;
    return static_cast<int>(v);
}

// Converts plane rows into one packed 32-bit word per pixel (channel j in byte j), a loop over
// contiguous floats that the compiler vectorizes, then stores the words at the pixel stride.
// A fused loop with a stride-3 byte store does not vectorize.
template <int CN, bool SWAP>
SN_VECTOR_CLONES void pack_pixels(const float* const* planes, int x0, int len, const Affine* a,
                                  uint32_t* __restrict packed) {
    // Plain local pointers and coefficients: the vectorizer gives up on pointer arrays.
    constexpr int k1 = CN > 1 ? 1 : 0, k2 = CN > 2 ? 2 : 0, k3 = CN > 3 ? 3 : 0;
    constexpr int s0 = SWAP && CN >= 3 ? 16 : 0, s1 = 8, s2 = SWAP && CN >= 3 ? 0 : 16, s3 = 24;
    const float* __restrict p0 = planes[0] + x0;
    const float* __restrict p1 = planes[k1] + x0;
    const float* __restrict p2 = planes[k2] + x0;
    const float* __restrict p3 = planes[k3] + x0;
    const Affine a0 = a[0], a1 = a[k1], a2 = a[k2], a3 = a[k3];
    for (int x = 0; x < len; ++x) {
        uint32_t word = static_cast<uint32_t>(to_u8(p0[x], a0)) << s0;
        if constexpr (CN > 1) word |= static_cast<uint32_t>(to_u8(p1[x], a1)) << s1;
        if constexpr (CN > 2) word |= static_cast<uint32_t>(to_u8(p2[x], a2)) << s2;
        if constexpr (CN > 3) word |= static_cast<uint32_t>(to_u8(p3[x], a3)) << s3;
        packed[x] = word;
    }
}

template <int CN, bool SWAP>
void planes_to_hwc(const float* const* planes, int from, int w, uint8_t* p, const Affine* a) {
    constexpr int kTile = 1024;
    uint32_t packed[kTile];
    for (int x0 = from; x0 < w; x0 += kTile) {
        const int len = std::min(kTile, w - x0);
        pack_pixels<CN, SWAP>(planes, x0, len, a, packed);
        uint8_t* out = p + static_cast<int64_t>(x0) * CN;
        if (CN == 4) {
            std::memcpy(out, packed, static_cast<size_t>(len) * 4);
        } else if (CN == 1) {
            for (int x = 0; x < len; ++x) out[x] = static_cast<uint8_t>(packed[x]);
        } else {
            // Each 4-byte store also writes the next pixel's first byte, which that pixel then
            // overwrites; the last pixel of the tile is stored byte by byte to stay in the row.
            for (int x = 0; x + 1 < len; ++x) std::memcpy(out + x * CN, &packed[x], 4);
            const uint32_t last = packed[len - 1];
            for (int j = 0; j < CN; ++j) out[(len - 1) * CN + j] = static_cast<uint8_t>(last >> (8 * j));
        }
    }
}

}  // namespace

void image_stats(const uint8_t* const* images, const size_t* steps, int n, int h, int w, int cn,
                 int scope, double* mean, double* var) {
    // Work items are spans of rows of one image, about kSpanPixels each.
    constexpr int64_t kSpanPixels = 65536;
    const int rows_per_span = static_cast<int>(std::max<int64_t>(1, kSpanPixels / w));
    const int spans_per_image = (h + rows_per_span - 1) / rows_per_span;
    const int64_t items = static_cast<int64_t>(n) * spans_per_image;
    std::vector<uint64_t> sums(static_cast<size_t>(items) * cn * 2, 0);
    parallel_for(items, static_cast<double>(rows_per_span) * w * cn, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            int64_t img = item / spans_per_image;
            int y0 = static_cast<int>(item % spans_per_image) * rows_per_span;
            RowSpan span{images[img] + y0 * static_cast<int64_t>(steps[img]), steps[img],
                         std::min(rows_per_span, h - y0), w};
            uint64_t* s = &sums[static_cast<size_t>(item) * cn * 2];
            span_sums_any(span, cn, s, s + cn);
        }
    });
    // Integer sums are exact, so the merge order cannot change the result.
    const int groups = scope == SN_SCOPE_SAMPLE ? n : 1;
    const int64_t items_per_group = items / groups;
    for (int g = 0; g < groups; ++g) {
        for (int j = 0; j < cn; ++j) {
            uint64_t s = 0, ss = 0;
            for (int64_t it = g * items_per_group; it < (g + 1) * items_per_group; ++it) {
                s += sums[static_cast<size_t>(it) * cn * 2 + j];
                ss += sums[static_cast<size_t>(it) * cn * 2 + cn + j];
            }
            uint64_t count = static_cast<uint64_t>(n / groups) * h * w;
            exact_moments(count, s, ss, &mean[g * cn + j], &var[g * cn + j]);
        }
    }
}

void images_to_blob(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                    int cn, bool swap_rb, int scope, const double* mean, const double* var,
                    double scale, double eps, float* dst, size_t dst_step) {
    const int64_t rows = static_cast<int64_t>(n) * h;
    parallel_for(rows, static_cast<double>(w) * cn * 5, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            int64_t img = r / h, y = r % h;
            Affine a[kMaxChannels];
            float* planes[kMaxChannels];
            for (int k = 0; k < cn; ++k) {
                int64_t idx = (scope == SN_SCOPE_SAMPLE ? img * cn : 0) + source_channel(k, cn, swap_rb);
                a[k].shift = static_cast<float>(mean[idx]);
                a[k].factor = static_cast<float>(scale / std::sqrt(var[idx] * scale * scale + eps));
                planes[k] = reinterpret_cast<float*>(reinterpret_cast<char*>(dst) +
                                                     ((img * cn + k) * h + y) * static_cast<int64_t>(dst_step));
            }
            const uint8_t* p = images[img] + y * static_cast<int64_t>(steps[img]);
            const bool swap = swap_rb && cn >= 3;
            int done = 0;
#if defined(SN_HAVE_AVX2_PATHS)
            if (has_avx2()) {
                int source[kMaxChannels];
                for (int k = 0; k < cn; ++k) source[k] = source_channel(k, cn, swap_rb);
                done = pixels_to_planes_avx2(p, w, cn, source, planes, a);
            }
#endif
            if (cn == 1) hwc_to_planes<1, false>(p, done, w, planes, a);
            else if (cn == 3) swap ? hwc_to_planes<3, true>(p, done, w, planes, a) : hwc_to_planes<3, false>(p, done, w, planes, a);
            else swap ? hwc_to_planes<4, true>(p, done, w, planes, a) : hwc_to_planes<4, false>(p, done, w, planes, a);
        }
    });
}

void blob_to_images(const float* src, size_t src_step, int n, int c, int h, int w, bool swap_rb,
                    int scope, const double* mean, const double* var, double scale, double eps,
                    uint8_t* const* images, const size_t* steps) {
    const int64_t rows = static_cast<int64_t>(n) * h;
    parallel_for(rows, static_cast<double>(w) * c * 5, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            int64_t img = r / h, y = r % h;
            Affine a[kMaxChannels];
            const float* planes[kMaxChannels];
            for (int k = 0; k < c; ++k) {
                int64_t idx = (scope == SN_SCOPE_SAMPLE ? img * c : 0) + source_channel(k, c, swap_rb);
                a[k].shift = static_cast<float>(mean[idx]);
                a[k].factor = static_cast<float>(std::sqrt(var[idx] * scale * scale + eps) / scale);
                planes[k] = reinterpret_cast<const float*>(reinterpret_cast<const char*>(src) +
                                                           ((img * c + k) * h + y) * static_cast<int64_t>(src_step));
            }
            uint8_t* p = images[img] + y * static_cast<int64_t>(steps[img]);
            const bool swap = swap_rb && c >= 3;
            int done = 0;
#if defined(SN_HAVE_AVX2_PATHS)
            if (has_avx2()) {
                // Image channel j comes from blob channel source_channel(j) (the swap is its own inverse).
                const float* chan[kMaxChannels];
                Affine aj[kMaxChannels];
                for (int j = 0; j < c; ++j) {
                    chan[j] = planes[source_channel(j, c, swap_rb)];
                    aj[j] = a[source_channel(j, c, swap_rb)];
                }
                done = planes_to_pixels_avx2(chan, w, c, aj, p);
            }
#endif
            if (c == 1) planes_to_hwc<1, false>(planes, done, w, p, a);
            else if (c == 3) swap ? planes_to_hwc<3, true>(planes, done, w, p, a) : planes_to_hwc<3, false>(planes, done, w, p, a);
            else swap ? planes_to_hwc<4, true>(planes, done, w, p, a) : planes_to_hwc<4, false>(planes, done, w, p, a);
        }
    });
}

}  // namespace cpu
}  // namespace samplenorm
