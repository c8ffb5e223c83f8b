// The public API: argument checks, then dispatch to the host kernels or the CUDA launchers.
// Checks live here once, so every kernel can assume valid input. In a build without CUDA the
// *_cuda entry points exist and throw.
#include "samplenorm/samplenorm.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "../kernels/cpu/cpu_kernels.h"
#ifdef SAMPLENORM_WITH_CUDA
#include "../kernels/cuda/cuda_kernels.h"
#endif

#define SN_EXPORT __attribute__((visibility("default")))

namespace samplenorm {
namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::invalid_argument("samplenorm: " + what);
}

void check_shape(int n, int c, int h, int w) {
    if (n < 1 || c < 1 || h < 1 || w < 1) {
        fail("expected a blob shape with N, C, H, W >= 1, got [" + std::to_string(n) + ", " +
             std::to_string(c) + ", " + std::to_string(h) + ", " + std::to_string(w) + "]");
    }
    if (static_cast<double>(n) * c * h * w > static_cast<double>(std::numeric_limits<int64_t>::max() / 8)) {
        fail("blob too large");
    }
}

void check_scope(int scope) {
    if (scope != SN_SCOPE_BATCH && scope != SN_SCOPE_SAMPLE) {
        fail("expected scope SN_SCOPE_BATCH (0) or SN_SCOPE_SAMPLE (1), got " + std::to_string(scope));
    }
}

void check_blob(const void* data, size_t step, int w, const char* name) {
    if (data == nullptr) fail(std::string(name) + " is null");
    if (step < static_cast<size_t>(w) * sizeof(float) || step % sizeof(float) != 0) {
        fail(std::string(name) + " step must be a multiple of 4 and >= W * 4 = " +
             std::to_string(static_cast<size_t>(w) * sizeof(float)) + " bytes, got " + std::to_string(step));
    }
}

void check_not_null(const void* p, const char* name) {
    if (p == nullptr) fail(std::string(name) + " is null");
}

void check_eps(double eps, bool allow_zero) {
    if (!(allow_zero ? eps >= 0 : eps > 0) || !std::isfinite(eps)) {
        fail(std::string("eps must be finite and ") + (allow_zero ? ">= 0" : "> 0") + ", got " + std::to_string(eps));
    }
}

void check_images(const uint8_t* const* images, const size_t* steps, int n, int h, int w, int cn) {
    if (n < 1 || h < 1 || w < 1) {
        fail("expected an image batch with N, H, W >= 1, got N=" + std::to_string(n) + " H=" +
             std::to_string(h) + " W=" + std::to_string(w));
    }
    if (cn != 1 && cn != 3 && cn != 4) fail("expected images with 1, 3 or 4 channels, got " + std::to_string(cn));
    check_not_null(images, "images");
    check_not_null(steps, "steps");
    for (int i = 0; i < n; ++i) {
        if (images[i] == nullptr) fail("image " + std::to_string(i) + " is null");
        if (steps[i] < static_cast<size_t>(w) * cn) {
            fail("image " + std::to_string(i) + " step must be >= W * channels = " +
                 std::to_string(static_cast<size_t>(w) * cn) + " bytes, got " + std::to_string(steps[i]));
        }
    }
}

void check_conversion(double scale, double eps) {
    if (!(scale != 0) || !std::isfinite(scale)) fail("scale must be finite and non-zero, got " + std::to_string(scale));
    check_eps(eps, true);
}

// One check per operation, shared by its host and CUDA entry points.
void check_blob_stats(const float* src, size_t step, int n, int c, int h, int w, int scope,
                      const double* mean, const double* var) {
    check_shape(n, c, h, w);
    check_scope(scope);
    check_blob(src, step, w, "src");
    check_not_null(mean, "mean");
    check_not_null(var, "var");
}

void check_blob_normalize(const float* src, size_t src_step, const float* dst, size_t dst_step,
                          int n, int c, int h, int w, int scope, const double* mean,
                          const double* var, double eps) {
    check_blob_stats(src, src_step, n, c, h, w, scope, mean, var);
    check_blob(dst, dst_step, w, "dst");
    check_eps(eps, false);
}

