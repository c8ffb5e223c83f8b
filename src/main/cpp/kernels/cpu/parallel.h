// A small deterministic parallel loop: work items are split into contiguous ranges, one per
// thread. Callers write results per item, so the outcome never depends on the thread count.
#ifndef SAMPLENORM_KERNELS_CPU_PARALLEL_H
#define SAMPLENORM_KERNELS_CPU_PARALLEL_H

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <thread>
#include <vector>

namespace samplenorm {
namespace cpu {

/** Threads to use: SAMPLENORM_NUM_THREADS if set (>= 1), else the hardware concurrency. */
inline int max_threads() {
    static const int threads = [] {
        const char* env = std::getenv("SAMPLENORM_NUM_THREADS");
        if (env != nullptr) {
            int v = std::atoi(env);
            if (v >= 1) return v;
        }
        unsigned hc = std::thread::hardware_concurrency();
        return hc == 0 ? 1 : static_cast<int>(hc);
    }();
    return threads;
}

/**
 * Calls fn(begin, end) over [0, items) split across threads. `cost_per_item` (bytes touched,
 * roughly) keeps small problems on the calling thread, where a thread start would cost more
 * than it saves.
 */
template <typename Fn>
void parallel_for(int64_t items, double cost_per_item, Fn fn) {
    constexpr double kMinCostPerThread = 256.0 * 1024.0;
    int64_t by_cost = static_cast<int64_t>(items * cost_per_item / kMinCostPerThread);
    int64_t threads = std::min<int64_t>({static_cast<int64_t>(max_threads()), items, std::max<int64_t>(by_cost, 1)});
    if (threads <= 1) {
        if (items > 0) fn(int64_t{0}, items);
        return;
    }
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
    pool.reserve(static_cast<size_t>(threads - 1));
    auto run = [&](int64_t t) {
        int64_t begin = items * t / threads;
        int64_t end = items * (t + 1) / threads;
        try {
            fn(begin, end);
        } catch (...) {
            errors[static_cast<size_t>(t)] = std::current_exception();
        }
    };
    for (int64_t t = 1; t < threads; ++t) pool.emplace_back(run, t);
    run(0);
    for (auto& th : pool) th.join();
    for (auto& e : errors) {
        if (e) std::rethrow_exception(e);
    }
}

}  // namespace cpu
}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_CPU_PARALLEL_H
