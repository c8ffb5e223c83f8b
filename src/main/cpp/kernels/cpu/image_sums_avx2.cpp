// The AVX2 path of the exact 8-bit channel sums; this file alone is compiled with -mavx2.
#include <immintrin.h>

#include "image_sums.h"

namespace samplenorm {
namespace cpu {
namespace {

struct Avx2 {
    using Reg = __m256i;
    static constexpr int kBytes = 32;
    static Reg zero() { return _mm256_setzero_si256(); }
    static Reg load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
    static Reg unpacklo8(Reg a, Reg b) { return _mm256_unpacklo_epi8(a, b); }
    static Reg unpackhi8(Reg a, Reg b) { return _mm256_unpackhi_epi8(a, b); }
    static Reg unpacklo16(Reg a, Reg b) { return _mm256_unpacklo_epi16(a, b); }
    static Reg unpackhi16(Reg a, Reg b) { return _mm256_unpackhi_epi16(a, b); }
    static Reg add16(Reg a, Reg b) { return _mm256_add_epi16(a, b); }
    static Reg add32(Reg a, Reg b) { return _mm256_add_epi32(a, b); }
    static Reg mullo16(Reg a, Reg b) { return _mm256_mullo_epi16(a, b); }
    static void store16(uint16_t* p, Reg v) { _mm256_store_si256(reinterpret_cast<__m256i*>(p), v); }
    static void store32(uint32_t* p, Reg v) { _mm256_store_si256(reinterpret_cast<__m256i*>(p), v); }
    // AVX2 unpacks work within each 128-bit half: 16-bit lane i of unpack h holds byte
    // 8h + i of the low half (i < 8) or of the high half (i >= 8); likewise for 32-bit lanes.
    static constexpr int s16_byte(int h, int i) { return 8 * h + (i < 8 ? i : 8 + i); }
    static constexpr int q32_byte(int h, int i) { return 4 * h + (i < 4 ? i : 12 + i); }
};

}  // namespace

void span_sums_avx2(const RowSpan& span, int cn, uint64_t* sum, uint64_t* sum_sq) {
    switch (cn) {
        case 1: lane_block_sums<1, Avx2>(span, sum, sum_sq); break;
        case 3: lane_block_sums<3, Avx2>(span, sum, sum_sq); break;
        default: lane_block_sums<4, Avx2>(span, sum, sum_sq); break;
    }
}

}  // namespace cpu
}  // namespace samplenorm
