// EM_TEST_SANITIZED is 1 in a build with AddressSanitizer (gcc or clang): tests that measure
// memory skip there, since the sanitizer's shadow memory and quarantine are what they would see.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define EM_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EM_TEST_SANITIZED 1
#endif
#endif
