// Running moments (count, mean, M2) and their exact-order merge (Chan et al.), shared by the
// CPU and CUDA kernels. Merging partial moments in a fixed order is what makes the float
// reductions deterministic and robust to a large common offset.
#ifndef SAMPLENORM_KERNELS_COMMON_MOMENTS_H
#define SAMPLENORM_KERNELS_COMMON_MOMENTS_H

#if defined(__CUDACC__)
#define SN_HOST_DEVICE __host__ __device__
#else
#define SN_HOST_DEVICE
#endif

namespace samplenorm {

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
        m.mean = pivot + sum / count;
        double m2 = sum_sq - sum * sum / count;
        m.m2 = m2 > 0 ? m2 : (m2 == m2 ? 0.0 : m2);  // clamp rounding below zero, keep NaN
    } else {
        m.mean = 0;
        m.m2 = 0;
    }
    return m;
}

/** Chan's pairwise merge; the result depends on argument order only through rounding. */
SN_HOST_DEVICE inline Moments merge_moments(const Moments& a, const Moments& b) {
    if (a.count == 0) return b;
    if (b.count == 0) return a;
    Moments r;
    r.count = a.count + b.count;
    double delta = b.mean - a.mean;
    double wb = b.count / r.count;
    r.mean = a.mean + delta * wb;
    r.m2 = a.m2 + b.m2 + delta * delta * a.count * wb;
    return r;
}

}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_COMMON_MOMENTS_H
