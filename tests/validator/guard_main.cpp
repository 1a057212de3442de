// The guard as its own program for the integration tests (the lead wires `enginemux validator`
// to the same validator_main).
#include "validator/cli.h"

int main(int argc, char** argv) {
    return em::validator::validator_main(argc, argv);
}
