// Per-thread nice values. Linux keeps the nice value per thread (setpriority(PRIO_PROCESS, tid)
// with tid = gettid()), which POSIX does not promise: elsewhere these functions return ENOSYS
// rather than change the priority of the whole process.
#include "samplenorm/samplenorm.h"

#include <cerrno>
#include <cstdint>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define SN_EXPORT __attribute__((visibility("default")))

namespace samplenorm {

SN_EXPORT int64_t current_thread_id() {
#ifdef __linux__
    return static_cast<int64_t>(syscall(SYS_gettid));
#else
    return -1;
#endif
}

SN_EXPORT int set_thread_nice(int nice) {
    if (nice < 0 || nice > 19) return EINVAL;
#ifdef __linux__
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice) != 0) return errno;
    return 0;
#else
    return ENOSYS;
#endif
}

SN_EXPORT int thread_nice(int64_t tid, int* nice) {
    if (nice == nullptr || tid < 0) return EINVAL;
#ifdef __linux__
    // Kernel thread ids are pid_t values: a larger id names no thread (rather than one it truncates to).
    if (tid > static_cast<int64_t>(INT32_MAX)) return ESRCH;
    id_t who = static_cast<id_t>(tid == 0 ? syscall(SYS_gettid) : tid);
    // Signal 0 only checks that the thread belongs to this process (ESRCH otherwise).
    if (tid != 0 && syscall(SYS_tgkill, getpid(), static_cast<pid_t>(tid), 0) != 0) return errno;
    errno = 0;  // getpriority returns -1 both for nice -1 and for an error
    int value = getpriority(PRIO_PROCESS, who);
    if (value == -1 && errno != 0) return errno;
    *nice = value;
    return 0;
#else
    return ENOSYS;
#endif
}

}  // namespace samplenorm
