// Helpers for the code that calls libgit2 directly (worktrees, promotion, recovery): owning
// handles that free a libgit2 object when they go out of scope, and a check that turns a libgit2
// error code into a GitError carrying libgit2's own message.
#pragma once

#include <git2.h>

#include <filesystem>
#include <memory>
#include <string>

#include "harness/git/worktree.h"  // GitError, InitLibgit2

namespace rlvr {

template <typename T, void (*Free)(T*)>
struct GitFree {
  void operator()(T* p) const {
    if (p) Free(p);
  }
};

// E.g. GitOwned<git_commit, git_commit_free>.
template <typename T, void (*Free)(T*)>
using GitOwned = std::unique_ptr<T, GitFree<T, Free>>;

// Throws GitError("<what>: <libgit2's last error>") when `code` < 0.
void CheckGit(int code, const std::string& what);

using GitRepository = GitOwned<git_repository, git_repository_free>;
using GitTree = GitOwned<git_tree, git_tree_free>;

// The repository at `root` (libgit2 initialised first). Throws GitError.
GitRepository OpenGitRepository(const std::filesystem::path& root);

// The tree of commit `sha` (40 hex digits). Throws GitError.
GitTree TreeOfCommitSha(git_repository* repo, const std::string& sha);

}  // namespace rlvr
