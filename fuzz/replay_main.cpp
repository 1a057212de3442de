// Replays fuzz corpora as a normal test: runs LLVMFuzzerTestOneInput on every file under the
// directories (or files) given as arguments. Exit 0 when all ran (a crash fails the test),
// 1 when a path is missing or a corpus directory is empty (an empty corpus proves nothing).
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

static bool read_all(const std::string& path, std::vector<uint8_t>& out) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    out.clear();
    uint8_t buffer[65536];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0)
        out.insert(out.end(), buffer, buffer + n);
    std::fclose(f);
    return true;
}

static void collect(const std::string& path, std::vector<std::string>& files) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return;
    if (S_ISREG(st.st_mode)) {
        files.push_back(path);
        return;
    }
    if (!S_ISDIR(st.st_mode)) return;
    DIR* dir = opendir(path.c_str());
    if (!dir) return;
    while (dirent* e = readdir(dir)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        collect(path + "/" + name, files);
    }
    closedir(dir);
}

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    size_t total = 0;
    for (int i = 1; i < argc; i++) {
        std::vector<std::string> files;
        collect(argv[i], files);
        if (files.empty()) {
            std::fprintf(stderr, "replay: no corpus files under %s\n", argv[i]);
            return 1;
        }
        std::vector<uint8_t> data;
        for (const auto& f : files) {
            if (!read_all(f, data)) {
                std::fprintf(stderr, "replay: cannot read %s\n", f.c_str());
                return 1;
            }
            LLVMFuzzerTestOneInput(data.data(), data.size());
            total++;
        }
    }
    std::printf("replay: ran %zu inputs\n", total);
    return 0;
}
