// Standalone correctness check and bandwidth benchmark of samplenorm's CUDA launchers
// (samplenorm::cuda::*), without Java or OpenCV. Build and run with run_kernel_check.sh.
//
// Correctness: every launcher against an independent CPU reference written here (long double
// two-pass statistics, exact integer image sums, double conversions), blob statistics also
// bit for bit against the library's own CPU kernel (both follow one canonical reduction order),
// over several shapes (tiny planes with many channels and channels of many chunks included) and
// memory layouts (contiguous, pitched with 16-byte aligned rows, pitched with rows aligned to
// 4 bytes only, a misaligned base pointer; images with odd steps and per-image misalignment);
// determinism (bitwise equal reruns, bitwise equal results across layouts); in-place normalize;
// untouched row padding; saturation and NaN handling; image -> blob -> image round trip.
// Bandwidth: CUDA events, warm-up then median/min/max of kRuns runs, against the measured
// device-to-device copy bandwidth.
//
// Exit status: 0 when every check passes, 1 when any fails, 2 on a CUDA error.
#include <cuda_runtime.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cuda/cuda_kernels.h"

namespace cu = samplenorm::cuda;

namespace {

// ---------------------------------------------------------------------------------------------
// Plumbing
// ---------------------------------------------------------------------------------------------

#define CK(expr)                                                                             \
    do {                                                                                     \
        cudaError_t err_ = (expr);                                                           \
        if (err_ != cudaSuccess) {                                                           \
            std::fprintf(stderr, "CUDA error %s (%s) at %s:%d: %s\n", cudaGetErrorName(err_), \
                         cudaGetErrorString(err_), __FILE__, __LINE__, #expr);              \
            std::exit(2);                                                                    \
        }                                                                                    \
    } while (0)

int g_checks = 0;
int g_failures = 0;

void expect(bool ok, const std::string& what) {
    ++g_checks;
    if (!ok) {
        ++g_failures;
        if (g_failures <= 50) std::printf("FAIL: %s\n", what.c_str());
    }
}

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

cudaStream_t g_stream = nullptr;
int g_device = 0;

void sync() { CK(cudaStreamSynchronize(g_stream)); }

/** Runs a launcher, turning its exceptions into a failed check. */
bool call(const std::string& what, const std::function<void()>& fn) {
    try {
        fn();
        return true;
    } catch (const std::exception& e) {
        expect(false, what + ": threw " + e.what());
        return false;
    }
}

struct DeviceMem {
    void* ptr = nullptr;
    size_t bytes = 0;
    explicit DeviceMem(size_t n) : bytes(n) { CK(cudaMalloc(&ptr, n == 0 ? 1 : n)); }
    ~DeviceMem() { cudaFree(ptr); }
    DeviceMem(const DeviceMem&) = delete;
    DeviceMem& operator=(const DeviceMem&) = delete;
    template <typename T>
    T* as() const { return static_cast<T*>(ptr); }
};

template <typename T>
std::vector<T> download(const T* dev, size_t count) {
    std::vector<T> host(count);
    CK(cudaMemcpyAsync(host.data(), dev, count * sizeof(T), cudaMemcpyDeviceToHost, g_stream));
    sync();
    return host;
}

template <typename T>
void upload(T* dev, const std::vector<T>& host) {
    CK(cudaMemcpyAsync(dev, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice, g_stream));
    sync();
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

// ---------------------------------------------------------------------------------------------
// Blobs
// ---------------------------------------------------------------------------------------------

struct Shape {
    int n, c, h, w;
};

std::string str(const Shape& s) { return fmt("%dx%dx%dx%d", s.n, s.c, s.h, s.w); }

struct HostBlob {
    Shape s;
    std::vector<float> v;  // contiguous NCHW
    int64_t rows() const { return static_cast<int64_t>(s.n) * s.c * s.h; }
    float at(int64_t plane, int64_t i) const { return v[static_cast<size_t>(plane * s.h * s.w + i)]; }
};

/** How a blob sits in device memory. */
struct BlobLayout {
    const char* name;
    // 0 contiguous; 1 rows padded to 512 B (float4 path); 2 rows padded by 4 or 8 B so that the
    // step is a multiple of 4 but not of 16 (scalar path); 3 = 1 with the base moved by 4 B.
    int kind;
};
const BlobLayout kBlobLayouts[] = {
    {"contiguous", 0}, {"pitch512", 1}, {"pitch-not16", 2}, {"misaligned", 3}};

constexpr unsigned char kPadByte = 0x7f;  // 0x7f7f7f7f as a float: 3.39e38

struct DeviceBlob {
    Shape s;
    size_t step = 0, offset = 0;
    std::unique_ptr<DeviceMem> mem;
    float* base() const { return reinterpret_cast<float*>(mem->as<char>() + offset); }
};

DeviceBlob make_blob(const Shape& s, int kind) {
    DeviceBlob b;
    b.s = s;
    const size_t row = static_cast<size_t>(s.w) * sizeof(float);
    b.step = kind == 0 ? row : kind == 2 ? ((row + 4) % 16 != 0 ? row + 4 : row + 8) : round_up(row, 512);
    b.offset = kind == 3 ? 4 : 0;
    const size_t rows = static_cast<size_t>(s.n) * s.c * s.h;
    b.mem.reset(new DeviceMem(b.offset + b.step * rows));
    CK(cudaMemsetAsync(b.mem->ptr, kPadByte, b.mem->bytes, g_stream));
    return b;
}

void upload_blob(const DeviceBlob& d, const HostBlob& h) {
    const size_t row = static_cast<size_t>(h.s.w) * sizeof(float);
    CK(cudaMemcpy2DAsync(d.base(), d.step, h.v.data(), row, row, static_cast<size_t>(h.rows()),
                         cudaMemcpyHostToDevice, g_stream));
    sync();
}

/** Values of a device blob, and whether its row padding still holds kPadByte. */
HostBlob download_blob(const DeviceBlob& d, bool* padding_intact) {
    std::vector<unsigned char> raw = download(d.mem->as<unsigned char>(), d.mem->bytes);
    HostBlob h{d.s, std::vector<float>(static_cast<size_t>(d.s.n) * d.s.c * d.s.h * d.s.w)};
    const size_t row = static_cast<size_t>(d.s.w) * sizeof(float);
    bool intact = true;
    for (size_t i = 0; i < d.offset; ++i) intact = intact && raw[i] == kPadByte;
    for (int64_t r = 0; r < h.rows(); ++r) {
        const unsigned char* p = raw.data() + d.offset + r * d.step;
        std::memcpy(&h.v[static_cast<size_t>(r) * d.s.w], p, row);
        for (size_t i = row; i < d.step; ++i) intact = intact && p[i] == kPadByte;
    }
    if (padding_intact != nullptr) *padding_intact = intact;
    return h;
}

HostBlob random_blob(const Shape& s, uint64_t seed, double center, double spread) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    HostBlob h{s, std::vector<float>(static_cast<size_t>(s.n) * s.c * s.h * s.w)};
    const int64_t plane_size = static_cast<int64_t>(s.h) * s.w;
    for (int64_t p = 0; p < static_cast<int64_t>(s.n) * s.c; ++p) {
        const double ch_center = center + spread * 0.5 * static_cast<double>(p % s.c);
        for (int64_t i = 0; i < plane_size; ++i) {
            h.v[static_cast<size_t>(p * plane_size + i)] = static_cast<float>(ch_center + spread * u(rng));
        }
    }
    return h;
}

/** Reference statistics: two passes in long double. */
void ref_blob_stats(const HostBlob& b, int scope, std::vector<double>* mean, std::vector<double>* var) {
    const Shape& s = b.s;
    const int outputs = scope == SN_SCOPE_SAMPLE ? s.n * s.c : s.c;
    const int64_t plane_size = static_cast<int64_t>(s.h) * s.w;
    mean->assign(outputs, 0);
    var->assign(outputs, 0);
    for (int o = 0; o < outputs; ++o) {
        std::vector<int64_t> planes;
        if (scope == SN_SCOPE_SAMPLE) planes.push_back(o);
        else for (int k = 0; k < s.n; ++k) planes.push_back(static_cast<int64_t>(k) * s.c + o);
        long double sum = 0, count = 0;
        for (int64_t p : planes) for (int64_t i = 0; i < plane_size; ++i) sum += b.at(p, i);
        count = static_cast<long double>(planes.size()) * plane_size;
        const long double m = sum / count;
        long double m2 = 0;
        for (int64_t p : planes) for (int64_t i = 0; i < plane_size; ++i) {
            const long double d = b.at(p, i) - m;
            m2 += d * d;
        }
        (*mean)[o] = static_cast<double>(m);
        (*var)[o] = static_cast<double>(m2 / count);
    }
}

// Observed worst errors, printed at the end.
double g_worst_mean_err = 0, g_worst_var_err = 0, g_worst_norm_err = 0;

// The project's accuracy contract is 1e-6 relative; the shifted double sums are far better, and a tighter bound also
// catches a single lost element out of 1e7.
constexpr double kStatsTol = 1e-9;

void compare_stats(const std::string& what, const std::vector<double>& m, const std::vector<double>& v,
                   const std::vector<double>& rm, const std::vector<double>& rv) {
    for (size_t i = 0; i < rm.size(); ++i) {
        const double scale_m = std::max(std::fabs(rm[i]), std::sqrt(rv[i]));
        const double em = scale_m > 0 ? std::fabs(m[i] - rm[i]) / scale_m : std::fabs(m[i] - rm[i]);
        const double ev = rv[i] > 0 ? std::fabs(v[i] - rv[i]) / rv[i] : std::fabs(v[i]);
        g_worst_mean_err = std::max(g_worst_mean_err, em);
        g_worst_var_err = std::max(g_worst_var_err, ev);
        if (!(em <= kStatsTol) || !(ev <= kStatsTol)) {
            expect(false, fmt("%s: output %zu mean %.17g (ref %.17g) var %.17g (ref %.17g)", what.c_str(),
                              i, m[i], rm[i], v[i], rv[i]));
            return;
        }
    }
    expect(true, what);
}

/** GPU stats of a device blob (synchronized). */
void gpu_blob_stats(const DeviceBlob& d, int scope, std::vector<double>* mean, std::vector<double>* var) {
    const int outputs = scope == SN_SCOPE_SAMPLE ? d.s.n * d.s.c : d.s.c;
    DeviceMem dm(outputs * sizeof(double)), dv(outputs * sizeof(double));
    CK(cudaMemsetAsync(dm.ptr, 0xff, dm.bytes, g_stream));  // NaN: a missing write shows
    CK(cudaMemsetAsync(dv.ptr, 0xff, dv.bytes, g_stream));
    call("blob_stats " + str(d.s), [&] {
        cu::blob_stats(d.base(), d.step, d.s.n, d.s.c, d.s.h, d.s.w, scope, dm.as<double>(),
                       dv.as<double>(), nullptr, 0, g_device, g_stream);
    });
    *mean = download(dm.as<double>(), outputs);
    *var = download(dv.as<double>(), outputs);
}

/** The library's CPU kernel on the same data: the GPU must match it bit for bit. */
void cpu_blob_stats(const HostBlob& hb, int scope, std::vector<double>* mean, std::vector<double>* var) {
    const Shape& s = hb.s;
    const size_t outputs = scope == SN_SCOPE_SAMPLE ? static_cast<size_t>(s.n) * s.c : s.c;
    mean->assign(outputs, 0);
    var->assign(outputs, 0);
    samplenorm::cpu::blob_stats(hb.v.data(), static_cast<size_t>(s.w) * sizeof(float), s.n, s.c, s.h, s.w, scope,
                                mean->data(), var->data());
}

/** Same bits, NaN equal to NaN. */
bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i]) && std::isnan(b[i])) continue;
        if (std::memcmp(&a[i], &b[i], sizeof(double)) != 0) return false;
    }
    return true;
}

