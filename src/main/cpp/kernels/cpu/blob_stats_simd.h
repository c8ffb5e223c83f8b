// Vector paths of the canonical chunk sums (kernels/common/moments.h), x86-64 only; call them
// only where the CPU has AVX2 (blob_kernels.cpp checks once).
#ifndef SAMPLENORM_KERNELS_CPU_BLOB_STATS_SIMD_H
#define SAMPLENORM_KERNELS_CPU_BLOB_STATS_SIMD_H

#include "../common/moments.h"

namespace samplenorm {
namespace cpu {

/**
 * Lane sums of one full chunk of kStatsChunk contiguous floats: s[t], q[t] for the 256 lanes
 * (32-byte aligned outputs), in the canonical per-lane order.
 */
void full_chunk_sums_avx2(const float* x, double pivot, double* s, double* q);

/** The canonical halving tree over all 256 lanes of s and q (32-byte aligned); results in [0]. */
void halving_tree_avx2(double* s, double* q);

}  // namespace cpu
}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_CPU_BLOB_STATS_SIMD_H
