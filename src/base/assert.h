// EM_ASSERT: programmer-error checks that stay on in release builds (they guard safety).
//
// Any thread. A failed assertion prints file:line and the condition, then aborts. Never use it
// for input from peers, files or users: that is an operating error and returns an em::Error.
#pragma once

namespace em {
[[noreturn]] void assert_fail(const char* condition, const char* file, int line);
}  // namespace em

#define EM_ASSERT(cond)                                                                 \
    do {                                                                                \
        if (__builtin_expect(!(cond), 0)) ::em::assert_fail(#cond, __FILE__, __LINE__); \
    } while (0)

/// Only in debug builds: for checks too costly for the hot path.
#ifdef NDEBUG
#define EM_DEBUG_ASSERT(cond) ((void)0)
#else
#define EM_DEBUG_ASSERT(cond) EM_ASSERT(cond)
#endif
