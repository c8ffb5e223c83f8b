// Exact channel sums of 8-bit interleaved pixels, shared by the SSE2 path (image_kernels.cpp)
// and the AVX2 path (image_sums_avx2.cpp, compiled with -mavx2 and chosen at run time).
#ifndef SAMPLENORM_KERNELS_CPU_IMAGE_SUMS_H
#define SAMPLENORM_KERNELS_CPU_IMAGE_SUMS_H

#include <cstddef>
#include <cstdint>

namespace samplenorm {
namespace cpu {

// Channel sums and sums of squares over rows of interleaved pixels, exact in integers.
// A block of V pixels (V = vector width in bytes) is CN vectors; byte i of a block always belongs
// to channel i % CN, so lanes accumulate without shuffles, across rows, and are sorted into
// channels only when the 16-bit sums are flushed (every 256 blocks, before 255 * 257 could
// overflow them, and at the end). Squares (<= 65025) are formed in 16 bits, widened to 32.

constexpr int kFlushBlocks = 256;

struct RowSpan {
    const uint8_t* base;
    size_t step;
    int rows;
    int w;
    const uint8_t* row(int y) const { return base + static_cast<int64_t>(y) * static_cast<int64_t>(step); }
};

inline void scalar_sums(const uint8_t* p, int from, int to, int cn, uint64_t* sum, uint64_t* sum_sq) {
    for (int x = from; x < to; ++x) {
        for (int j = 0; j < cn; ++j) {
            uint64_t v = p[static_cast<int64_t>(x) * cn + j];
            sum[j] += v;
            sum_sq[j] += v * v;
        }
    }
}

// Walks the full V-pixel blocks of every row in flush-sized groups; `block(ptr)` accumulates one
// block, `flush()` moves the lanes into the channel sums. Row tails go through scalar_sums.
template <int CN, int V, typename Block, typename Flush>
void for_each_block(const RowSpan& span, uint64_t* sum, uint64_t* sum_sq, Block block, Flush flush) {
    const int full = span.w / V * V;
    int blocks = 0;
    for (int y = 0; y < span.rows; ++y) {
        const uint8_t* p = span.row(y);
        for (int x = 0; x < full; x += V) {
            block(p + static_cast<int64_t>(x) * CN);
            if (++blocks == kFlushBlocks) {
                flush();
                blocks = 0;
            }
        }
        scalar_sums(p, full, span.w, CN, sum, sum_sq);
    }
    if (blocks > 0) flush();
}

/**
 * The lane-block sums for one vector ISA. `V` supplies the register type and operations
 * (zero, load, unpacklo8/unpackhi8 with zero, add16, mullo16, unpacklo16/unpackhi16, add32,
 * store16/store32), the vector width kBytes, and which byte of a vector each 16-bit lane
 * (s16_byte) and 32-bit lane (q32_byte) holds after the unpacks.
 */
template <int CN, typename V>
void lane_block_sums(const RowSpan& span, uint64_t* sum, uint64_t* sum_sq) {
    using R = typename V::Reg;
    constexpr int kLanes16 = V::kBytes / 2, kLanes32 = V::kBytes / 4;
    const R zero = V::zero();
    R s16[CN][2], q32[CN][4];
    auto reset = [&] {
        for (int k = 0; k < CN; ++k) {
            s16[k][0] = s16[k][1] = zero;
            q32[k][0] = q32[k][1] = q32[k][2] = q32[k][3] = zero;
        }
    };
    reset();
    auto block = [&](const uint8_t* b) {
        for (int k = 0; k < CN; ++k) {
            R v = V::load(b + V::kBytes * k);
            R lo = V::unpacklo8(v, zero), hi = V::unpackhi8(v, zero);
            s16[k][0] = V::add16(s16[k][0], lo);
            s16[k][1] = V::add16(s16[k][1], hi);
            R sq_lo = V::mullo16(lo, lo), sq_hi = V::mullo16(hi, hi);  // <= 65025: exact in 16 bits
            q32[k][0] = V::add32(q32[k][0], V::unpacklo16(sq_lo, zero));
            q32[k][1] = V::add32(q32[k][1], V::unpackhi16(sq_lo, zero));
            q32[k][2] = V::add32(q32[k][2], V::unpacklo16(sq_hi, zero));
            q32[k][3] = V::add32(q32[k][3], V::unpackhi16(sq_hi, zero));
        }
    };
    auto flush = [&] {
        for (int k = 0; k < CN; ++k) {
            alignas(32) uint16_t s[2][kLanes16];
            alignas(32) uint32_t q[4][kLanes32];
            for (int h = 0; h < 2; ++h) V::store16(s[h], s16[k][h]);
            for (int h = 0; h < 4; ++h) V::store32(q[h], q32[k][h]);
            for (int h = 0; h < 2; ++h)
                for (int i = 0; i < kLanes16; ++i) sum[(V::kBytes * k + V::s16_byte(h, i)) % CN] += s[h][i];
            for (int h = 0; h < 4; ++h)
                for (int i = 0; i < kLanes32; ++i) sum_sq[(V::kBytes * k + V::q32_byte(h, i)) % CN] += q[h][i];
        }
        reset();
    };
    for_each_block<CN, V::kBytes>(span, sum, sum_sq, block, flush);
}

/** AVX2 version of the sums over a span (x86-64 only; call only where the CPU has AVX2). */
void span_sums_avx2(const RowSpan& span, int cn, uint64_t* sum, uint64_t* sum_sq);

}  // namespace cpu
}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_CPU_IMAGE_SUMS_H
