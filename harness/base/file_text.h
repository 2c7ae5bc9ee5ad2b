// Reading a whole file into a string, byte for byte. For the callers that read files they expect
// to exist (sources in a worktree, a CMake cache, recorded replies): a file that cannot be read
// gives empty text, which each of them already treats as "nothing there".
#pragma once

#include <filesystem>
#include <string>

namespace rlvr {

std::string ReadFileText(const std::filesystem::path& path);

}  // namespace rlvr
