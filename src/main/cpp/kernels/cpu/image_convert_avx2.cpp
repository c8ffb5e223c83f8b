// The AVX2 path of the 8-bit <-> float row conversions; this file alone is compiled with -mavx2
// (no FMA: the multiply and the add are rounded separately, as in the portable path).
#include <immintrin.h>

#include "image_convert_simd.h"

namespace samplenorm {
namespace cpu {
namespace {

// Byte shuffles that gather channel j (of 3) of 16 pixels from the three 16-byte loads holding
// them: kGather3[j][r][i] is the byte of load r that holds pixel i's channel j, or -1 (zero).
struct Gather3 {
    int8_t mask[3][3][16];
};
constexpr Gather3 make_gather3() {
    Gather3 g{};
    for (int j = 0; j < 3; ++j) {
        for (int r = 0; r < 3; ++r) {
            for (int i = 0; i < 16; ++i) {
                const int pos = 3 * i + j;
                g.mask[j][r][i] = static_cast<int8_t>(pos / 16 == r ? pos % 16 : -1);
            }
        }
    }
    return g;
}
constexpr Gather3 kGather3 = make_gather3();

inline __m128i load16(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m128i mask16(const int8_t* m) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(m)); }

// Eight 32-bit integers (0 .. 255) to floats, then (v - shift) * factor into dst[0 .. 8).
inline void affine_store(__m256i v, __m256 shift, __m256 factor, float* dst) {
    _mm256_storeu_ps(dst, _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(v), shift), factor));
}

template <int CN>
int to_planes(const uint8_t* p, int w, const int* source, float* const* planes, const Affine* a) {
    __m256 shift[CN], factor[CN];
    for (int k = 0; k < CN; ++k) {
        shift[k] = _mm256_set1_ps(a[k].shift);
        factor[k] = _mm256_set1_ps(a[k].factor);
    }
    if constexpr (CN == 3) {
        __m128i m[3][3];
        for (int k = 0; k < 3; ++k)
            for (int r = 0; r < 3; ++r) m[k][r] = mask16(kGather3.mask[source[k]][r]);
        const int done = w / 16 * 16;
        for (int x = 0; x < done; x += 16) {
            const uint8_t* b = p + 3 * x;
            const __m128i v0 = load16(b), v1 = load16(b + 16), v2 = load16(b + 32);
            for (int k = 0; k < 3; ++k) {
                const __m128i c = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(v0, m[k][0]), _mm_shuffle_epi8(v1, m[k][1])),
                                               _mm_shuffle_epi8(v2, m[k][2]));
                affine_store(_mm256_cvtepu8_epi32(c), shift[k], factor[k], planes[k] + x);
                affine_store(_mm256_cvtepu8_epi32(_mm_srli_si128(c, 8)), shift[k], factor[k], planes[k] + x + 8);
            }
        }
        return done;
    } else if constexpr (CN == 4) {
        const __m256i low = _mm256_set1_epi32(0xff);
        const int done = w / 8 * 8;
        for (int x = 0; x < done; x += 8) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 4 * x));
            for (int k = 0; k < 4; ++k) {
                const __m256i c = _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_set1_epi32(8 * source[k])), low);
                affine_store(c, shift[k], factor[k], planes[k] + x);
            }
        }
        return done;
    } else {
        const int done = w / 8 * 8;
        for (int x = 0; x < done; x += 8) {
            const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + x));
            affine_store(_mm256_cvtepu8_epi32(v), shift[0], factor[0], planes[0] + x);
        }
        return done;
    }
}

// Eight floats to their rounded, saturated 8-bit values, each in the low byte of a 32-bit lane
// (the upper bytes are not zero). Adding 1.5 * 2^23 rounds 0 <= v <= 255 to nearest, ties to
// even, and leaves the integer in the low mantissa bits: the portable path's rounding.
inline __m256i to_u8_lanes(const float* src, __m256 factor, __m256 shift) {
    const __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(src), factor), shift);
    // max(v, 0) returns 0 for NaN (the second operand), like the portable `v > 0 ? v : 0`.
    const __m256 c = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(255.f));
    return _mm256_castps_si256(_mm256_add_ps(c, _mm256_set1_ps(12582912.f)));
}