void check_blob_stats(const HostBlob& hb, const std::string& label) {
    for (int scope : {SN_SCOPE_BATCH, SN_SCOPE_SAMPLE}) {
        std::vector<double> rm, rv, cm, cv;
        ref_blob_stats(hb, scope, &rm, &rv);
        cpu_blob_stats(hb, scope, &cm, &cv);
        std::vector<double> first_m, first_v;
        for (const BlobLayout& lay : kBlobLayouts) {
            DeviceBlob d = make_blob(hb.s, lay.kind);
            upload_blob(d, hb);
            std::vector<double> m, v, m2, v2;
            gpu_blob_stats(d, scope, &m, &v);
            gpu_blob_stats(d, scope, &m2, &v2);
            const std::string what = fmt("blob_stats %s %s scope=%d layout=%s", label.c_str(),
                                         str(hb.s).c_str(), scope, lay.name);
            compare_stats(what, m, v, rm, rv);
            expect(same_bits(m, m2) && same_bits(v, v2), what + ": rerun not bit-identical");
            expect(same_values(m, cm) && same_values(v, cv), what + ": not bit-identical to the CPU kernel");
            if (first_m.empty()) {
                first_m = m;
                first_v = v;
            } else {
                expect(same_bits(m, first_m) && same_bits(v, first_v),
                       what + ": not bit-identical to the contiguous layout");
            }
        }
    }
}

