// samplenorm: batch statistics, fused normalization and fused image-batch conversion
// on host memory and on CUDA device memory.
//
// Memory conventions (shared by every function):
//  * A "blob" is a float32 NCHW tensor whose rows may be padded: element (n, c, y, x) lives at
//    (char*)data + ((n * C + c) * H + y) * step + x * sizeof(float), with step >= W * 4 and a
//    multiple of 4. A contiguous blob has step == W * 4; a cv::cuda::GpuMat of N*C*H rows and
//    W columns (CV_32FC1) is a blob with the GpuMat's pitch as step.
//  * An "image batch" is N images of H x W pixels with CN interleaved 8-bit channels
//    (CN = 1, 3 or 4), given as an array of N row pointers and an array of N row steps in bytes.
//    For the CUDA functions the two arrays live in host memory and the pointers they hold are
//    device pointers (at most SN_CUDA_MAX_IMAGES images per call).
//  * Statistics: mean and biased variance in double precision. scope SN_SCOPE_BATCH pools
//    (N, H, W) per channel and fills C values; SN_SCOPE_SAMPLE gives each (n, c) its own
//    statistics over (H, W) and fills N * C values at index n * C + c.
//  * Host functions take host pointers only; *_cuda functions take device pointers only (except
//    the two image arrays above) and are asynchronous on the given stream (a cudaStream_t,
//    nullptr = legacy default stream). Nothing here synchronizes the device.
//  * Results are deterministic: the same input gives bit-identical output on the same device,
//    independent of the number of threads.
//  * Errors are reported as C++ exceptions: std::invalid_argument for bad arguments,
//    std::runtime_error for CUDA failures, "built without CUDA" and "no CUDA device".
//  * NaN and infinity are not filtered: they propagate into the statistics and the normalized
//    values; image outputs saturate (+inf -> 255, -inf -> 0) and map NaN to 0.
#ifndef SAMPLENORM_SAMPLENORM_H
#define SAMPLENORM_SAMPLENORM_H

#include <cstddef>
#include <cstdint>

#define SN_SCOPE_BATCH 0
#define SN_SCOPE_SAMPLE 1
#define SN_CUDA_MAX_IMAGES 512

namespace samplenorm {

/** Version string of the native library, e.g. "0.1.0 (cpu)" or "0.1.0 (cuda 13.0)". */
const char* version();

/** True when this build of the library contains the CUDA kernels. */
bool built_with_cuda();

/** Number of usable CUDA devices; 0 when built without CUDA, with no driver or no device. Never throws. */
int cuda_device_count();

/** Why CUDA is or is not usable here, in one line (e.g. "built without CUDA", "CUDA driver not found"). */
const char* cuda_status();

// ---------------------------------------------------------------------------------------------
// Host memory
// ---------------------------------------------------------------------------------------------

/** Per-channel (or per-sample, per-channel) mean and biased variance of a blob. */
void blob_stats(const float* src, size_t step, int n, int c, int h, int w, int scope,
                double* mean, double* var);

/**
 * dst = (src - mean) / sqrt(var + eps) * gamma + beta, one pass; dst may equal src (same step).
 * mean and var hold C values (SN_SCOPE_BATCH) or N * C values (SN_SCOPE_SAMPLE); gamma and beta
 * hold C values each or are null (gamma = 1, beta = 0). eps must be > 0.
 */
void blob_normalize(const float* src, size_t src_step, float* dst, size_t dst_step,
                    int n, int c, int h, int w, int scope,
                    const double* mean, const double* var,
                    const float* gamma, const float* beta, double eps);

/** Exact per-channel mean and biased variance of 8-bit images, in pixel units, in image channel order. */
void image_stats(const uint8_t* const* images, const size_t* steps, int n, int h, int w, int cn,
                 int scope, double* mean, double* var);

/**
 * Image batch -> blob, fused convert + normalize + layout change:
 *   blob(n, k, y, x) = (p * scale - mean[j] * scale) / sqrt(var[j] * scale^2 + eps)
 * where p is pixel (y, x) channel j of image n, j = k or, with swap_rb and CN >= 3, the
 * BGR <-> RGB partner of k. mean/var are in pixel units and image channel order, C or N * C
 * values by scope (as produced by image_stats). The plain mapping with a given mean m and std s
 * in scaled units is mean = m / scale, var = (s / scale)^2, eps = 0. eps >= 0, scale != 0, and
 * every var[j] * scale^2 + eps must be > 0.
 */
void images_to_blob(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                    int cn, bool swap_rb, int scope, const double* mean, const double* var,
                    double scale, double eps, float* dst, size_t dst_step);

/**
 * Blob -> image batch, the exact inverse of images_to_blob with the same parameters, then
 * rounded to nearest (ties to even) and saturated to [0, 255]:
 *   p = (blob * sqrt(var[j] * scale^2 + eps) + mean[j] * scale) / scale
 * The [-1, 1] -> [0, 255] mapping is mean = 127.5, var = 127.5^2, scale = 1 / 127.5, eps = 0.
 */
void blob_to_images(const float* src, size_t src_step, int n, int c, int h, int w,
                    bool swap_rb, int scope, const double* mean, const double* var,
                    double scale, double eps, uint8_t* const* images, const size_t* steps);

// ---------------------------------------------------------------------------------------------
// CUDA device memory, asynchronous on `stream` (a cudaStream_t). Same semantics as above;
// mean/var/gamma/beta are device arrays. Two-stage reductions, no atomics: deterministic.
// ---------------------------------------------------------------------------------------------

void blob_stats_cuda(const float* src, size_t step, int n, int c, int h, int w, int scope,
                     double* mean, double* var, void* stream);

void blob_normalize_cuda(const float* src, size_t src_step, float* dst, size_t dst_step,
                         int n, int c, int h, int w, int scope,
                         const double* mean, const double* var,
                         const float* gamma, const float* beta, double eps, void* stream);

void image_stats_cuda(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                      int cn, int scope, double* mean, double* var, void* stream);

void images_to_blob_cuda(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                         int cn, bool swap_rb, int scope, const double* mean, const double* var,
                         double scale, double eps, float* dst, size_t dst_step, void* stream);

void blob_to_images_cuda(const float* src, size_t src_step, int n, int c, int h, int w,
                         bool swap_rb, int scope, const double* mean, const double* var,
                         double scale, double eps, uint8_t* const* images, const size_t* steps,
                         void* stream);

}  // namespace samplenorm

#endif  // SAMPLENORM_SAMPLENORM_H
