#include "base/result.h"

#include <cstdio>
#include <cstring>

namespace em {

const char* errc_name(Errc c) {
    switch (c) {
        case Errc::ok:
            return "ok";
        case Errc::invalid_input:
            return "invalid_input";
        case Errc::too_large:
            return "too_large";
        case Errc::unsupported:
            return "unsupported";
        case Errc::not_found:
            return "not_found";
        case Errc::io:
            return "io";
        case Errc::timeout:
            return "timeout";
        case Errc::closed:
            return "closed";
        case Errc::unauthorized:
            return "unauthorized";
        case Errc::busy:
            return "busy";
        case Errc::internal:
            return "internal";
    }
    return "unknown";
}

void Error::set(std::string_view message) {
    size_t n = message.size() < message_bytes_max ? message.size() : message_bytes_max;
    std::memcpy(message_, message.data(), n);
    message_[n] = 0;
    length_ = static_cast<uint8_t>(n);
}

static Error vformat(Errc code, const char* format, va_list args) {
    char buffer[Error::message_bytes_max + 1];
    int n = std::vsnprintf(buffer, sizeof buffer, format, args);
    if (n < 0) n = 0;
    size_t len =
        static_cast<size_t>(n) < sizeof buffer ? static_cast<size_t>(n) : sizeof buffer - 1;
    return Error(code, std::string_view(buffer, len));
}

Error Error::fmt(Errc code, const char* format, ...) {
    va_list args;
    va_start(args, format);
    Error e = vformat(code, format, args);
    va_end(args);
    return e;
}

Unexpected failf(Errc code, const char* format, ...) {
    va_list args;
    va_start(args, format);
    Error e = vformat(code, format, args);
    va_end(args);
    return Unexpected(std::move(e));
}

Error Error::sys(int errno_value, std::string_view what) {
    char buffer[message_bytes_max + 1];
    int n = std::snprintf(buffer, sizeof buffer, "%.*s: %s", static_cast<int>(what.size()),
                          what.data(), std::strerror(errno_value));
    size_t len = n < 0 ? 0 : (static_cast<size_t>(n) < sizeof buffer ? n : sizeof buffer - 1);
    Error e(Errc::io, std::string_view(buffer, len));
    e.errno_ = errno_value;
    return e;
}

Error& Error::prefix(std::string_view context) {
    char buffer[message_bytes_max + 1];
    int n = std::snprintf(buffer, sizeof buffer, "%.*s: %s", static_cast<int>(context.size()),
                          context.data(), message_);
    size_t len = n < 0 ? 0 : (static_cast<size_t>(n) < sizeof buffer ? n : sizeof buffer - 1);
    set(std::string_view(buffer, len));
    return *this;
}

}  // namespace em
