// enginemux entry point (grows into the daemon and its subcommands).
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
        std::printf("enginemux %s\n", EM_VERSION);
        return 0;
    }
    std::fprintf(stderr, "enginemux: not implemented yet\n");
    return 2;
}
