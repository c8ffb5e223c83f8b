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

/** AVX2 version of the sums over a span (x86-64 only; call only where the CPU has AVX2). */
void span_sums_avx2(const RowSpan& span, int cn, uint64_t* sum, uint64_t* sum_sq);

}  // namespace cpu
}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_CPU_IMAGE_SUMS_H
