// For test mains that need io_uring: runs the GoogleTest suite, or exits 77 (meson SKIP) naming
// what is missing when the kernel or sandbox lacks io_uring or the features enginemux needs.
// tests/io/uring_main.cpp is the main() that does only this; mains with more preconditions of
// their own check those first and then return run_io_uring_tests(argc, argv).
#pragma once

#include <gtest/gtest.h>

#include <cstdio>

#include "io/loop.h"

namespace em::test {

inline int run_io_uring_tests(int argc, char** argv) {
    auto features = em::io::Loop::probe();
    if (!features) {
        std::fprintf(stderr, "SKIP: %s\n", features.error().c_str());
        return 77;
    }
    if (!features->buffer_ring) {
        std::fprintf(stderr, "SKIP: kernel lacks io_uring provided-buffer rings (Linux >= 6.1)\n");
        return 77;
    }
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}

}  // namespace em::test
