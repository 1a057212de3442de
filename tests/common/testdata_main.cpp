// main() for tests that read ../shared/testdata: exit 77 (meson SKIP) with a reason when the
// folder is missing, as on a user's clone. Otherwise plain GoogleTest.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/testdata.h"

namespace em::test {

std::string testdata_dir() {
    const char* dir = std::getenv("EM_TESTDATA");
    return dir ? dir : "";
}

std::string testdata_path(const std::string& relative) {
    return testdata_dir() + "/" + relative;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ADD_FAILURE() << "cannot read " << path;
        return "";
    }
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

}  // namespace em::test

int main(int argc, char** argv) {
    std::string dir = em::test::testdata_dir();
    struct stat st;
    if (dir.empty() || stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        std::fprintf(
            stderr,
            "SKIP: test data folder '%s' not found (it is ../shared/testdata in the team's "
            "checkout; set EM_TESTDATA or meson -Dtestdata=PATH)\n",
            dir.c_str());
        return 77;
    }
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
