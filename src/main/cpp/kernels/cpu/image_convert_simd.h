// Row conversions between 8-bit interleaved pixels and float planes, shared by the portable
// path (image_kernels.cpp) and the AVX2 path (image_convert_avx2.cpp, compiled with -mavx2 and
// chosen at run time). Both compute every value with the same single roundings, so they agree
// bit for bit and a row may be split between them anywhere.
#ifndef SAMPLENORM_KERNELS_CPU_IMAGE_CONVERT_SIMD_H
#define SAMPLENORM_KERNELS_CPU_IMAGE_CONVERT_SIMD_H

#include <cstdint>

namespace samplenorm {
namespace cpu {

constexpr int kMaxChannels = 4;

/** Per-channel affine map between pixel values and blob values. */
struct Affine {
    float shift;   // pixels -> blob: subtracted first; blob -> pixels: added last
    float factor;  // pixels -> blob: then multiplied;  blob -> pixels: multiplied first
};

/**
 * Pixels -> planes, AVX2: for x in [0, done), planes[k][x] = ((float) p[x * cn + j] - a[k].shift)
 * * a[k].factor, where j is the image channel of blob channel k (source[k]). Returns `done`, a
 * multiple of the vector block; the caller converts pixels [done, w).
 */
int pixels_to_planes_avx2(const uint8_t* p, int w, int cn, const int* source, float* const* planes,
                          const Affine* a);

/**
 * Planes -> pixels, AVX2: for x in [0, done), out[x * cn + j] = the rounded (to nearest, ties to
 * even), saturated value of chan[j][x] * a[j].factor + a[j].shift (NaN gives 0), where chan[j]
 * and a[j] belong to the blob channel that feeds image channel j. Returns `done`; the caller
 * converts pixels [done, w).
 */
int planes_to_pixels_avx2(const float* const* chan, int w, int cn, const Affine* a, uint8_t* out);

}  // namespace cpu
}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_CPU_IMAGE_CONVERT_SIMD_H
