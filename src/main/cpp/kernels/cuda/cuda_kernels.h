// CUDA kernels on raw device memory, launched asynchronously on the caller's stream.
// Arguments are validated by the API layer (api/samplenorm.cpp); these launchers assume valid
// shapes, steps and non-null device pointers on the current device, check every CUDA call and
// every launch (cudaGetLastError) and throw samplenorm::Error on failure. None of them
// synchronizes, except in debug mode (set_cuda_debug_sync).
#ifndef SAMPLENORM_KERNELS_CUDA_CUDA_KERNELS_H
#define SAMPLENORM_KERNELS_CUDA_CUDA_KERNELS_H

#include <cstddef>
#include <cstdint>
#include <string>

#include "samplenorm/samplenorm.h"
#include "../common/status.h"

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

/** Debug mode: every launch is followed by a stream synchronization (initially from SAMPLENORM_CUDA_DEBUG_SYNC). */
void set_debug_sync(bool on);
bool debug_sync();

/** Stream-ordered allocations made so far (scratch without a caller workspace, cuda_malloc_async). */
int64_t allocation_count();

/**
 * Makes `device` the calling thread's current device for the guard's lifetime and restores the
 * previous one afterwards (the caller's own CUDA code is not disturbed).
 */
class DeviceGuard {
public:
    explicit DeviceGuard(int device);
    ~DeviceGuard();
    DeviceGuard(const DeviceGuard&) = delete;
    DeviceGuard& operator=(const DeviceGuard&) = delete;

private:
    int previous_ = -1;
};

/** The device of device or managed memory at p; Error(SN_INVALID_ARGUMENT) for host memory. */
int pointer_device(const void* p, const char* name);

/** The device of `stream`; the current device for the legacy default stream (null). */
int stream_device(void* stream);

/** Error(SN_INVALID_ARGUMENT) unless `stream` (null = legacy default) belongs to `device`. */
void check_stream_device(void* stream, int device);

/** Error(SN_INVALID_ARGUMENT) unless 0 <= device < number of CUDA devices. */
void check_device_ordinal(int device);

// Thin checked wrappers for the facade's memory and events; the current device is set by the caller.
void* malloc_async(size_t bytes, int device, void* stream);
void free_async(void* p, void* stream);
void upload(void* dst, const void* host_src, size_t bytes, void* stream);
void download(void* host_dst, const void* src, size_t bytes, void* stream);
void* event_create();
void event_record(void* event, void* stream);
void stream_wait_event(void* stream, void* event);
void event_destroy(void* event);

/** Workspace bytes of blob_stats (chunk moments and merge levels). */
size_t blob_stats_workspace(int n, int c, int h, int w, int scope);

/**
 * Statistics of a blob; `workspace` (of workspace_bytes) or, when null, stream-ordered scratch
 * from the pool of `device` (the current device).
 */
void blob_stats(const float* src, size_t step, int n, int c, int h, int w, int scope,
                double* mean, double* var, void* workspace, size_t workspace_bytes, int device,
                void* stream);

/** Workspace bytes of blob_normalize (one coefficient record per plane). */
size_t blob_normalize_workspace(int n, int c);

void blob_normalize(const float* src, size_t src_step, float* dst, size_t dst_step, int n, int c,
                    int h, int w, int scope, const double* mean, const double* var,
                    const float* gamma, const float* beta, double eps, void* workspace,
                    size_t workspace_bytes, int device, void* stream);

/** Workspace bytes of image_stats (per-chunk integer sums). */
size_t image_stats_workspace(int n, int h, int w, int cn, int scope);

void image_stats(const ImageBatch& images, int n, int h, int w, int cn, int scope, double* mean,
                 double* var, void* workspace, size_t workspace_bytes, int device, void* stream);

void images_to_blob(const ImageBatch& images, int n, int h, int w, int cn, bool swap_rb,
                    int scope, const double* mean, const double* var, double scale, double eps,
                    float* dst, size_t dst_step, void* stream);

void blob_to_images(const float* src, size_t src_step, int n, int c, int h, int w, bool swap_rb,
                    int scope, const double* mean, const double* var, double scale, double eps,
                    const MutableImageBatch& images, void* stream);

}  // namespace cuda
}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_CUDA_CUDA_KERNELS_H
