// Running moments (count, mean, M2), their merge (Chan et al.) and the canonical reduction order
// of blob statistics, shared by the CPU and CUDA kernels so that both give the same bits.
//
// Canonical reduction (every implementation must produce exactly these roundings):
//  * A plane of L = H * W elements, in row-major order e = y * W + x (row padding ignored), is cut
//    into chunks of kStatsChunk = 4096 consecutive elements (the last one shorter). Chunks never
//    span planes; how chunks are mapped to threads, warps or blocks is free.
//  * Chunk moments: pivot = (double) first element of the chunk. Lane t (0 .. 255) starts with
//    s = q = +0.0 and, for m = 0, 1, ..., adds the elements e = begin + t + 256 * m < end in that
//    order: d = (double) x - pivot; s = s + d; q = q + d * d (rounded multiply, then rounded add).
//    The 256 lane values are then combined by the halving tree: for w = 128, 64, ..., 1 and every
//    t < w, v[t] = v[t] + v[t + w]. The chunk's moments are moments_from_shifted_sums(count,
//    pivot, s[0], q[0]).
//  * An output (a channel under batch scope, a plane under sample scope) merges the sequence of
//    its chunk moments: plane by plane (n = 0 .. N-1 under batch scope), chunk by chunk. A
//    sequence of M items is merged by merge_sequence: if M <= kMergeGroup (1024), lane t
//    (0 .. 255) starts empty and merges items t, t + 256, ... in order, then the lanes are combined
//    by the halving tree with merge_moments(v[t], v[t + w]); otherwise the sequence is cut into
//    groups of kMergeGroup consecutive items, each group is merged so, and the sequence of group
//    results is merged again (recursively).
//  * mean = m.mean, var = m.m2 / m.count (biased).
// All double operations are individually rounded (add_rn / mul_rn; no FMA contraction) so that
// host and device agree.
#ifndef SAMPLENORM_KERNELS_COMMON_MOMENTS_H
#define SAMPLENORM_KERNELS_COMMON_MOMENTS_H

#include <cstdint>

#if defined(__CUDACC__)
#define SN_HOST_DEVICE __host__ __device__
#else
#define SN_HOST_DEVICE
#endif

namespace samplenorm {

/** Elements per statistics chunk. */
constexpr int64_t kStatsChunk = 4096;
/** Lanes of the canonical chunk and merge reductions. */
constexpr int kReduceLanes = 256;
/** Elements a lane adds per chunk: kStatsChunk / kReduceLanes. */
constexpr int kLaneElements = 16;
/** Items merged by one canonical merge group. */
constexpr int64_t kMergeGroup = 1024;
static_assert(kStatsChunk == int64_t(kReduceLanes) * kLaneElements, "a chunk is 16 elements per lane");
static_assert(kMergeGroup % kReduceLanes == 0, "merge groups are whole lanes");

/** a + b and a * b, each rounded once (never fused into an FMA). */
SN_HOST_DEVICE inline double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
    return __dadd_rn(a, b);
#else
    return a + b;  // host code is compiled with -ffp-contract=off
#endif
}
SN_HOST_DEVICE inline double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
    return __dmul_rn(a, b);
#else
    return a * b;
#endif
}

struct Moments {
    double count;
    double mean;
    double m2;  // sum of squared deviations from mean
};

/** Moments of a chunk from sums of (x - pivot) and (x - pivot)^2; the pivot keeps the sums small. */
SN_HOST_DEVICE inline Moments moments_from_shifted_sums(double count, double pivot, double sum,
                                                        double sum_sq) {
    Moments m;
    m.count = count;
    if (count > 0) {
        m.mean = add_rn(pivot, sum / count);
        const double m2 = add_rn(sum_sq, -(mul_rn(sum, sum) / count));
        m.m2 = m2 > 0 ? m2 : (m2 == m2 ? 0.0 : m2);  // clamp rounding below zero, keep NaN
    } else {
        m.mean = 0;
        m.m2 = 0;
    }
    return m;
}

/** Chan's pairwise merge; an empty side returns the other exactly. */
SN_HOST_DEVICE inline Moments merge_moments(const Moments& a, const Moments& b) {
    if (a.count == 0) return b;
    if (b.count == 0) return a;
    Moments r;
    r.count = a.count + b.count;  // integers below 2^53: exact
    const double delta = add_rn(b.mean, -a.mean);
    const double wb = b.count / r.count;
    r.mean = add_rn(a.mean, mul_rn(delta, wb));
    r.m2 = add_rn(add_rn(a.m2, b.m2), mul_rn(mul_rn(mul_rn(delta, delta), a.count), wb));
    return r;
}

/** Shifted sums of one lane or of a combination of lanes. */
struct ShiftedSums {
    double sum;
    double sum_sq;
};

SN_HOST_DEVICE inline ShiftedSums add_sums(const ShiftedSums& a, const ShiftedSums& b) {
    return ShiftedSums{add_rn(a.sum, b.sum), add_rn(a.sum_sq, b.sum_sq)};
}

/** One element into a lane: d = x - pivot; s += d; q += d * d. */
SN_HOST_DEVICE inline void accumulate(ShiftedSums& s, float x, double pivot) {
    const double d = add_rn(static_cast<double>(x), -pivot);
    s.sum = add_rn(s.sum, d);
    s.sum_sq = add_rn(s.sum_sq, mul_rn(d, d));
}

/** Groups of kMergeGroup consecutive items that `items` (>= 1) items form. */
SN_HOST_DEVICE inline int64_t merge_groups(int64_t items) {
    return (items + kMergeGroup - 1) / kMergeGroup;
}

}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_COMMON_MOMENTS_H
