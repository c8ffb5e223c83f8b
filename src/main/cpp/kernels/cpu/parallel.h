// A small deterministic parallel loop on a persistent worker pool: work items are split into
// contiguous ranges, one per thread. Callers write results per item, so the outcome never
// depends on the thread count.
#ifndef SAMPLENORM_KERNELS_CPU_PARALLEL_H
#define SAMPLENORM_KERNELS_CPU_PARALLEL_H

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
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
 * Worker threads started once and kept: starting threads per call costs tens of microseconds,
 * as much as a whole kernel on a small batch. One job at a time; a caller that finds the pool
 * busy (another Java thread is using it) runs its work on its own thread instead of waiting.
 * Never destroyed: the workers end with the process.
 */
class WorkerPool {
   public:
    static WorkerPool& instance() {
        static WorkerPool* pool = new WorkerPool(max_threads() - 1);
        return *pool;
    }

    int workers() const { return static_cast<int>(threads_.size()); }

    /** Runs job(t) for t in [0, n) with t = 0 on the caller; false (nothing run) if the pool is busy. */
    template <typename Job>
    bool run(int n, Job& job) {
        std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
        if (!busy.owns_lock()) return false;
        std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
        auto call = [&](int t) {
            try {
                job(t);
            } catch (...) {
                errors[static_cast<size_t>(t)] = std::current_exception();
            }
        };
        {
            std::lock_guard<std::mutex> lock(mutex_);
            task_ = call;
            active_ = n;
            pending_ = n - 1;
            ++generation_;
        }
        wake_.notify_all();
        call(0);
        {
            std::unique_lock<std::mutex> lock(mutex_);
            done_.wait(lock, [&] { return pending_ == 0; });
            task_ = nullptr;
        }
        for (auto& e : errors) {
            if (e) std::rethrow_exception(e);
        }
        return true;
    }

   private:
    explicit WorkerPool(int workers) {
        for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { loop(i + 1); });
        for (auto& t : threads_) t.detach();
    }

    void loop(int id) {
        uint64_t seen = 0;
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return generation_ != seen; });
            seen = generation_;
            if (id >= active_) continue;
            std::function<void(int)> task = task_;
            lock.unlock();
            task(id);
            lock.lock();
            if (--pending_ == 0) done_.notify_one();
        }
    }

    std::vector<std::thread> threads_;
    std::mutex busy_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::function<void(int)> task_;
    uint64_t generation_ = 0;
    int active_ = 0;
    int pending_ = 0;
};

/**
 * Calls fn(begin, end) over [0, items) split into contiguous ranges across threads.
 * `cost_per_item` (bytes touched, roughly) keeps small problems on the calling thread, where
 * waking workers would cost more than it saves.
 */
template <typename Fn>
void parallel_for(int64_t items, double cost_per_item, Fn fn) {
    // Waking a sleeping worker costs tens of microseconds on a loaded machine, as long as
    // streaming about 2 MB: below that per thread, the calling thread works alone.
    constexpr double kMinCostPerThread = 2.0 * 1024.0 * 1024.0;
    int64_t by_cost = static_cast<int64_t>(items * cost_per_item / kMinCostPerThread);
    int64_t threads = std::min<int64_t>({static_cast<int64_t>(max_threads()), items, std::max<int64_t>(by_cost, 1)});
    if (threads > 1) {
        auto job = [&](int t) {
            int64_t begin = items * t / threads;
            int64_t end = items * (t + 1) / threads;
            if (begin < end) fn(begin, end);
        };
        if (WorkerPool::instance().run(static_cast<int>(threads), job)) return;
    }
    if (items > 0) fn(int64_t{0}, items);
}

}  // namespace cpu
}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_CPU_PARALLEL_H
