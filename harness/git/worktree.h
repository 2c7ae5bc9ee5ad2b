// Scratch git worktrees for evaluating candidates: <state_dir>/worktrees/<name>, a linked
// worktree of the user's repository (like `git worktree add --detach`), made and reset with
// libgit2. The user's own working tree and branches are never touched. Also the git queries the
// evaluator needs: HEAD, file status, the .rlvr/ state directory.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace rlvr {

class GitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Initialises libgit2 once per process; code calling libgit2 directly calls this first.
void InitLibgit2();

// Sha (40 hex) of the commit HEAD points to. Throws GitError (e.g. no commits yet).
std::string HeadCommit(const std::filesystem::path& repo_root);

// Creates `state_dir` with a .gitignore holding "*", so git ignores everything under it.
void EnsureStateDir(const std::filesystem::path& state_dir);

// Makes <state_dir>/worktrees/<name> a worktree of `repo_root` detached at `commit`, exactly as
// that commit's tree: tracked files reset, untracked and ignored files removed. Creates it on
// first use (registered in the repository as "rlvr-<name>"); reuses it after, so unchanged files
// keep their timestamps and builds stay incremental. Returns its path.
// Precondition: the caller holds the repository's RunLock; a lock file libgit2 left in the
// worktree's git directory (a process killed mid-reset) is then stale and is removed.
std::filesystem::path PrepareWorktree(const std::filesystem::path& repo_root,
                                      const std::filesystem::path& state_dir,
                                      const std::string& name, const std::string& commit);

// Repository-relative paths among `paths` that differ in the working tree or index from HEAD
// (modified, staged, deleted, or untracked-but-present). Empty = all clean.
std::vector<std::string> DirtyPaths(const std::filesystem::path& repo_root,
                                    const std::vector<std::string>& paths);

}  // namespace rlvr
