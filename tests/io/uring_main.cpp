// main() for tests that need io_uring: exit 77 (meson SKIP) naming what is missing when the
// kernel or sandbox lacks io_uring or the features enginemux needs.
#include "uring_skip.h"

int main(int argc, char** argv) {
    return em::test::run_io_uring_tests(argc, argv);
}
