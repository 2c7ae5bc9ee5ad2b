#include "harness/git/repo.h"

#include <system_error>

namespace rlvr {

std::optional<std::filesystem::path> FindRepoRoot(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path current = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  if (ec) return std::nullopt;
  while (true) {
    if (fs::exists(current / ".git", ec)) return current;
    fs::path parent = current.parent_path();
    if (parent == current || parent.empty()) return std::nullopt;
    current = parent;
  }
}

}  // namespace rlvr