void check_image_stats(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                       int cn, int scope, const double* mean, const double* var) {
    check_images(images, steps, n, h, w, cn);
    check_scope(scope);
    check_not_null(mean, "mean");
    check_not_null(var, "var");
}

void check_images_to_blob(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                          int cn, int scope, const double* mean, const double* var, double scale,
                          double eps, const float* dst, size_t dst_step) {
    check_image_stats(images, steps, n, h, w, cn, scope, mean, var);
    check_conversion(scale, eps);
    check_blob(dst, dst_step, w, "dst");
}

void check_blob_to_images(const float* src, size_t src_step, int n, int c, int h, int w, int scope,
                          const double* mean, const double* var, double scale, double eps,
                          const uint8_t* const* images, const size_t* steps) {
    check_blob_stats(src, src_step, n, c, h, w, scope, mean, var);
    check_images(images, steps, n, h, w, c);
    check_conversion(scale, eps);
}

#ifdef SAMPLENORM_WITH_CUDA
void require_device() {
    std::string why;
    if (cuda::device_count(&why) < 1) throw std::runtime_error("samplenorm: no CUDA device: " + why);
}

template <typename Batch, typename Ptr>
Batch pack_images(Ptr images, const size_t* steps, int n) {
    if (n > SN_CUDA_MAX_IMAGES) {
        fail("at most " + std::to_string(SN_CUDA_MAX_IMAGES) + " images per CUDA call, got " + std::to_string(n));
    }
    Batch b{};
    for (int i = 0; i < n; ++i) {
        b.data[i] = images[i];
        b.step[i] = steps[i];
    }
    return b;
}
#else
[[noreturn]] void require_device() {
    throw std::runtime_error("samplenorm: built without CUDA (load the -gpu variant of the native library on a CUDA host)");
}
#endif

}  // namespace

SN_EXPORT const char* version() {
#ifdef SAMPLENORM_WITH_CUDA
    static const std::string v = "0.1.0 (cuda " + cuda::runtime_version() + ")";
    return v.c_str();
#else
    return "0.1.0 (cpu)";
#endif
}

SN_EXPORT bool built_with_cuda() {
#ifdef SAMPLENORM_WITH_CUDA
    return true;
#else
    return false;
#endif
}

SN_EXPORT int cuda_device_count() {
#ifdef SAMPLENORM_WITH_CUDA
    std::string why;
    return cuda::device_count(&why);
#else
    return 0;
#endif
}

SN_EXPORT const char* cuda_status() {
#ifdef SAMPLENORM_WITH_CUDA
    static thread_local std::string status;
    std::string why;
    int count = cuda::device_count(&why);
    status = count > 0 ? std::to_string(count) + " CUDA device(s), runtime " + cuda::runtime_version() : why;
    return status.c_str();
#else
    return "built without CUDA";
#endif
}

SN_EXPORT void blob_stats(const float* src, size_t step, int n, int c, int h, int w, int scope,
                          double* mean, double* var) {
    check_blob_stats(src, step, n, c, h, w, scope, mean, var);
    cpu::blob_stats(src, step, n, c, h, w, scope, mean, var);
}

SN_EXPORT void blob_normalize(const float* src, size_t src_step, float* dst, size_t dst_step,
                              int n, int c, int h, int w, int scope, const double* mean,
                              const double* var, const float* gamma, const float* beta, double eps) {
    check_blob_normalize(src, src_step, dst, dst_step, n, c, h, w, scope, mean, var, eps);
    cpu::blob_normalize(src, src_step, dst, dst_step, n, c, h, w, scope, mean, var, gamma, beta, eps);
}

SN_EXPORT void image_stats(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                           int cn, int scope, double* mean, double* var) {
    check_image_stats(images, steps, n, h, w, cn, scope, mean, var);
    cpu::image_stats(images, steps, n, h, w, cn, scope, mean, var);
}

