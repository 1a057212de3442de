// The guard as its own program for the integration tests (`enginemux validator` and
// `enginemux validator-run` run the same validator_main and supervisor_main): the guard spawns
// this same binary as the validator's supervisor.
#include <string_view>

#include "validator/cli.h"
#include "validator/supervisor.h"

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "validator-run") {
        return em::validator::supervisor_main(argc - 1, argv + 1);
    }
    return em::validator::validator_main(argc, argv);
}
