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
//    the two image arrays above), typed void* so that bindings cannot pass host arrays, and are
//    asynchronous on the given stream (a cudaStream_t, nullptr = legacy default stream).
//
// Errors: every function that can fail returns a status code (SN_OK = 0 on success) and returns
// right after the first error, leaving its outputs unspecified. The message of the last failed
// call on the calling thread is last_error_message(). Arguments are checked before any device
// is touched, so SN_INVALID_ARGUMENT wins over SN_NO_CUDA_DEVICE.
//
// Determinism: the same input gives bit-identical output run after run, on any GPU and on the
// CPU, independent of the number of threads. Blob statistics follow one reduction order on
// both (kernels/common/moments.h, "Canonical reduction"); image statistics are exact integer
// sums; the element-wise maps use the same float operations in the same order, without FMA
// contraction.
//
// CUDA without hidden synchronization:
//  * Nothing synchronizes the device or the stream, except cuda_download (documented) and the
//    opt-in debug mode (set_cuda_debug_sync), which waits for the stream after every launch so
//    that an asynchronous fault is reported by the call that caused it.
//  * Scratch memory is a workspace the caller provides (size from the *_cuda_workspace query,
//    CUB style), or, when workspace is null, stream-ordered memory from the library's memory
//    pool of the device (cudaMallocFromPoolAsync / cudaFreeAsync on the caller's stream).
//  * The calling thread's current device is set to the device of the data pointers for the
//    duration of the call (cudaPointerGetAttributes) and restored afterwards; the stream must
//    belong to that device. Host memory passed as device memory is refused.
//
// Zero variance and NaN, identical on CPU and CUDA:
//  * Statistics do not filter NaN or infinity: an input containing them gives its channel a NaN
//    (or infinite) mean and variance. A constant channel has variance exactly 0.
//  * blob_normalize requires eps > 0, so a zero variance gives (x - mean) / sqrt(eps); a NaN
//    statistic or element gives NaN outputs.
//  * images_to_blob and blob_to_images accept eps >= 0. Their per-channel factor is computed in
//    double as scale / sqrt(var * scale^2 + eps) (inverse: sqrt(var * scale^2 + eps) / scale) with
//    IEEE semantics on both: where var * scale^2 + eps is 0 (zero variance with eps = 0) the
//    forward factor is +inf, so pixels equal to the mean become NaN and others +-inf; the
//    inverse factor is 0, so every pixel becomes the mean. The Java facades refuse that case
//    where the statistics are visible on the host.
//  * 8-bit outputs are rounded to nearest (ties to even) and saturated: +inf -> 255,
//    -inf -> 0, NaN -> 0.
#ifndef SAMPLENORM_SAMPLENORM_H
#define SAMPLENORM_SAMPLENORM_H

#include <cstddef>
#include <cstdint>

#define SN_SCOPE_BATCH 0
#define SN_SCOPE_SAMPLE 1
#define SN_CUDA_MAX_IMAGES 512

// Status codes.
#define SN_OK 0
/** An argument is invalid (shape, step, scope, eps, null or host pointer, workspace too small). */
#define SN_INVALID_ARGUMENT 1
/** A *_cuda or cuda_* function was called in the CPU variant of the library. */
#define SN_BUILT_WITHOUT_CUDA 2
/** No usable CUDA device or driver. */
#define SN_NO_CUDA_DEVICE 3
/** A CUDA call or kernel failed. */
#define SN_CUDA_ERROR 4
/** Host or device memory could not be allocated. */
#define SN_OUT_OF_MEMORY 5
/** Anything else (a bug). */
#define SN_INTERNAL 6