template <int CN>
int to_pixels(const float* const* chan, int w, const Affine* a, uint8_t* out) {
    __m256 shift[CN], factor[CN];
    for (int j = 0; j < CN; ++j) {
        shift[j] = _mm256_set1_ps(a[j].shift);
        factor[j] = _mm256_set1_ps(a[j].factor);
    }
    const __m256i low = _mm256_set1_epi32(0xff);
    // Eight pixels as eight 32-bit words, channel j in byte j.
    auto words = [&](int x) {
        __m256i word = _mm256_and_si256(to_u8_lanes(chan[0] + x, factor[0], shift[0]), low);
        for (int j = 1; j < CN; ++j) {
            const __m256i b = _mm256_and_si256(to_u8_lanes(chan[j] + x, factor[j], shift[j]), low);
            word = _mm256_or_si256(word, _mm256_slli_epi32(b, 8 * j));
        }
        return word;
    };
    if constexpr (CN == 3) {
        // Words -> 3 bytes each: 12 bytes per 128-bit half, then three 16-byte stores per 16 pixels.
        const __m256i compact = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,
                                                 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
        const int done = w / 16 * 16;
        for (int x = 0; x < done; x += 16) {
            const __m256i lo = _mm256_shuffle_epi8(words(x), compact);
            const __m256i hi = _mm256_shuffle_epi8(words(x + 8), compact);
            const __m128i q0 = _mm256_castsi256_si128(lo), q1 = _mm256_extracti128_si256(lo, 1);
            const __m128i q2 = _mm256_castsi256_si128(hi), q3 = _mm256_extracti128_si256(hi, 1);
            uint8_t* o = out + 3 * x;
            _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm_or_si128(q0, _mm_slli_si128(q1, 12)));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 16), _mm_or_si128(_mm_srli_si128(q1, 4), _mm_slli_si128(q2, 8)));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 32), _mm_or_si128(_mm_srli_si128(q2, 8), _mm_slli_si128(q3, 4)));
        }
        return done;
    } else if constexpr (CN == 4) {
        const int done = w / 8 * 8;
        for (int x = 0; x < done; x += 8) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4 * x), words(x));
        return done;
    } else {
        // 32 pixels: pack four vectors of 32-bit values to bytes, then undo the per-half order.
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        const int done = w / 32 * 32;
        for (int x = 0; x < done; x += 32) {
            const __m256i v0 = words(x), v1 = words(x + 8), v2 = words(x + 16), v3 = words(x + 24);
            const __m256i b = _mm256_packus_epi16(_mm256_packus_epi32(v0, v1), _mm256_packus_epi32(v2, v3));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + x), _mm256_permutevar8x32_epi32(b, order));
        }
        return done;
    }
}

}  // namespace

int pixels_to_planes_avx2(const uint8_t* p, int w, int cn, const int* source, float* const* planes,
                          const Affine* a) {
    switch (cn) {
        case 1: return to_planes<1>(p, w, source, planes, a);
        case 3: return to_planes<3>(p, w, source, planes, a);
        case 4: return to_planes<4>(p, w, source, planes, a);
        default: return 0;
    }
}

int planes_to_pixels_avx2(const float* const* chan, int w, int cn, const Affine* a, uint8_t* out) {
    switch (cn) {
        case 1: return to_pixels<1>(chan, w, a, out);
        case 3: return to_pixels<3>(chan, w, a, out);
        case 4: return to_pixels<4>(chan, w, a, out);
        default: return 0;
    }
}

}  // namespace cpu
}  // namespace samplenorm