void check_blob_normalize(const HostBlob& hb, const std::string& label, uint64_t seed) {
    const Shape& s = hb.s;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(0.5f, 2.0f);
    std::vector<float> gamma(s.c), beta(s.c);
    for (int i = 0; i < s.c; ++i) {
        gamma[i] = u(rng);
        beta[i] = u(rng) - 1.25f;
    }
    DeviceMem dgamma(s.c * sizeof(float)), dbeta(s.c * sizeof(float));
    upload(dgamma.as<float>(), gamma);
    upload(dbeta.as<float>(), beta);
    const double eps = 1e-5;
    for (int scope : {SN_SCOPE_BATCH, SN_SCOPE_SAMPLE}) {
        std::vector<double> rm, rv;
        ref_blob_stats(hb, scope, &rm, &rv);
        DeviceMem dm(rm.size() * sizeof(double)), dv(rv.size() * sizeof(double));
        upload(dm.as<double>(), rm);
        upload(dv.as<double>(), rv);
        for (bool affine : {false, true}) {
            HostBlob first;
            for (const BlobLayout& lay : kBlobLayouts) {
                const std::string what = fmt("blob_normalize %s %s scope=%d affine=%d layout=%s",
                                             label.c_str(), str(s).c_str(), scope, affine, lay.name);
                DeviceBlob src = make_blob(s, lay.kind), dst = make_blob(s, lay.kind);
                upload_blob(src, hb);
                const float* g = affine ? dgamma.as<float>() : nullptr;
                const float* b = affine ? dbeta.as<float>() : nullptr;
                call(what, [&] {
                    cu::blob_normalize(src.base(), src.step, dst.base(), dst.step, s.n, s.c, s.h, s.w,
                                       scope, dm.as<double>(), dv.as<double>(), g, b, eps, nullptr, 0, g_device, g_stream);
                });
                bool pad_ok = false;
                HostBlob out = download_blob(dst, &pad_ok);
                expect(pad_ok, what + ": row padding overwritten");
                // Reference in double; the float path is ((x - hi) - lo) * f + beta.
                const int64_t plane_size = static_cast<int64_t>(s.h) * s.w;
                bool ok = true;
                for (int64_t p = 0; p < static_cast<int64_t>(s.n) * s.c && ok; ++p) {
                    const int ch = static_cast<int>(p % s.c);
                    const size_t k = scope == SN_SCOPE_SAMPLE ? static_cast<size_t>(p) : ch;
                    const double f = (affine ? gamma[ch] : 1.0) / std::sqrt(rv[k] + eps);
                    const double off = affine ? beta[ch] : 0.0;
                    for (int64_t i = 0; i < plane_size; ++i) {
                        const double core = (static_cast<double>(hb.at(p, i)) - rm[k]) * f;
                        const double ref = core + off;
                        const double got = out.at(p, i);
                        const double err = std::fabs(got - ref);
                        const double tol = 1e-6 * (std::fabs(core) + std::fabs(off)) + 1e-12;
                        g_worst_norm_err = std::max(g_worst_norm_err, err / (std::fabs(core) + std::fabs(off) + 1e-12));
                        if (!(err <= tol)) {
                            expect(false, fmt("%s: plane %" PRId64 " index %" PRId64 " got %.9g ref %.9g",
                                              what.c_str(), p, i, got, ref));
                            ok = false;
                            break;
                        }
                    }
                }
                if (ok) expect(true, what);
                if (first.v.empty()) first = out;
                else expect(first.v == out.v, what + ": differs from the contiguous layout");

                // In place: dst == src, same step; must equal the out-of-place result bitwise.
                call(what + " in place", [&] {
                    cu::blob_normalize(src.base(), src.step, src.base(), src.step, s.n, s.c, s.h, s.w,
                                       scope, dm.as<double>(), dv.as<double>(), g, b, eps, nullptr, 0, g_device, g_stream);
                });
                HostBlob inplace = download_blob(src, &pad_ok);
                expect(pad_ok && std::memcmp(inplace.v.data(), out.v.data(), out.v.size() * sizeof(float)) == 0,
                       what + ": in-place result differs from out-of-place");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------

struct ImgShape {
    int n, h, w, cn;
};

std::string str(const ImgShape& s) { return fmt("%dx%dx%dx%d", s.n, s.h, s.w, s.cn); }

struct HostImages {
    ImgShape s;
    std::vector<uint8_t> v;  // contiguous, image after image
    size_t image_bytes() const { return static_cast<size_t>(s.h) * s.w * s.cn; }
    uint8_t at(int img, int64_t y, int64_t x, int ch) const {
        return v[img * image_bytes() + static_cast<size_t>((y * s.w + x) * s.cn + ch)];
    }
};

struct ImgLayout {
    const char* name;
    int kind;  // 0 contiguous (step = W*CN, images back to back), 1 step padded to 256, 2 odd step + per-image misalignment
};
const ImgLayout kImgLayouts[] = {{"contiguous", 0}, {"pitch256", 1}, {"odd+misaligned", 2}};

constexpr uint8_t kImgPad = 0xa5;

struct DeviceImages {
    ImgShape s;
    size_t step = 0;
    std::vector<size_t> offset;
    std::unique_ptr<DeviceMem> mem;
    uint8_t* image(int i) const { return mem->as<uint8_t>() + offset[i]; }
    cu::ImageBatch batch() const {
        cu::ImageBatch b{};
        for (int i = 0; i < s.n; ++i) {
            b.data[i] = image(i);
            b.step[i] = step;
        }
        return b;
    }
    cu::MutableImageBatch mutable_batch() const {
        cu::MutableImageBatch b{};
        for (int i = 0; i < s.n; ++i) {
            b.data[i] = image(i);
            b.step[i] = step;
        }
        return b;
    }
};

DeviceImages make_images(const ImgShape& s, int kind) {
    DeviceImages d;
    d.s = s;
    const size_t row = static_cast<size_t>(s.w) * s.cn;
    d.step = kind == 0 ? row : kind == 1 ? round_up(row, 256) : row + 3;
    size_t pos = 0;
    for (int i = 0; i < s.n; ++i) {
        if (kind == 2) pos += 1 + i % 3;  // a different misalignment for each image
        d.offset.push_back(pos);
        pos += d.step * s.h;
    }
    d.mem.reset(new DeviceMem(pos + 16));
    CK(cudaMemsetAsync(d.mem->ptr, kImgPad, d.mem->bytes, g_stream));
    return d;
}

void upload_images(const DeviceImages& d, const HostImages& h) {
    const size_t row = static_cast<size_t>(h.s.w) * h.s.cn;
    for (int i = 0; i < h.s.n; ++i) {
        CK(cudaMemcpy2DAsync(d.image(i), d.step, h.v.data() + i * h.image_bytes(), row, row, h.s.h,
                             cudaMemcpyHostToDevice, g_stream));
    }
    sync();
}

HostImages download_images(const DeviceImages& d, bool* padding_intact) {
    std::vector<uint8_t> raw = download(d.mem->as<uint8_t>(), d.mem->bytes);
    HostImages h{d.s, {}};
    h.v.resize(h.image_bytes() * d.s.n);
    const size_t row = static_cast<size_t>(d.s.w) * d.s.cn;
    std::vector<bool> is_pixel(raw.size(), false);
    for (int i = 0; i < d.s.n; ++i) {
        for (int y = 0; y < d.s.h; ++y) {
            const size_t at = d.offset[i] + static_cast<size_t>(y) * d.step;
            std::memcpy(&h.v[i * h.image_bytes() + static_cast<size_t>(y) * row], &raw[at], row);
            for (size_t k = 0; k < row; ++k) is_pixel[at + k] = true;
        }
    }
    bool intact = true;
    for (size_t k = 0; k < raw.size(); ++k) intact = intact && (is_pixel[k] || raw[k] == kImgPad);
    if (padding_intact != nullptr) *padding_intact = intact;
    return h;
}

HostImages random_images(const ImgShape& s, uint64_t seed) {
    std::mt19937_64 rng(seed);
    HostImages h{s, {}};
    h.v.resize(h.image_bytes() * s.n);
    for (size_t i = 0; i < h.v.size(); ++i) {
        // Skewed per channel so that channels (and a BGR/RGB swap) are distinguishable.
        const int ch = static_cast<int>(i % s.cn);
        const uint64_t r = rng();
        h.v[i] = static_cast<uint8_t>(ch == 0 ? r % 256 : ch == 1 ? 64 + r % 128 : (r % 256) * (r % 256) / 255);
    }
    return h;
}

/** Exact mean/var from integer sums (the formula the library documents). */
void exact_image_moments(uint64_t count, uint64_t s, uint64_t ss, double* mean, double* var) {
    const unsigned __int128 num = static_cast<unsigned __int128>(count) * ss - static_cast<unsigned __int128>(s) * s;
    *mean = static_cast<double>(s) / static_cast<double>(count);
    *var = static_cast<double>(num) / (static_cast<double>(count) * static_cast<double>(count));
}

void ref_image_stats(const HostImages& h, int scope, std::vector<double>* mean, std::vector<double>* var) {
    const ImgShape& s = h.s;
    const int groups = scope == SN_SCOPE_SAMPLE ? s.n : 1;
    mean->assign(groups * s.cn, 0);
    var->assign(groups * s.cn, 0);
    for (int g = 0; g < groups; ++g) {
        for (int ch = 0; ch < s.cn; ++ch) {
            uint64_t sum = 0, sq = 0, count = 0;
            for (int i = 0; i < s.n; ++i) {
                if (scope == SN_SCOPE_SAMPLE && i != g) continue;
                for (int64_t y = 0; y < s.h; ++y) {
                    for (int64_t x = 0; x < s.w; ++x) {
                        const uint64_t p = h.at(i, y, x, ch);
                        sum += p;
                        sq += p * p;
                        ++count;
                    }
                }
            }
            exact_image_moments(count, sum, sq, &(*mean)[g * s.cn + ch], &(*var)[g * s.cn + ch]);
        }
    }
}

int partner(int k, int cn, bool swap) { return (swap && cn >= 3 && (k == 0 || k == 2)) ? 2 - k : k; }

/** Conversion parameters for images_to_blob / blob_to_images. */
struct Conversion {
    const char* name;
    std::vector<double> mean, var;  // C or N * C values
    double scale, eps;
};

void check_image_stats(const HostImages& hi, const std::string& label) {
    for (int scope : {SN_SCOPE_BATCH, SN_SCOPE_SAMPLE}) {
        std::vector<double> rm, rv;
        ref_image_stats(hi, scope, &rm, &rv);
        for (const ImgLayout& lay : kImgLayouts) {
            const std::string what = fmt("image_stats %s %s scope=%d layout=%s", label.c_str(),
                                         str(hi.s).c_str(), scope, lay.name);
            DeviceImages d = make_images(hi.s, lay.kind);
            upload_images(d, hi);
            DeviceMem dm(rm.size() * sizeof(double)), dv(rv.size() * sizeof(double));
            std::vector<double> m, v;
            for (int rep = 0; rep < 2; ++rep) {
                CK(cudaMemsetAsync(dm.ptr, 0xff, dm.bytes, g_stream));
                CK(cudaMemsetAsync(dv.ptr, 0xff, dv.bytes, g_stream));
                call(what, [&] {
                    cu::image_stats(d.batch(), hi.s.n, hi.s.h, hi.s.w, hi.s.cn, scope, dm.as<double>(),
                                    dv.as<double>(), nullptr, 0, g_device, g_stream);
                });
                m = download(dm.as<double>(), rm.size());
                v = download(dv.as<double>(), rv.size());
                // Exact integer sums and the same final formula: bit-identical to the reference.
                expect(same_bits(m, rm) && same_bits(v, rv),
                       what + fmt(" (rep %d): mean[0] %.17g ref %.17g var[0] %.17g ref %.17g", rep, m[0],
                                  rm[0], v[0], rv[0]));
            }
        }
    }
}

/** Expected blob value, float formula of the CPU path: (float(p) - float(mean)) * float(factor). */
float expected_blob_value(uint8_t p, double mean, double var, double scale, double eps) {
    const float shift = static_cast<float>(mean);
    const float factor = static_cast<float>(scale / std::sqrt(var * scale * scale + eps));
    return (static_cast<float>(p) - shift) * factor;
}

void check_images_to_blob(const HostImages& hi, const Conversion& cv, int scope, bool swap,
                          const std::string& label) {
    const ImgShape& s = hi.s;
    const Shape bs{s.n, s.cn, s.h, s.w};
    DeviceMem dm(cv.mean.size() * sizeof(double)), dv(cv.var.size() * sizeof(double));
    upload(dm.as<double>(), cv.mean);
    upload(dv.as<double>(), cv.var);
    for (const ImgLayout& il : kImgLayouts) {
        DeviceImages d = make_images(s, il.kind);
        upload_images(d, hi);
        for (int blob_kind : {0, 2, 3}) {
            const std::string what = fmt("images_to_blob %s %s %s scope=%d swap=%d images=%s blob=%s",
                                         label.c_str(), cv.name, str(s).c_str(), scope, swap, il.name,
                                         kBlobLayouts[blob_kind].name);
            DeviceBlob out = make_blob(bs, blob_kind);
            call(what, [&] {
                cu::images_to_blob(d.batch(), s.n, s.h, s.w, s.cn, swap, scope, dm.as<double>(),
                                   dv.as<double>(), cv.scale, cv.eps, out.base(), out.step, g_stream);
            });
            bool pad_ok = false;
            HostBlob got = download_blob(out, &pad_ok);
            expect(pad_ok, what + ": row padding overwritten");
            bool ok = true;
            for (int i = 0; i < s.n && ok; ++i) {
                for (int k = 0; k < s.cn && ok; ++k) {
                    const int j = partner(k, s.cn, swap);
                    const size_t idx = (scope == SN_SCOPE_SAMPLE ? static_cast<size_t>(i) * s.cn : 0) + j;
                    const double sd = std::sqrt(cv.var[idx] * cv.scale * cv.scale + cv.eps);
                    for (int64_t y = 0; y < s.h && ok; ++y) {
                        for (int64_t x = 0; x < s.w; ++x) {
                            const uint8_t p = hi.at(i, y, x, j);
                            const float g = got.at(static_cast<int64_t>(i) * s.cn + k, y * s.w + x);
                            const double ref = (p - cv.mean[idx]) * cv.scale / sd;
                            const double tol = 1e-6 * (std::fabs(ref) + (p + std::fabs(cv.mean[idx])) *
                                                                            std::fabs(cv.scale / sd));
                            const float bitwise = expected_blob_value(p, cv.mean[idx], cv.var[idx], cv.scale, cv.eps);
                            if (!(std::fabs(g - ref) <= tol) || std::memcmp(&g, &bitwise, sizeof g) != 0) {
                                expect(false, fmt("%s: image %d ch %d (%" PRId64 ",%" PRId64 ") p=%d got %.9g ref %.9g float-formula %.9g",
                                                  what.c_str(), i, k, y, x, p, g, ref, bitwise));
                                ok = false;
                                break;
                            }
                        }
                    }
                }
            }
            if (ok) expect(true, what);
        }
    }
}

/** Expected byte, float formula of the CPU path: x * float(sd / scale) + float(mean), saturated. */
uint8_t expected_pixel(float x, double mean, double var, double scale, double eps) {
    const float shift = static_cast<float>(mean);
    const float factor = static_cast<float>(std::sqrt(var * scale * scale + eps) / scale);
    volatile float prod = x * factor;  // no contraction into an FMA
    float v = prod + shift;
    v = v > 0.f ? v : 0.f;
    v = v < 255.f ? v : 255.f;
    return static_cast<uint8_t>(std::nearbyint(v));  // default rounding mode: ties to even
}

void check_blob_to_images(const HostBlob& hb, const Conversion& cv, int scope, bool swap,
                          const std::string& label) {
    const Shape& s = hb.s;
    const ImgShape is{s.n, s.h, s.w, s.c};
    DeviceMem dm(cv.mean.size() * sizeof(double)), dv(cv.var.size() * sizeof(double));
    upload(dm.as<double>(), cv.mean);
    upload(dv.as<double>(), cv.var);
    for (int blob_kind : {0, 1, 3}) {
        DeviceBlob in = make_blob(s, blob_kind);
        upload_blob(in, hb);
        for (const ImgLayout& il : kImgLayouts) {
            const std::string what = fmt("blob_to_images %s %s %s scope=%d swap=%d blob=%s images=%s",
                                         label.c_str(), cv.name, str(s).c_str(), scope, swap,
                                         kBlobLayouts[blob_kind].name, il.name);
            DeviceImages out = make_images(is, il.kind);
            call(what, [&] {
                cu::blob_to_images(in.base(), in.step, s.n, s.c, s.h, s.w, swap, scope, dm.as<double>(),
                                   dv.as<double>(), cv.scale, cv.eps, out.mutable_batch(), g_stream);
            });
            bool pad_ok = false;
            HostImages got = download_images(out, &pad_ok);
            expect(pad_ok, what + ": bytes outside the pixels overwritten");
            bool ok = true;
            for (int i = 0; i < s.n && ok; ++i) {
                for (int j = 0; j < s.c && ok; ++j) {
                    const int k = partner(j, s.c, swap);  // blob channel feeding image channel j
                    const size_t idx = (scope == SN_SCOPE_SAMPLE ? static_cast<size_t>(i) * s.c : 0) + j;
                    const double sd = std::sqrt(cv.var[idx] * cv.scale * cv.scale + cv.eps);
                    for (int64_t y = 0; y < s.h && ok; ++y) {
                        for (int64_t x = 0; x < s.w; ++x) {
                            const float xv = hb.at(static_cast<int64_t>(i) * s.c + k, y * s.w + x);
                            const uint8_t g = got.at(i, y, x, j);
                            const uint8_t bitwise = expected_pixel(xv, cv.mean[idx], cv.var[idx], cv.scale, cv.eps);
                            // Independent double reference: exact unless within 1e-3 of a tie.
                            double ref = static_cast<double>(xv) * sd / cv.scale + cv.mean[idx];
                            bool near_tie = false;
                            if (std::isnan(ref)) {
                                ref = 0;
                            } else {
                                ref = std::min(255.0, std::max(0.0, ref));
                                near_tie = std::fabs(ref - std::floor(ref) - 0.5) < 1e-3;
                                ref = std::nearbyint(ref);
                            }
                            const bool ref_ok = near_tie ? std::fabs(g - ref) <= 1 : g == ref;
                            if (g != bitwise || !ref_ok) {
                                expect(false, fmt("%s: image %d ch %d (%" PRId64 ",%" PRId64 ") x=%.9g got %d float-formula %d ref %.1f",
                                                  what.c_str(), i, j, y, x, xv, g, bitwise, ref));
                                ok = false;
                                break;
                            }
                        }
                    }
                }
            }
            if (ok) expect(true, what);
        }
    }
}

/** image -> blob -> image with the image's own statistics must give the image back. */
void check_round_trip(const HostImages& hi, int scope, bool swap) {
    const ImgShape& s = hi.s;
    const std::string what = fmt("round trip %s scope=%d swap=%d", str(s).c_str(), scope, swap);
    std::vector<double> rm, rv;
    ref_image_stats(hi, scope, &rm, &rv);
    DeviceImages src = make_images(s, 2), dst = make_images(s, 1);
    upload_images(src, hi);
    DeviceBlob blob = make_blob(Shape{s.n, s.cn, s.h, s.w}, 1);
    DeviceMem dm(rm.size() * sizeof(double)), dv(rv.size() * sizeof(double));
    const double scale = 1.0 / 255.0, eps = 1e-6;
    call(what, [&] {
        cu::image_stats(src.batch(), s.n, s.h, s.w, s.cn, scope, dm.as<double>(), dv.as<double>(), nullptr, 0,
                        g_device, g_stream);
        cu::images_to_blob(src.batch(), s.n, s.h, s.w, s.cn, swap, scope, dm.as<double>(), dv.as<double>(),
                           scale, eps, blob.base(), blob.step, g_stream);
        cu::blob_to_images(blob.base(), blob.step, s.n, s.cn, s.h, s.w, swap, scope, dm.as<double>(),
                           dv.as<double>(), scale, eps, dst.mutable_batch(), g_stream);
    });
    HostImages back = download_images(dst, nullptr);
    expect(back.v == hi.v, what);
}

/** NaN, infinities and out-of-range values saturate as documented. */
void check_saturation() {
    const Shape s{1, 3, 3, 5};
    HostBlob hb{s, std::vector<float>(static_cast<size_t>(3 * 3 * 5), 0.f)};
    const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(), 1e30f, -1e30f, 1.0f, -1.0f,
                              0.5f / 127.5f, 1.5f / 127.5f, -0.5f / 127.5f};
    for (size_t i = 0; i < hb.v.size(); ++i) hb.v[i] = specials[i % (sizeof specials / sizeof specials[0])];
    Conversion cv{"[-1,1]", {127.5, 127.5, 127.5}, {127.5 * 127.5, 127.5 * 127.5, 127.5 * 127.5}, 1.0 / 127.5, 0.0};
    check_blob_to_images(hb, cv, SN_SCOPE_BATCH, false, "specials");
    // Direct expectations, independent of any formula.
    DeviceBlob in = make_blob(s, 0);
    upload_blob(in, hb);
    DeviceMem dm(3 * sizeof(double)), dv(3 * sizeof(double));
    upload(dm.as<double>(), cv.mean);
    upload(dv.as<double>(), cv.var);
    DeviceImages out = make_images(ImgShape{1, 3, 5, 3}, 0);
    call("saturation", [&] {
        cu::blob_to_images(in.base(), in.step, 1, 3, 3, 5, false, SN_SCOPE_BATCH, dm.as<double>(), dv.as<double>(),
                           cv.scale, cv.eps, out.mutable_batch(), g_stream);
    });
    HostImages got = download_images(out, nullptr);
    // Blob element e (plane k, index i) -> byte of pixel i, channel k.
    const int want[] = {0, 255, 0, 255, 0, 255, 0, -1, -1, -1};
    bool ok = true;
    for (int k = 0; k < 3; ++k) {
        for (int i = 0; i < 15; ++i) {
            const int e = k * 15 + i;
            const int w = want[e % 10];
            if (w >= 0 && got.at(0, i / 5, i % 5, k) != w) ok = false;
        }
    }
    expect(ok, "saturation: NaN -> 0, +inf -> 255, -inf -> 0, out of range clamps");
}

// ---------------------------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------------------------

constexpr int kWarmup = 5;
constexpr int kRuns = 50;

struct Timing {
    double median_us, min_us, max_us;
};

Timing time_it(const std::function<void()>& fn) {
    cudaEvent_t start, stop;
    CK(cudaEventCreate(&start));
    CK(cudaEventCreate(&stop));
    for (int i = 0; i < kWarmup; ++i) fn();
    sync();
    std::vector<double> us;
    for (int i = 0; i < kRuns; ++i) {
        CK(cudaEventRecord(start, g_stream));
        fn();
        CK(cudaEventRecord(stop, g_stream));
        CK(cudaEventSynchronize(stop));
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, start, stop));
        us.push_back(ms * 1000.0);
    }
    CK(cudaEventDestroy(start));
    CK(cudaEventDestroy(stop));
    std::sort(us.begin(), us.end());
    return Timing{us[us.size() / 2], us.front(), us.back()};
}

struct BenchRow {
    std::string name;
    double bytes;
    Timing t;
};

void run_benchmarks() {
    std::vector<BenchRow> rows;
    // Copy bandwidth: 256 MiB device to device, read + write counted.
    const size_t copy_bytes = size_t(256) << 20;
    double copy_gbs = 0;
    {
        DeviceMem a(copy_bytes), b(copy_bytes);
        CK(cudaMemsetAsync(a.ptr, 1, copy_bytes, g_stream));
        Timing t = time_it([&] { CK(cudaMemcpyAsync(b.ptr, a.ptr, copy_bytes, cudaMemcpyDeviceToDevice, g_stream)); });
        rows.push_back({"memcpy D2D 256 MiB", 2.0 * copy_bytes, t});
        copy_gbs = 2.0 * copy_bytes / (t.median_us * 1e3);
    }
    auto bench_blob = [&](const Shape& s) {
        HostBlob hb = random_blob(s, 99, 0.3, 1.0);
        DeviceBlob src = make_blob(s, 0), dst = make_blob(s, 0);
        upload_blob(src, hb);
        const double bytes = static_cast<double>(s.n) * s.c * s.h * s.w * sizeof(float);
        const int outputs = s.c;
        DeviceMem dm(outputs * sizeof(double)), dv(outputs * sizeof(double));
        // A caller-provided workspace, as the Java facade keeps one: no allocation in the loop.
        DeviceMem ws(std::max(cu::blob_stats_workspace(s.n, s.c, s.h, s.w, SN_SCOPE_BATCH),
                              cu::blob_normalize_workspace(s.n, s.c)));
        const std::string tag = str(s) + fmt(" (%.1f MiB)", bytes / (1 << 20));
        rows.push_back({"blob_stats batch " + tag, bytes, time_it([&] {
                            cu::blob_stats(src.base(), src.step, s.n, s.c, s.h, s.w, SN_SCOPE_BATCH,
                                           dm.as<double>(), dv.as<double>(), ws.ptr, ws.bytes, g_device, g_stream);
                        })});
        rows.push_back({"blob_normalize " + tag, 2 * bytes, time_it([&] {
                            cu::blob_normalize(src.base(), src.step, dst.base(), dst.step, s.n, s.c, s.h, s.w,
                                               SN_SCOPE_BATCH, dm.as<double>(), dv.as<double>(), nullptr,
                                               nullptr, 1e-5, ws.ptr, ws.bytes, g_device, g_stream);
                        })});
        rows.push_back({"blob_normalize in place " + tag, 2 * bytes, time_it([&] {
                            cu::blob_normalize(dst.base(), dst.step, dst.base(), dst.step, s.n, s.c, s.h, s.w,
                                               SN_SCOPE_BATCH, dm.as<double>(), dv.as<double>(), nullptr,
                                               nullptr, 1e-5, ws.ptr, ws.bytes, g_device, g_stream);
                        })});
    };
    bench_blob(Shape{16, 3, 256, 256});
    bench_blob(Shape{16, 4, 512, 512});  // 64 MiB
    bench_blob(Shape{64, 3, 512, 512});  // 192 MiB, 4096 chunks per channel: merged in two levels
    bench_blob(Shape{16, 512, 2, 2});    // tiny planes, many channels: one thread per plane
    bench_blob(Shape{16, 512, 16, 16});  // small planes: one warp per plane
    auto bench_images = [&](const ImgShape& s) {
        HostImages hi = random_images(s, 7);
        DeviceImages imgs = make_images(s, 1), back = make_images(s, 1);
        upload_images(imgs, hi);
        const Shape bs{s.n, s.cn, s.h, s.w};
        DeviceBlob blob = make_blob(bs, 0);
        DeviceMem dm(s.cn * sizeof(double)), dv(s.cn * sizeof(double));
        DeviceMem ws(cu::image_stats_workspace(s.n, s.h, s.w, s.cn, SN_SCOPE_BATCH));
        const double px = static_cast<double>(s.n) * s.h * s.w * s.cn;
        const std::string tag = str(s);
        rows.push_back({"image_stats batch " + tag, px, time_it([&] {
                            cu::image_stats(imgs.batch(), s.n, s.h, s.w, s.cn, SN_SCOPE_BATCH, dm.as<double>(),
                                            dv.as<double>(), ws.ptr, ws.bytes, g_device, g_stream);
                        })});
        rows.push_back({"images_to_blob " + tag, px * 5, time_it([&] {
                            cu::images_to_blob(imgs.batch(), s.n, s.h, s.w, s.cn, true, SN_SCOPE_BATCH,
                                               dm.as<double>(), dv.as<double>(), 1.0 / 255, 1e-5, blob.base(),
                                               blob.step, g_stream);
                        })});
        rows.push_back({"blob_to_images " + tag, px * 5, time_it([&] {
                            cu::blob_to_images(blob.base(), blob.step, s.n, s.cn, s.h, s.w, true, SN_SCOPE_BATCH,
                                               dm.as<double>(), dv.as<double>(), 1.0 / 255, 1e-5,
                                               back.mutable_batch(), g_stream);
                        })});
    };
    bench_images(ImgShape{16, 256, 256, 3});
    bench_images(ImgShape{64, 512, 512, 3});
    bench_images(ImgShape{64, 512, 512, 4});

    std::printf("\n%-52s %12s %10s %10s %10s %9s %8s\n", "kernel", "bytes", "median us", "min us", "max us",
                "GB/s", "% copy");
    for (const BenchRow& r : rows) {
        const double gbs = r.bytes / (r.t.median_us * 1e3);
        std::printf("%-52s %12.0f %10.1f %10.1f %10.1f %9.1f %7.1f%%\n", r.name.c_str(), r.bytes, r.t.median_us,
                    r.t.min_us, r.t.max_us, gbs, 100.0 * gbs / copy_gbs);
    }
    std::printf("(bytes = bytes read + bytes written; %d warm-up runs, then %d timed runs each)\n", kWarmup, kRuns);
}

// ---------------------------------------------------------------------------------------------

void run_checks() {
    // Blob statistics and normalization over shapes: N 1/4/16, C 1/3/64, odd widths, 1x1.
    const Shape blob_shapes[] = {{1, 1, 1, 1},   {4, 3, 1, 1},     {16, 64, 1, 1},  {1, 3, 255, 257},
                                 {4, 3, 255, 257}, {4, 64, 17, 13}, {16, 3, 64, 64}, {16, 1, 3, 1030},
                                 {1, 1, 1, 4099}, {4, 1, 4099, 1},
                                 // Tiny planes, many channels (thread and warp per plane).
                                 {16, 512, 2, 2}, {8, 256, 4, 4}, {2, 1024, 1, 3}, {16, 512, 5, 5},
                                 {4, 128, 32, 32}, {2, 4, 33, 33},
                                 // A channel of more than 1024 chunks: two merge levels.
                                 {5, 1, 1024, 1000}};
    uint64_t seed = 1;
    for (const Shape& s : blob_shapes) {
        HostBlob hb = random_blob(s, seed++, 0.25, 2.0);
        check_blob_stats(hb, "random");
        check_blob_normalize(hb, "random", seed++);
    }
    // Constant data: variance exactly 0.
    {
        HostBlob hb{Shape{2, 3, 31, 33}, std::vector<float>(2 * 3 * 31 * 33, 7.25f)};
        for (int scope : {SN_SCOPE_BATCH, SN_SCOPE_SAMPLE}) {
            DeviceBlob d = make_blob(hb.s, 0);
            upload_blob(d, hb);
            std::vector<double> m, v;
            gpu_blob_stats(d, scope, &m, &v);
            bool ok = true;
            for (size_t i = 0; i < m.size(); ++i) ok = ok && m[i] == 7.25 && v[i] == 0.0;
            expect(ok, fmt("blob_stats constant data scope=%d: mean 7.25, var 0", scope));
        }
    }
    // Large common offset, >= 1e7 elements: 1000 +- 0.01.
    {
        HostBlob big = random_blob(Shape{4, 3, 1000, 1000}, 4242, 1000.0, 0.01);
        check_blob_stats(big, "offset1000");
        HostBlob big1 = random_blob(Shape{1, 1, 3163, 3163}, 4243, 1000.0, 0.01);
        check_blob_stats(big1, "offset1000");
        HostBlob mid = random_blob(Shape{2, 3, 300, 301}, 4244, 1000.0, 0.01);
        check_blob_normalize(mid, "offset1000", 77);
    }
    // Images.
    const ImgShape img_shapes[] = {{1, 1, 1, 1},     {1, 1, 1, 3},     {4, 1, 1, 4},     {1, 255, 257, 1},
                                   {1, 255, 257, 3}, {4, 255, 257, 4}, {16, 32, 33, 3},  {16, 64, 64, 1},
                                   {4, 3, 1030, 3},  {2, 1031, 5, 4}};
    for (const ImgShape& s : img_shapes) {
        HostImages hi = random_images(s, seed++);
        check_image_stats(hi, "random");
        for (int scope : {SN_SCOPE_BATCH, SN_SCOPE_SAMPLE}) {
            Conversion stats{"image-stats", {}, {}, 1.0 / 255.0, 1e-5};
            ref_image_stats(hi, scope, &stats.mean, &stats.var);
            const int values = scope == SN_SCOPE_SAMPLE ? s.n * s.cn : s.cn;
            Conversion fixed{"[-1,1]", std::vector<double>(values, 127.5),
                             std::vector<double>(values, 127.5 * 127.5), 1.0 / 127.5, 0.0};
            for (bool swap : {false, true}) {
                if (swap && s.cn == 1) continue;
                check_images_to_blob(hi, stats, scope, swap, "random");
                check_images_to_blob(hi, fixed, scope, swap, "random");
                HostBlob hb = random_blob(Shape{s.n, s.cn, s.h, s.w}, seed++, 0.0, 1.3);
                check_blob_to_images(hb, stats, scope, swap, "random");
                check_blob_to_images(hb, fixed, scope, swap, "random");
                check_round_trip(hi, scope, swap);
            }
        }
    }
    // Largest batch the API allows.
    {
        HostImages hi = random_images(ImgShape{SN_CUDA_MAX_IMAGES, 3, 5, 3}, 555);
        check_image_stats(hi, "max-batch");
        check_round_trip(hi, SN_SCOPE_SAMPLE, true);
    }
    check_saturation();
}

}  // namespace

