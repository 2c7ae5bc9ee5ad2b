// Finding the git repository a command runs in: the nearest ancestor directory holding `.git`.
#pragma once

#include <filesystem>
#include <optional>

namespace rlvr {

// The root of the git working tree containing `dir` (walking up from it), or nullopt when `dir`
// is not inside one. `.git` may be a directory or a file (worktrees, submodules).
std::optional<std::filesystem::path> FindRepoRoot(const std::filesystem::path& dir);

}  // namespace rlvr