namespace samplenorm {

/** Version string of the native library, e.g. "0.1.0 (cpu)" or "0.1.0 (cuda 13.0)". */
const char* version();

/** True when this build of the library contains the CUDA kernels. */
bool built_with_cuda();

/** Number of usable CUDA devices; 0 when built without CUDA, with no driver or no device. Never fails. */
int cuda_device_count();

/** Why CUDA is or is not usable here, in one line (e.g. "built without CUDA", "CUDA driver not found"). */
const char* cuda_status();

/** The message of the last call that returned an error on this thread ("" if none). */
const char* last_error_message();

/** Debug mode: synchronize the stream after every kernel launch (off by default). */
void set_cuda_debug_sync(bool on);
bool cuda_debug_sync();

/** Stream-ordered allocations the library has made since it was loaded (a counter for tests). */
int64_t cuda_allocation_count();

// ---------------------------------------------------------------------------------------------
// Host memory
// ---------------------------------------------------------------------------------------------

/** Per-channel (or per-sample, per-channel) mean and biased variance of a blob. */
int blob_stats(const float* src, size_t step, int n, int c, int h, int w, int scope,
               double* mean, double* var);

/**
 * dst = (src - mean) / sqrt(var + eps) * gamma + beta, one pass; dst may equal src (same step).
 * mean and var hold C values (SN_SCOPE_BATCH) or N * C values (SN_SCOPE_SAMPLE); gamma and beta
 * hold C values each or are null (gamma = 1, beta = 0). eps must be > 0.
 */
int blob_normalize(const float* src, size_t src_step, float* dst, size_t dst_step,
                   int n, int c, int h, int w, int scope,
                   const double* mean, const double* var,
                   const float* gamma, const float* beta, double eps);

/** Exact per-channel mean and biased variance of 8-bit images, in pixel units, in image channel order. */
int image_stats(const uint8_t* const* images, const size_t* steps, int n, int h, int w, int cn,
                int scope, double* mean, double* var);

/**
 * Image batch -> blob, fused convert + normalize + layout change:
 *   blob(n, k, y, x) = (p * scale - mean[j] * scale) / sqrt(var[j] * scale^2 + eps)
 * where p is pixel (y, x) channel j of image n, j = k or, with swap_rb and CN >= 3, the
 * BGR <-> RGB partner of k. mean/var are in pixel units and image channel order, C or N * C
 * values by scope (as produced by image_stats). The plain mapping with a given mean m and std s
 * in scaled units is mean = m / scale, var = (s / scale)^2, eps = 0. eps >= 0, scale != 0.
 */
int images_to_blob(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                   int cn, bool swap_rb, int scope, const double* mean, const double* var,
                   double scale, double eps, float* dst, size_t dst_step);

/**
 * Blob -> image batch, the exact inverse of images_to_blob with the same parameters, then
 * rounded to nearest (ties to even) and saturated to [0, 255]:
 *   p = (blob * sqrt(var[j] * scale^2 + eps) + mean[j] * scale) / scale
 * The [-1, 1] -> [0, 255] mapping is mean = 127.5, var = 127.5^2, scale = 1 / 127.5, eps = 0.
 */
int blob_to_images(const float* src, size_t src_step, int n, int c, int h, int w,
                   bool swap_rb, int scope, const double* mean, const double* var,
                   double scale, double eps, uint8_t* const* images, const size_t* steps);

// ---------------------------------------------------------------------------------------------
// CUDA device memory, asynchronous on `stream` (a cudaStream_t). Same semantics as above;
// mean/var (double), gamma/beta (float) and the workspace are device arrays. Two-stage
// reductions, no atomics: deterministic. `workspace` may be null (stream-ordered scratch from
// the library's pool); otherwise it must hold at least the bytes its *_workspace query reports.
// ---------------------------------------------------------------------------------------------

/** Workspace bytes blob_stats_cuda needs for this shape and scope (no device needed). */
int blob_stats_cuda_workspace(int n, int c, int h, int w, int scope, size_t* bytes);

int blob_stats_cuda(const void* src, size_t step, int n, int c, int h, int w, int scope,
                    void* mean, void* var, void* workspace, size_t workspace_bytes, void* stream);

/** Workspace bytes blob_normalize_cuda needs (16 bytes per plane). */
int blob_normalize_cuda_workspace(int n, int c, int h, int w, size_t* bytes);

int blob_normalize_cuda(const void* src, size_t src_step, void* dst, size_t dst_step,
                        int n, int c, int h, int w, int scope,
                        const void* mean, const void* var,
                        const void* gamma, const void* beta, double eps,
                        void* workspace, size_t workspace_bytes, void* stream);

/** Workspace bytes image_stats_cuda needs. */
int image_stats_cuda_workspace(int n, int h, int w, int cn, int scope, size_t* bytes);

int image_stats_cuda(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                     int cn, int scope, void* mean, void* var, void* workspace,
                     size_t workspace_bytes, void* stream);

int images_to_blob_cuda(const uint8_t* const* images, const size_t* steps, int n, int h, int w,
                        int cn, bool swap_rb, int scope, const void* mean, const void* var,
                        double scale, double eps, void* dst, size_t dst_step, void* stream);

int blob_to_images_cuda(const void* src, size_t src_step, int n, int c, int h, int w,
                        bool swap_rb, int scope, const void* mean, const void* var,
                        double scale, double eps, uint8_t* const* images, const size_t* steps,
                        void* stream);

// ---------------------------------------------------------------------------------------------
// CUDA memory, events and devices for the facade: results that live on a stream.
// ---------------------------------------------------------------------------------------------

/** The device that owns device (or managed) memory at ptr; SN_INVALID_ARGUMENT for host memory. */
int cuda_pointer_device(const void* ptr, int* device);

/** The device a stream belongs to (the current device for the legacy default stream, null). */
int cuda_stream_device(void* stream, int* device);

/** Stream-ordered allocation from the library's pool of `device`, usable on `stream` in order. */
int cuda_malloc_async(void** ptr, size_t bytes, int device, void* stream);

/** Stream-ordered free of memory from cuda_malloc_async (after the work queued on stream). */
int cuda_free_async(void* ptr, int device, void* stream);

/** Host -> device copy queued on stream; the host buffer may be reused when this returns. */
int cuda_upload(void* dst, const void* host_src, size_t bytes, int device, void* stream);

/** Device -> host copy queued on stream, then waits for the stream: blocking by design. */
int cuda_download(void* host_dst, const void* src, size_t bytes, int device, void* stream);

/** An event without timing on `device`. */
int cuda_event_create(void** event, int device);
int cuda_event_record(void* event, int device, void* stream);
/** Work queued on stream after this waits for the event's last record (no host wait). */
int cuda_stream_wait_event(void* stream, void* event, int device);
int cuda_event_destroy(void* event, int device);

// ---------------------------------------------------------------------------------------------
// Thread priority (api/thread_priority.cpp). On Linux the nice value belongs to each thread, and a
// thread inherits the nice value of the thread that creates it. Unlike the functions above, these
// return 0 or an errno value (not an SN_* status) and do not set last_error_message():
// EINVAL for a nice value outside 0..19, EACCES or EPERM where the change would raise the priority
// (that needs CAP_SYS_NICE), ESRCH for an unknown thread, ENOSYS on a platform without per-thread
// nice values.
// ---------------------------------------------------------------------------------------------

/** The calling thread's kernel thread id (Linux gettid()); -1 where the platform has none. */
int64_t current_thread_id();

/** Sets the calling thread's nice value to `nice` (0..19). Threads it creates afterwards inherit it. */
int set_thread_nice(int nice);

/** Reads the nice value of thread `tid` of this process (0: the calling thread) into *nice; ESRCH for a tid above INT32_MAX. */
int thread_nice(int64_t tid, int* nice);

}  // namespace samplenorm

#endif  // SAMPLENORM_SAMPLENORM_H
