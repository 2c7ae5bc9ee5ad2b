#include "harness/cli/commands.h"

#include "harness/git/repo.h"

namespace rlvr {

std::filesystem::path RepoRootOrFail(const std::string& command,
                                     const std::filesystem::path& directory) {
  std::optional<std::filesystem::path> root = FindRepoRoot(std::filesystem::absolute(directory));
  if (!root) {
    throw CLI::RuntimeError(
        "rlvr " + command + ": " + directory.string() + " is not inside a git repository", 2);
  }
  return *root;
}

std::unique_ptr<RunLock> LockRepositoryOrFail(const std::string& command,
                                              const std::filesystem::path& root) {
  try {
    return std::make_unique<RunLock>(root, "rlvr " + command);
  } catch (const RunLockError& e) {
    throw CLI::RuntimeError("rlvr " + command + ": " + e.what(), 2);
  }
}

}  // namespace rlvr
