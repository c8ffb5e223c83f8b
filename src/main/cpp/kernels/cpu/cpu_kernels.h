// Host kernels on raw memory. Arguments are validated by the API layer (api/samplenorm.cpp);
// these functions assume valid shapes, steps and non-null pointers.
#ifndef SAMPLENORM_KERNELS_CPU_CPU_KERNELS_H
#define SAMPLENORM_KERNELS_CPU_CPU_KERNELS_H

#include <cstddef>
#include <cstdint>

namespace samplenorm {
namespace cpu {

void blob_stats(const float* src, size_t step, int n, int c, int h, int w, int scope,
                double* mean, double* var);

void blob_normalize(const float* src, size_t src_step, float* dst, size_t dst_step, int n, int c,
                    int h, int w, int scope, const double* mean, const double* var,
                    const float* gamma, const float* beta, double eps);

void image_stats(const uint8_t* const* images, const size_t* steps, int n, int h, int w, int cn,
                 int scope, double* mean, double* var);

void images_to_blob(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                    int cn, bool swap_rb, int scope, const double* mean, const double* var,
                    double scale, double eps, float* dst, size_t dst_step);

void blob_to_images(const float* src, size_t src_step, int n, int c, int h, int w, bool swap_rb,
                    int scope, const double* mean, const double* var, double scale, double eps,
                    uint8_t* const* images, const size_t* steps);

}  // namespace cpu
}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_CPU_CPU_KERNELS_H
