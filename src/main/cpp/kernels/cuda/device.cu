// Device discovery (how many CUDA devices can run these kernels, and why none can) and the
// library's scratch memory pool.
#include <cuda_runtime.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_check.h"
#include "cuda_kernels.h"

namespace samplenorm {
namespace cuda {
namespace {

// The library ships SASS for sm_75 .. sm_90 and compute_90 PTX (see cppbuild.sh): older devices
// have no kernel image, so they are not counted as usable.
constexpr int kMinComputeCapability = 75;

std::string describe(cudaError_t err) {
    std::string name = cudaGetErrorName(err);
    switch (err) {
        case cudaErrorInsufficientDriver:
            // Also what the runtime reports when no driver (libcuda) is installed at all.
            return "CUDA driver not found or too old for CUDA runtime " + runtime_version() + " (" +
                   name + ")";
        case cudaErrorNoDevice:
            return "no CUDA device (" + name + ")";
        case cudaErrorSystemDriverMismatch:
            return "CUDA driver and kernel module versions do not match (" + name + ")";
        case cudaErrorDevicesUnavailable:
            return "all CUDA devices are busy or unavailable (" + name + ")";
        default:
            return std::string("CUDA unavailable: ") + cudaGetErrorString(err) + " (" + name + ")";
    }
}

}  // namespace

int device_count(std::string* why) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        (void)cudaGetLastError();  // do not leave the error for the next, unrelated call to see
        if (why != nullptr) *why = describe(err);
        return 0;
    }
    int usable = 0, oldest = 0;
    for (int d = 0; d < count; ++d) {
        int major = 0, minor = 0;
        if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, d) != cudaSuccess ||
            cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, d) != cudaSuccess) {
            (void)cudaGetLastError();
            continue;
        }
        const int cc = major * 10 + minor;
        if (cc >= kMinComputeCapability) {
            ++usable;
        } else if (oldest == 0 || cc < oldest) {
            oldest = cc;
        }
    }
    if (usable == 0 && why != nullptr) {
        if (count == 0) {
            *why = "no CUDA device";
        } else if (oldest != 0) {
            *why = "no CUDA device with compute capability >= 7.5 (found " + std::to_string(count) +
                   " device(s), the oldest sm_" + std::to_string(oldest) + ")";
        } else {
            *why = "no CUDA device could be queried";
        }
    }
    return usable;
}

namespace {

bool env_debug_sync() {
    const char* v = std::getenv("SAMPLENORM_CUDA_DEBUG_SYNC");
    return v != nullptr && (std::strcmp(v, "1") == 0 || std::strcmp(v, "true") == 0);
}

std::atomic<bool> g_debug_sync{env_debug_sync()};
std::atomic<int64_t> g_allocations{0};

}  // namespace

bool debug_sync() { return g_debug_sync.load(std::memory_order_relaxed); }

void set_debug_sync(bool on) { g_debug_sync.store(on, std::memory_order_relaxed); }

void count_allocation() { g_allocations.fetch_add(1, std::memory_order_relaxed); }

int64_t allocation_count() { return g_allocations.load(std::memory_order_relaxed); }

int pointer_device(const void* p, const char* name) {
    cudaPointerAttributes attr{};
    check(cudaPointerGetAttributes(&attr, p), name);
    if (attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged) {
        raise(SN_INVALID_ARGUMENT, std::string(name) + " is not CUDA device memory (" +
                                       (attr.type == cudaMemoryTypeHost ? "page-locked host memory" : "host memory") +
                                       "); the *_cuda functions take device pointers");
    }
    return attr.device;
}

DeviceGuard::DeviceGuard(int device) {
    int current = -1;
    check(cudaGetDevice(&current), "cudaGetDevice");
    if (current != device) {
        check(cudaSetDevice(device), "cudaSetDevice");
        previous_ = current;
    }
}

DeviceGuard::~DeviceGuard() {
    if (previous_ >= 0 && cudaSetDevice(previous_) != cudaSuccess) (void)cudaGetLastError();
}