int main(int argc, char** argv) {
    bool bench = true, checks = true;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--no-bench") == 0) bench = false;
        else if (std::strcmp(argv[i], "--bench-only") == 0) checks = false;
        else {
            std::fprintf(stderr, "usage: %s [--no-bench | --bench-only]\n", argv[0]);
            return 2;
        }
    }
    std::string why;
    const int devices = cu::device_count(&why);
    std::printf("samplenorm kernel check: CUDA runtime %s, %d usable device(s)%s%s\n", cu::runtime_version().c_str(),
                devices, devices == 0 ? ": " : "", devices == 0 ? why.c_str() : "");
    if (devices == 0) return 2;
    int dev = 0, driver = 0;
    CK(cudaGetDevice(&dev));
    g_device = dev;
    CK(cudaDriverGetVersion(&driver));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, dev));
    std::printf("device %d: %s, sm_%d%d, %d SMs, %.1f GiB, driver %d.%d\n", dev, prop.name, prop.major, prop.minor,
                prop.multiProcessorCount, prop.totalGlobalMem / 1073741824.0, driver / 1000, driver % 1000 / 10);
    CK(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));

    if (checks) {
        run_checks();
        std::printf("\ncorrectness: %d checks, %d failed; worst relative error: stats mean %.3g, var %.3g "
                    "(limit %.0e), normalize %.3g\n",
                    g_checks, g_failures, g_worst_mean_err, g_worst_var_err, kStatsTol, g_worst_norm_err);
    }
    if (bench) run_benchmarks();
    CK(cudaStreamDestroy(g_stream));
    if (g_failures > 0) {
        std::printf("\nRESULT: FAILED (%d of %d checks)\n", g_failures, g_checks);
        return 1;
    }
    std::printf("\nRESULT: OK\n");
    return 0;
}
