// main() for tests that need io_uring: exit 77 (meson SKIP) naming what is missing when the
// kernel or sandbox lacks io_uring or the features enginemux needs.
#include <gtest/gtest.h>

#include <cstdio>

#include "io/loop.h"

int main(int argc, char** argv) {
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