SN_EXPORT void images_to_blob(const uint8_t* const* images, const size_t* steps, int n, int h,
                              int w, int cn, bool swap_rb, int scope, const double* mean,
                              const double* var, double scale, double eps, float* dst,
                              size_t dst_step) {
    check_images_to_blob(images, steps, n, h, w, cn, scope, mean, var, scale, eps, dst, dst_step);
    cpu::images_to_blob(images, steps, n, h, w, cn, swap_rb, scope, mean, var, scale, eps, dst, dst_step);
}

SN_EXPORT void blob_to_images(const float* src, size_t src_step, int n, int c, int h, int w,
                              bool swap_rb, int scope, const double* mean, const double* var,
                              double scale, double eps, uint8_t* const* images, const size_t* steps) {
    check_blob_to_images(src, src_step, n, c, h, w, scope, mean, var, scale, eps, images, steps);
    cpu::blob_to_images(src, src_step, n, c, h, w, swap_rb, scope, mean, var, scale, eps, images, steps);
}

// --- CUDA ------------------------------------------------------------------------------------
// Arguments are checked first, so a bad call reports the bad argument even without a device.

SN_EXPORT void blob_stats_cuda(const float* src, size_t step, int n, int c, int h, int w,
                               int scope, double* mean, double* var, void* stream) {
    check_blob_stats(src, step, n, c, h, w, scope, mean, var);
    require_device();
#ifdef SAMPLENORM_WITH_CUDA
    cuda::blob_stats(src, step, n, c, h, w, scope, mean, var, stream);
#else
    (void)stream;
#endif
}

SN_EXPORT void blob_normalize_cuda(const float* src, size_t src_step, float* dst, size_t dst_step,
                                   int n, int c, int h, int w, int scope, const double* mean,
                                   const double* var, const float* gamma, const float* beta,
                                   double eps, void* stream) {
    check_blob_normalize(src, src_step, dst, dst_step, n, c, h, w, scope, mean, var, eps);
    require_device();
#ifdef SAMPLENORM_WITH_CUDA
    cuda::blob_normalize(src, src_step, dst, dst_step, n, c, h, w, scope, mean, var, gamma, beta, eps, stream);
#else
    (void)gamma, (void)beta, (void)stream;
#endif
}

SN_EXPORT void image_stats_cuda(const uint8_t* const* images, const size_t* steps, int n, int h,
                                int w, int cn, int scope, double* mean, double* var, void* stream) {
    check_image_stats(images, steps, n, h, w, cn, scope, mean, var);
    require_device();
#ifdef SAMPLENORM_WITH_CUDA
    auto batch = pack_images<cuda::ImageBatch>(images, steps, n);
    cuda::image_stats(batch, n, h, w, cn, scope, mean, var, stream);
#else
    (void)stream;
#endif
}

SN_EXPORT void images_to_blob_cuda(const uint8_t* const* images, const size_t* steps, int n,
                                   int h, int w, int cn, bool swap_rb, int scope,
                                   const double* mean, const double* var, double scale, double eps,
                                   float* dst, size_t dst_step, void* stream) {
    check_images_to_blob(images, steps, n, h, w, cn, scope, mean, var, scale, eps, dst, dst_step);
    require_device();
#ifdef SAMPLENORM_WITH_CUDA
    auto batch = pack_images<cuda::ImageBatch>(images, steps, n);
    cuda::images_to_blob(batch, n, h, w, cn, swap_rb, scope, mean, var, scale, eps, dst, dst_step, stream);
#else
    (void)swap_rb, (void)stream;
#endif
}

SN_EXPORT void blob_to_images_cuda(const float* src, size_t src_step, int n, int c, int h, int w,
                                   bool swap_rb, int scope, const double* mean, const double* var,
                                   double scale, double eps, uint8_t* const* images,
                                   const size_t* steps, void* stream) {
    check_blob_to_images(src, src_step, n, c, h, w, scope, mean, var, scale, eps, images, steps);
    require_device();
#ifdef SAMPLENORM_WITH_CUDA
    auto batch = pack_images<cuda::MutableImageBatch>(images, steps, n);
    cuda::blob_to_images(src, src_step, n, c, h, w, swap_rb, scope, mean, var, scale, eps, batch, stream);
#else
    (void)swap_rb, (void)stream;
#endif
}

}  // namespace samplenorm
