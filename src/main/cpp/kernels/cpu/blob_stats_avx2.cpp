// The AVX2 path of the canonical chunk sums (kernels/common/moments.h); this file alone is
// compiled with -mavx2 and chosen at run time. Each 64-bit vector lane is one canonical lane and
// every operation is the same single rounding as the scalar order, so the results are the same
// bits as the portable path and the CUDA kernels.
#include <immintrin.h>

#include "blob_stats_simd.h"

namespace samplenorm {
namespace cpu {

void full_chunk_sums_avx2(const float* x, double pivot, double* s, double* q) {
    // 16 lanes at a time: 4 vectors of sums and 4 of squares, 8 independent add chains, which
    // covers the add latency; more would spill the 16 registers.
    constexpr int kBlock = 16;
    const __m256d pv = _mm256_set1_pd(pivot);
    for (int tb = 0; tb < kReduceLanes; tb += kBlock) {
        __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
        __m256d q0 = s0, q1 = s0, q2 = s0, q3 = s0;
        const float* p = x + tb;
        // Each block reads 16 rows 1 KiB apart, which the hardware prefetchers follow poorly:
        // ask for the same block of the next chunk (the caller's next item, mostly) now.
        for (int m = 0; m < kLaneElements; ++m) {
            _mm_prefetch(reinterpret_cast<const char*>(p + kStatsChunk + m * kReduceLanes), _MM_HINT_T0);
        }
        for (int m = 0; m < kLaneElements; ++m, p += kReduceLanes) {
            const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
            const __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)), pv);
            const __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)), pv);
            const __m256d d2 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(b)), pv);
            const __m256d d3 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(b, 1)), pv);
            s0 = _mm256_add_pd(s0, d0);
            s1 = _mm256_add_pd(s1, d1);
            s2 = _mm256_add_pd(s2, d2);
            s3 = _mm256_add_pd(s3, d3);
            q0 = _mm256_add_pd(q0, _mm256_mul_pd(d0, d0));
            q1 = _mm256_add_pd(q1, _mm256_mul_pd(d1, d1));
            q2 = _mm256_add_pd(q2, _mm256_mul_pd(d2, d2));
            q3 = _mm256_add_pd(q3, _mm256_mul_pd(d3, d3));
        }
        _mm256_store_pd(s + tb, s0);
        _mm256_store_pd(s + tb + 4, s1);
        _mm256_store_pd(s + tb + 8, s2);
        _mm256_store_pd(s + tb + 12, s3);
        _mm256_store_pd(q + tb, q0);
        _mm256_store_pd(q + tb + 4, q1);
        _mm256_store_pd(q + tb + 8, q2);
        _mm256_store_pd(q + tb + 12, q3);
    }
}

void halving_tree_avx2(double* s, double* q) {
    // v[t] = v[t] + v[t + w] for w = 128 .. 4 on whole vectors, then w = 2 and 1 within one.
    for (int w = kReduceLanes / 2; w >= 4; w /= 2) {
        for (int t = 0; t < w; t += 4) {
            _mm256_store_pd(s + t, _mm256_add_pd(_mm256_load_pd(s + t), _mm256_load_pd(s + t + w)));
            _mm256_store_pd(q + t, _mm256_add_pd(_mm256_load_pd(q + t), _mm256_load_pd(q + t + w)));
        }
    }
    s[0] = s[0] + s[2];
    s[1] = s[1] + s[3];
    q[0] = q[0] + q[2];
    q[1] = q[1] + q[3];
    s[0] = s[0] + s[1];
    q[0] = q[0] + q[1];
}

}  // namespace cpu
}  // namespace samplenorm
