// The public API: argument checks, then dispatch to the host kernels or the CUDA launchers.
// Checks live here once, so every kernel can assume valid input. Every entry point runs its body
// in guarded(): the first Error (or any other exception) ends the call, its message is kept for
// last_error_message() and its status code is returned; nothing is thrown across the C boundary.
// In a build without CUDA the *_cuda and cuda_* entry points exist and return
// SN_BUILT_WITHOUT_CUDA.
#include "samplenorm/samplenorm.h"

#include <cmath>
#include <initializer_list>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "../kernels/common/status.h"

#include "../kernels/cpu/cpu_kernels.h"
#ifdef SAMPLENORM_WITH_CUDA
#include "../kernels/cuda/cuda_kernels.h"
#endif

#define SN_EXPORT __attribute__((visibility("default")))

namespace samplenorm {
namespace {

[[noreturn]] void fail(const std::string& what) { raise(SN_INVALID_ARGUMENT, what); }

std::string& last_error() {
    static thread_local std::string message;
    return message;
}

/** Runs body; returns SN_OK, or the status of the first error with its message kept. */
template <typename Body>
int guarded(Body body) noexcept {
    try {
        body();
        return SN_OK;
    } catch (const Error& e) {
        last_error() = e.what();
        return e.status();
    } catch (const std::bad_alloc&) {
        last_error() = "samplenorm: out of host memory";
        return SN_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        last_error() = std::string("samplenorm: internal error: ") + e.what();
        return SN_INTERNAL;
    } catch (...) {
        last_error() = "samplenorm: internal error (unknown exception)";
        return SN_INTERNAL;
    }
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
    if (cuda::device_count(&why) < 1) raise(SN_NO_CUDA_DEVICE, "no CUDA device: " + why);
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

/**
 * The device all of a call's device pointers live on (they must share one), made current for
 * the call by the returned guard's owner; the stream must belong to it too.
 */
int common_device(std::initializer_list<std::pair<const void*, const char*>> pointers, void* stream) {
    int device = -1;
    for (const auto& p : pointers) {
        if (p.first == nullptr) continue;
        const int d = cuda::pointer_device(p.first, p.second);
        if (device >= 0 && d != device) {
            fail(std::string(p.second) + " is on CUDA device " + std::to_string(d) + ", the other data on device " +
                 std::to_string(device));
        }
        device = d;
    }
    cuda::check_stream_device(stream, device);
    return device;
}

int images_device(const uint8_t* const* images, int n, int device, const char* name) {
    for (int i = 0; i < n; ++i) {
        const std::string what = std::string(name) + "[" + std::to_string(i) + "]";
        const int d = cuda::pointer_device(images[i], what.c_str());
        if (device >= 0 && d != device) {
            fail(what + " is on CUDA device " + std::to_string(d) + ", the other data on device " + std::to_string(device));
        }
        device = d;
    }
    return device;
}
#else
[[noreturn]] void require_device() {
    raise(SN_BUILT_WITHOUT_CUDA, "built without CUDA (load the -gpu variant of the native library on a CUDA host)");
}
#endif

void check_workspace_shape(int n, int c, int h, int w, int scope, size_t* bytes) {
    check_shape(n, c, h, w);
    check_scope(scope);
    check_not_null(bytes, "bytes");
}

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

SN_EXPORT const char* last_error_message() { return last_error().c_str(); }

SN_EXPORT void set_cuda_debug_sync(bool on) {
#ifdef SAMPLENORM_WITH_CUDA
    cuda::set_debug_sync(on);
#else
    (void)on;
#endif
}

SN_EXPORT bool cuda_debug_sync() {
#ifdef SAMPLENORM_WITH_CUDA
    return cuda::debug_sync();
#else
    return false;
#endif
}

SN_EXPORT int64_t cuda_allocation_count() {
#ifdef SAMPLENORM_WITH_CUDA
    return cuda::allocation_count();
#else
    return 0;
#endif
}

SN_EXPORT int blob_stats(const float* src, size_t step, int n, int c, int h, int w, int scope,
                         double* mean, double* var) {
    return guarded([&] {
        check_blob_stats(src, step, n, c, h, w, scope, mean, var);
        cpu::blob_stats(src, step, n, c, h, w, scope, mean, var);
    });
}

SN_EXPORT int blob_normalize(const float* src, size_t src_step, float* dst, size_t dst_step,
                             int n, int c, int h, int w, int scope, const double* mean,
                             const double* var, const float* gamma, const float* beta, double eps) {
    return guarded([&] {
        check_blob_normalize(src, src_step, dst, dst_step, n, c, h, w, scope, mean, var, eps);
        cpu::blob_normalize(src, src_step, dst, dst_step, n, c, h, w, scope, mean, var, gamma, beta, eps);
    });
}

SN_EXPORT int image_stats(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                          int cn, int scope, double* mean, double* var) {
    return guarded([&] {
        check_image_stats(images, steps, n, h, w, cn, scope, mean, var);
        cpu::image_stats(images, steps, n, h, w, cn, scope, mean, var);
    });
}

SN_EXPORT int images_to_blob(const uint8_t* const* images, const size_t* steps, int n, int h,
                             int w, int cn, bool swap_rb, int scope, const double* mean,
                             const double* var, double scale, double eps, float* dst,
                             size_t dst_step) {
    return guarded([&] {
        check_images_to_blob(images, steps, n, h, w, cn, scope, mean, var, scale, eps, dst, dst_step);
        cpu::images_to_blob(images, steps, n, h, w, cn, swap_rb, scope, mean, var, scale, eps, dst, dst_step);
    });
}

SN_EXPORT int blob_to_images(const float* src, size_t src_step, int n, int c, int h, int w,
                             bool swap_rb, int scope, const double* mean, const double* var,
                             double scale, double eps, uint8_t* const* images, const size_t* steps) {
    return guarded([&] {
        check_blob_to_images(src, src_step, n, c, h, w, scope, mean, var, scale, eps, images, steps);
        cpu::blob_to_images(src, src_step, n, c, h, w, swap_rb, scope, mean, var, scale, eps, images, steps);
    });
}

// --- CUDA ------------------------------------------------------------------------------------
// Arguments are checked first, so a bad call reports the bad argument even without a device.

SN_EXPORT int blob_stats_cuda_workspace(int n, int c, int h, int w, int scope, size_t* bytes) {
    return guarded([&] {
        check_workspace_shape(n, c, h, w, scope, bytes);
#ifdef SAMPLENORM_WITH_CUDA
        *bytes = cuda::blob_stats_workspace(n, c, h, w, scope);
#else
        require_device();
#endif
    });
}

SN_EXPORT int blob_stats_cuda(const void* src, size_t step, int n, int c, int h, int w, int scope,
                              void* mean, void* var, void* workspace, size_t workspace_bytes,
                              void* stream) {
    return guarded([&] {
        auto* s = static_cast<const float*>(src);
        auto* m = static_cast<double*>(mean);
        auto* v = static_cast<double*>(var);
        check_blob_stats(s, step, n, c, h, w, scope, m, v);
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        const int device = common_device({{src, "src"}, {mean, "mean"}, {var, "var"}, {workspace, "workspace"}}, stream);
        cuda::DeviceGuard guard(device);
        cuda::blob_stats(s, step, n, c, h, w, scope, m, v, workspace, workspace_bytes, device, stream);
#else
        (void)workspace, (void)workspace_bytes, (void)stream;
#endif
    });
}

SN_EXPORT int blob_normalize_cuda_workspace(int n, int c, int h, int w, size_t* bytes) {
    return guarded([&] {
        check_workspace_shape(n, c, h, w, SN_SCOPE_BATCH, bytes);
#ifdef SAMPLENORM_WITH_CUDA
        *bytes = cuda::blob_normalize_workspace(n, c);
#else
        require_device();
#endif
    });
}

SN_EXPORT int blob_normalize_cuda(const void* src, size_t src_step, void* dst, size_t dst_step,
                                  int n, int c, int h, int w, int scope, const void* mean,
                                  const void* var, const void* gamma, const void* beta,
                                  double eps, void* workspace, size_t workspace_bytes, void* stream) {
    return guarded([&] {
        auto* s = static_cast<const float*>(src);
        auto* d = static_cast<float*>(dst);
        auto* m = static_cast<const double*>(mean);
        auto* v = static_cast<const double*>(var);
        check_blob_normalize(s, src_step, d, dst_step, n, c, h, w, scope, m, v, eps);
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        const int device = common_device({{src, "src"}, {dst, "dst"}, {mean, "mean"}, {var, "var"}, {gamma, "gamma"},
                                          {beta, "beta"}, {workspace, "workspace"}}, stream);
        cuda::DeviceGuard guard(device);
        cuda::blob_normalize(s, src_step, d, dst_step, n, c, h, w, scope, m, v, static_cast<const float*>(gamma),
                             static_cast<const float*>(beta), eps, workspace, workspace_bytes, device, stream);
#else
        (void)gamma, (void)beta, (void)workspace, (void)workspace_bytes, (void)stream;
#endif
    });
}

SN_EXPORT int image_stats_cuda_workspace(int n, int h, int w, int cn, int scope, size_t* bytes) {
    return guarded([&] {
        check_workspace_shape(n, 1, h, w, scope, bytes);
        if (cn != 1 && cn != 3 && cn != 4) fail("expected images with 1, 3 or 4 channels, got " + std::to_string(cn));
#ifdef SAMPLENORM_WITH_CUDA
        *bytes = cuda::image_stats_workspace(n, h, w, cn, scope);
#else
        require_device();
#endif
    });
}

SN_EXPORT int image_stats_cuda(const uint8_t* const* images, const size_t* steps, int n, int h,
                               int w, int cn, int scope, void* mean, void* var, void* workspace,
                               size_t workspace_bytes, void* stream) {
    return guarded([&] {
        auto* m = static_cast<double*>(mean);
        auto* v = static_cast<double*>(var);
        check_image_stats(images, steps, n, h, w, cn, scope, m, v);
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        auto batch = pack_images<cuda::ImageBatch>(images, steps, n);
        int device = common_device({{mean, "mean"}, {var, "var"}, {workspace, "workspace"}}, stream);
        device = images_device(images, n, device, "images");
        cuda::check_stream_device(stream, device);
        cuda::DeviceGuard guard(device);
        cuda::image_stats(batch, n, h, w, cn, scope, m, v, workspace, workspace_bytes, device, stream);
#else
        (void)workspace, (void)workspace_bytes, (void)stream;
#endif
    });
}

SN_EXPORT int images_to_blob_cuda(const uint8_t* const* images, const size_t* steps, int n,
                                  int h, int w, int cn, bool swap_rb, int scope,
                                  const void* mean, const void* var, double scale, double eps,
                                  void* dst, size_t dst_step, void* stream) {
    return guarded([&] {
        auto* m = static_cast<const double*>(mean);
        auto* v = static_cast<const double*>(var);
        auto* d = static_cast<float*>(dst);
        check_images_to_blob(images, steps, n, h, w, cn, scope, m, v, scale, eps, d, dst_step);
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        auto batch = pack_images<cuda::ImageBatch>(images, steps, n);
        int device = common_device({{mean, "mean"}, {var, "var"}, {dst, "dst"}}, stream);
        device = images_device(images, n, device, "images");
        cuda::check_stream_device(stream, device);
        cuda::DeviceGuard guard(device);
        cuda::images_to_blob(batch, n, h, w, cn, swap_rb, scope, m, v, scale, eps, d, dst_step, stream);
#else
        (void)swap_rb, (void)stream;
#endif
    });
}

SN_EXPORT int blob_to_images_cuda(const void* src, size_t src_step, int n, int c, int h, int w,
                                  bool swap_rb, int scope, const void* mean, const void* var,
                                  double scale, double eps, uint8_t* const* images,
                                  const size_t* steps, void* stream) {
    return guarded([&] {
        auto* s = static_cast<const float*>(src);
        auto* m = static_cast<const double*>(mean);
        auto* v = static_cast<const double*>(var);
        check_blob_to_images(s, src_step, n, c, h, w, scope, m, v, scale, eps, images, steps);
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        auto batch = pack_images<cuda::MutableImageBatch>(images, steps, n);
        int device = common_device({{src, "src"}, {mean, "mean"}, {var, "var"}}, stream);
        device = images_device(images, n, device, "images");
        cuda::check_stream_device(stream, device);
        cuda::DeviceGuard guard(device);
        cuda::blob_to_images(s, src_step, n, c, h, w, swap_rb, scope, m, v, scale, eps, batch, stream);
#else
        (void)swap_rb, (void)stream;
#endif
    });
}

// --- CUDA memory, events ---------------------------------------------------------------------

SN_EXPORT int cuda_pointer_device(const void* ptr, int* device) {
    return guarded([&] {
        check_not_null(ptr, "ptr");
        check_not_null(device, "device");
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        *device = cuda::pointer_device(ptr, "ptr");
#endif
    });
}

SN_EXPORT int cuda_stream_device(void* stream, int* device) {
    return guarded([&] {
        check_not_null(device, "device");
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        *device = cuda::stream_device(stream);
#else
        (void)stream;
#endif
    });
}

SN_EXPORT int cuda_malloc_async(void** ptr, size_t bytes, int device, void* stream) {
    return guarded([&] {
        check_not_null(ptr, "ptr");
        if (bytes == 0) fail("expected bytes > 0");
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        cuda::check_device_ordinal(device);
        cuda::check_stream_device(stream, device);
        cuda::DeviceGuard guard(device);
        *ptr = cuda::malloc_async(bytes, device, stream);
#else
        (void)device, (void)stream;
#endif
    });
}

SN_EXPORT int cuda_free_async(void* ptr, int device, void* stream) {
    return guarded([&] {
        check_not_null(ptr, "ptr");
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        cuda::check_device_ordinal(device);
        cuda::DeviceGuard guard(device);
        cuda::free_async(ptr, stream);
#else
        (void)device, (void)stream;
#endif
    });
}

SN_EXPORT int cuda_upload(void* dst, const void* host_src, size_t bytes, int device, void* stream) {
    return guarded([&] {
        check_not_null(dst, "dst");
        check_not_null(host_src, "host_src");
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        cuda::check_device_ordinal(device);
        cuda::DeviceGuard guard(device);
        cuda::upload(dst, host_src, bytes, stream);
#else
        (void)bytes, (void)device, (void)stream;
#endif
    });
}

SN_EXPORT int cuda_download(void* host_dst, const void* src, size_t bytes, int device, void* stream) {
    return guarded([&] {
        check_not_null(host_dst, "host_dst");
        check_not_null(src, "src");
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        cuda::check_device_ordinal(device);
        cuda::DeviceGuard guard(device);
        cuda::download(host_dst, src, bytes, stream);
#else
        (void)bytes, (void)device, (void)stream;
#endif
    });
}

SN_EXPORT int cuda_event_create(void** event, int device) {
    return guarded([&] {
        check_not_null(event, "event");
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        cuda::check_device_ordinal(device);
        cuda::DeviceGuard guard(device);
        *event = cuda::event_create();
#else
        (void)device;
#endif
    });
}

SN_EXPORT int cuda_event_record(void* event, int device, void* stream) {
    return guarded([&] {
        check_not_null(event, "event");
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        cuda::DeviceGuard guard(device);
        cuda::event_record(event, stream);
#else
        (void)device, (void)stream;
#endif
    });
}

SN_EXPORT int cuda_stream_wait_event(void* stream, void* event, int device) {
    return guarded([&] {
        check_not_null(event, "event");
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        cuda::DeviceGuard guard(device);
        cuda::stream_wait_event(stream, event);
#else
        (void)stream, (void)device;
#endif
    });
}

SN_EXPORT int cuda_event_destroy(void* event, int device) {
    return guarded([&] {
        check_not_null(event, "event");
        require_device();
#ifdef SAMPLENORM_WITH_CUDA
        cuda::DeviceGuard guard(device);
        cuda::event_destroy(event);
#else
        (void)device;
#endif
    });
}

}  // namespace samplenorm
