// The AVX2 path of the exact 8-bit channel sums; this file alone is compiled with -mavx2.
#include <immintrin.h>

#include "image_sums.h"

namespace samplenorm {
namespace cpu {
namespace {

template <int CN>
void sums_avx2(const RowSpan& span, uint64_t* sum, uint64_t* sum_sq) {
    // Byte offset (within a 32-byte vector) of each 16-bit and 32-bit lane after AVX2's
    // in-lane unpacks.
    static constexpr int kS16[2][16] = {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
                                        {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}};
    static constexpr int kQ32[4][8] = {{0, 1, 2, 3, 16, 17, 18, 19}, {4, 5, 6, 7, 20, 21, 22, 23},
                                       {8, 9, 10, 11, 24, 25, 26, 27}, {12, 13, 14, 15, 28, 29, 30, 31}};
    const __m256i zero = _mm256_setzero_si256();
    __m256i s16[CN][2], q32[CN][4];
    auto reset = [&] {
        for (int k = 0; k < CN; ++k) {
            s16[k][0] = s16[k][1] = zero;
            q32[k][0] = q32[k][1] = q32[k][2] = q32[k][3] = zero;
        }
    };
    reset();
    auto block = [&](const uint8_t* b) {
        for (int k = 0; k < CN; ++k) {
            __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32 * k));
            __m256i lo = _mm256_unpacklo_epi8(v, zero), hi = _mm256_unpackhi_epi8(v, zero);
            s16[k][0] = _mm256_add_epi16(s16[k][0], lo);
            s16[k][1] = _mm256_add_epi16(s16[k][1], hi);
            __m256i sq_lo = _mm256_mullo_epi16(lo, lo), sq_hi = _mm256_mullo_epi16(hi, hi);
            q32[k][0] = _mm256_add_epi32(q32[k][0], _mm256_unpacklo_epi16(sq_lo, zero));
            q32[k][1] = _mm256_add_epi32(q32[k][1], _mm256_unpackhi_epi16(sq_lo, zero));
            q32[k][2] = _mm256_add_epi32(q32[k][2], _mm256_unpacklo_epi16(sq_hi, zero));
            q32[k][3] = _mm256_add_epi32(q32[k][3], _mm256_unpackhi_epi16(sq_hi, zero));
        }
    };
    auto flush = [&] {
        for (int k = 0; k < CN; ++k) {
            alignas(32) uint16_t s[2][16];
            alignas(32) uint32_t q[4][8];
            for (int h = 0; h < 2; ++h) _mm256_store_si256(reinterpret_cast<__m256i*>(s[h]), s16[k][h]);
            for (int h = 0; h < 4; ++h) _mm256_store_si256(reinterpret_cast<__m256i*>(q[h]), q32[k][h]);
            for (int h = 0; h < 2; ++h)
                for (int i = 0; i < 16; ++i) sum[(32 * k + kS16[h][i]) % CN] += s[h][i];
            for (int h = 0; h < 4; ++h)
                for (int i = 0; i < 8; ++i) sum_sq[(32 * k + kQ32[h][i]) % CN] += q[h][i];
        }
        reset();
    };
    for_each_block<CN, 32>(span, sum, sum_sq, block, flush);
}

}  // namespace

void span_sums_avx2(const RowSpan& span, int cn, uint64_t* sum, uint64_t* sum_sq) {
    switch (cn) {
        case 1: sums_avx2<1>(span, sum, sum_sq); break;
        case 3: sums_avx2<3>(span, sum, sum_sq); break;
        default: sums_avx2<4>(span, sum, sum_sq); break;
    }
}

}  // namespace cpu
}  // namespace samplenorm
