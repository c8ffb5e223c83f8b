// Function multi-versioning for the host kernels: an AVX2 clone and a baseline clone of each
// marked function, chosen once at load time (GCC on x86-64; elsewhere a single version).
#ifndef SAMPLENORM_KERNELS_CPU_SIMD_H
#define SAMPLENORM_KERNELS_CPU_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SN_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SN_VECTOR_CLONES
#endif

#endif  // SAMPLENORM_KERNELS_CPU_SIMD_H
