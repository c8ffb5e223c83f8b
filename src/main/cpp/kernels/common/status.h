// The library's internal error: a status code (SN_* in samplenorm.h) and a message. Kernels and
// launchers throw it; the API layer (api/samplenorm.cpp) catches it at every entry point, stores
// the message for last_error_message() and returns the code, so nothing crosses the C boundary.
#ifndef SAMPLENORM_KERNELS_COMMON_STATUS_H
#define SAMPLENORM_KERNELS_COMMON_STATUS_H

#include <exception>
#include <string>
#include <utility>

namespace samplenorm {

class Error : public std::exception {
public:
    Error(int status, std::string message) : status_(status), message_(std::move(message)) {}
    int status() const noexcept { return status_; }
    const char* what() const noexcept override { return message_.c_str(); }

private:
    int status_;
    std::string message_;
};

[[noreturn]] inline void raise(int status, const std::string& message) {
    throw Error(status, "samplenorm: " + message);
}

}  // namespace samplenorm

#endif  // SAMPLENORM_KERNELS_COMMON_STATUS_H
