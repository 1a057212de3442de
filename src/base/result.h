// Result<T> and Error: how every fallible function in enginemux reports failure.
//
// Any thread. An Error is a value (no allocation): a code plus a short message that names what
// was wrong ("params[0].transactions[3]: odd number of hex digits"). Bad input from peers, files
// and users is an operating error returned as Result; programmer errors are EM_ASSERTs.
// We use tl::expected (Debian libexpected-dev) because clang 14, which builds the fuzzers,
// has no std::expected. Result is [[nodiscard]]: ignoring one does not compile.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <tl/expected.hpp>

namespace em {

/// What kind of failure; callers branch on this, users read the message.
enum class Errc : uint8_t {
    ok = 0,
    invalid_input,  ///< malformed bytes from a peer, file or user
    too_large,      ///< a configured limit was exceeded
    unsupported,    ///< valid but not something we handle
    not_found,      ///< a named thing does not exist
    io,             ///< a syscall failed; sys_errno() holds errno
    timeout,        ///< a deadline passed
    closed,         ///< the peer closed the connection
    unauthorized,   ///< authentication failed
    busy,           ///< a bounded resource is full
    internal,       ///< a bug or an impossible state reported rather than crashed on
};

/// Name of an Errc, e.g. "invalid_input".
const char* errc_name(Errc c);

/// An error value: code, optional errno and a bounded message (truncated, never allocated).
class [[nodiscard]] Error {
  public:
    static constexpr size_t message_bytes_max = 118;

    Error() = default;
    Error(Errc code, std::string_view message) : code_(code) { set(message); }

    /// printf-style constructor: Error::fmt(Errc::invalid_input, "field %s: %s", a, b).
    [[gnu::format(printf, 2, 3)]] static Error fmt(Errc code, const char* format, ...);
    /// An Errc::io error from a syscall's errno (positive), message "what: strerror".
    static Error sys(int errno_value, std::string_view what);

    Errc code() const { return code_; }
    int sys_errno() const { return errno_; }
    std::string_view message() const { return {message_, length_}; }
    const char* c_str() const { return message_; }

    /// Prefixes the message with "context: " (e.g. a field path), truncating at the end.
    Error& prefix(std::string_view context);

  private:
    void set(std::string_view message);

    Errc code_ = Errc::ok;
    uint8_t length_ = 0;
    int errno_ = 0;
    char message_[message_bytes_max + 1] = {};
};

/// A T or the Error that prevented it: tl::expected<T, Error> (every member of it), made
/// [[nodiscard]] as a type, so every function returning one is, lambdas included, and the
/// build's -Werror=unused-result turns a Result dropped on the floor into a compile error.
/// Where ignoring one is right, cast it to (void) with a comment saying why.
template <typename T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
  public:
    using tl::expected<T, Error>::expected;
};

using Unexpected = tl::unexpected<Error>;

/// Shorthand for returning an error from a Result-returning function.
inline Unexpected fail(Errc code, std::string_view message) {
    return Unexpected(Error(code, message));
}

[[gnu::format(printf, 2, 3)]] Unexpected failf(Errc code, const char* format, ...);

}  // namespace em

/// Propagates the error of a Result expression, else yields its value (GCC/Clang statement expr).
#define EM_TRY(expr)                                                                     \
    ({                                                                                   \
        auto em_try_result_ = (expr);                                                    \
        if (!em_try_result_) return ::em::Unexpected(std::move(em_try_result_.error())); \
        std::move(*em_try_result_);                                                      \
    })

/// Propagates the error of a Result<void> expression.
#define EM_TRY_VOID(expr)                                                                \
    do {                                                                                 \
        auto em_try_result_ = (expr);                                                    \
        if (!em_try_result_) return ::em::Unexpected(std::move(em_try_result_.error())); \
    } while (0)
