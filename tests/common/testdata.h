// Access to ../shared/testdata from tests (path from $EM_TESTDATA, set by meson).
// Executables that use it link testdata_main, which exits 77 (skip) when the folder is missing.
#pragma once

#include <string>

namespace em::test {

/// Absolute path of the testdata folder ("" when unknown).
std::string testdata_dir();
/// testdata_dir() + "/" + relative.
std::string testdata_path(const std::string& relative);
/// Whole file as a string; fails the current test (ADD_FAILURE) and returns "" if unreadable.
std::string read_file(const std::string& path);

}  // namespace em::test
