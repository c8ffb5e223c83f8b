// CUDA kernels on raw device memory, launched asynchronously on the caller's stream.
// Arguments are validated by the API layer (api/samplenorm.cpp); these launchers assume valid
// shapes, steps and non-null device pointers, check every CUDA call and every launch
// (cudaGetLastError) and throw std::runtime_error on failure. None of them synchronizes.
#ifndef SAMPLENORM_KERNELS_CUDA_CUDA_KERNELS_H
#define SAMPLENORM_KERNELS_CUDA_CUDA_KERNELS_H

#include <cstddef>
#include <cstdint>
#include <string>

#include "samplenorm/samplenorm.h"

namespace samplenorm {
namespace cuda {

/** Device pointers and row steps of an image batch, passed by value as a kernel parameter. */
struct ImageBatch {
    const uint8_t* data[SN_CUDA_MAX_IMAGES];
    size_t step[SN_CUDA_MAX_IMAGES];
};

/** Output image batch (writable device pointers). */
struct MutableImageBatch {
    uint8_t* data[SN_CUDA_MAX_IMAGES];
    size_t step[SN_CUDA_MAX_IMAGES];
};

/** Number of CUDA devices; 0 on any error (no driver, no device). Sets `why` when 0. */
int device_count(std::string* why);

/** Runtime version string, e.g. "13.0". */
std::string runtime_version();

void blob_stats(const float* src, size_t step, int n, int c, int h, int w, int scope,
                double* mean, double* var, void* stream);

void blob_normalize(const float* src, size_t src_step, float* dst, size_t dst_step, int n, int c,
                    int h, int w, int scope, const double* mean, const double* var,
                    const float* gamma, const float* beta, double eps, void* stream);

void image_stats(const ImageBatch& images, int n, int h, int w, int cn, int scope, double* mean,
                 double* var, void* stream);

void images_to_blob(const ImageBatch& images, int n, int h, int w, int cn, bool swap_rb,
                    int scope, const double* mean, const double* var, double scale, double eps,
                    float* dst, size_t dst_step, void* stream);

void blob_to_images(const float* src, size_t src_step, int n, int c, int h, int w, bool swap_rb,
                    int scope, const double* mean, const double* var, double scale, double eps,
                    const MutableImageBatch& images, void* stream);

}  // namespace cuda
}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_CUDA_CUDA_KERNELS_H