void check_device_ordinal(int device) {
    int count = 0;
    check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    if (device < 0 || device >= count) {
        raise(SN_INVALID_ARGUMENT, "expected a CUDA device ordinal in [0, " + std::to_string(count) + "), got " +
                                       std::to_string(device));
    }
}

void* malloc_async(size_t bytes, int device, void* stream) {
    void* p = nullptr;
    check(cudaMallocFromPoolAsync(&p, bytes, scratch_pool(device), as_stream(stream)), "cudaMallocFromPoolAsync");
    count_allocation();
    return p;
}

void free_async(void* p, void* stream) { check(cudaFreeAsync(p, as_stream(stream)), "cudaFreeAsync"); }

void upload(void* dst, const void* host_src, size_t bytes, void* stream) {
    check(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, as_stream(stream)), "cudaMemcpyAsync (upload)");
}

void download(void* host_dst, const void* src, size_t bytes, void* stream) {
    check(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, as_stream(stream)), "cudaMemcpyAsync (download)");
    check(cudaStreamSynchronize(as_stream(stream)), "cudaStreamSynchronize (download)");
}

void* event_create() {
    cudaEvent_t e = nullptr;
    check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreateWithFlags");
    return e;
}

void event_record(void* event, void* stream) {
    check(cudaEventRecord(static_cast<cudaEvent_t>(event), as_stream(stream)), "cudaEventRecord");
}

void stream_wait_event(void* stream, void* event) {
    check(cudaStreamWaitEvent(as_stream(stream), static_cast<cudaEvent_t>(event), 0), "cudaStreamWaitEvent");
}

void event_destroy(void* event) { check(cudaEventDestroy(static_cast<cudaEvent_t>(event)), "cudaEventDestroy"); }

int stream_device(void* stream_handle) {
    const cudaStream_t stream = as_stream(stream_handle);
    int device = -1;
#if CUDART_VERSION >= 12080
    if (stream != nullptr && stream != cudaStreamLegacy && stream != cudaStreamPerThread) {
        check(cudaStreamGetDevice(stream, &device), "cudaStreamGetDevice");
        return device;
    }
#endif
    check(cudaGetDevice(&device), "cudaGetDevice");
    return device;
}

void check_stream_device(void* stream_handle, int device) {
#if CUDART_VERSION >= 12080
    const cudaStream_t stream = as_stream(stream_handle);
    if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) return;
    int stream_device = -1;
    check(cudaStreamGetDevice(stream, &stream_device), "cudaStreamGetDevice");
    if (stream_device != device) {
        raise(SN_INVALID_ARGUMENT, "the stream belongs to CUDA device " + std::to_string(stream_device) +
                                       ", the data to device " + std::to_string(device));
    }
#else
    (void)stream_handle, (void)device;
#endif
}

cudaMemPool_t scratch_pool(int device) {
    static std::mutex mutex;
    static std::vector<cudaMemPool_t> pools;  // by device ordinal; never destroyed
    std::lock_guard<std::mutex> lock(mutex);
    if (device < 0) raise(SN_INVALID_ARGUMENT, "no CUDA device " + std::to_string(device));
    if (static_cast<size_t>(device) >= pools.size()) pools.resize(device + 1, nullptr);
    if (pools[device] == nullptr) {
        cudaMemPoolProps props = {};
        props.allocType = cudaMemAllocationTypePinned;
        props.location.type = cudaMemLocationTypeDevice;
        props.location.id = device;
        cudaMemPool_t pool = nullptr;
        check(cudaMemPoolCreate(&pool, &props), "scratch_pool (cudaMemPoolCreate)");
        uint64_t keep = kScratchPoolKeepBytes;
        const cudaError_t err = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
        if (err != cudaSuccess) {
            (void)cudaMemPoolDestroy(pool);
            check(err, "scratch_pool (cudaMemPoolSetAttribute)");
        }
        pools[device] = pool;
    }
    return pools[device];
}

std::string runtime_version() {
    int v = 0;
    if (cudaRuntimeGetVersion(&v) != cudaSuccess) {
        (void)cudaGetLastError();
        v = CUDART_VERSION;  // the version this file was compiled against
    }
    return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

}  // namespace cuda
}  // namespace samplenorm
