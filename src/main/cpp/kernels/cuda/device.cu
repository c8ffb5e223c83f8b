// Device discovery (how many CUDA devices can run these kernels, and why none can) and the
// library's scratch memory pool.
#include <cuda_runtime.h>

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

cudaMemPool_t scratch_pool() {
    int device = 0;
    check(cudaGetDevice(&device), "scratch_pool (cudaGetDevice)");
    static std::mutex mutex;
    static std::vector<cudaMemPool_t> pools;  // by device ordinal; never destroyed
    std::lock_guard<std::mutex> lock(mutex);
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
