#include "harness/git/worktree.h"

#include <fstream>
#include <memory>
#include <system_error>

#include <fmt/format.h>
#include <git2.h>

#include "harness/git/handle.h"

namespace rlvr {

void InitLibgit2() {
  static const int once = git_libgit2_init();
  (void)once;
}

namespace {

namespace fs = std::filesystem;

[[noreturn]] void ThrowGit(const std::string& what) {
  const git_error* error = git_error_last();
  throw GitError(fmt::format("{}: {}", what, error && error->message ? error->message : "unknown"));
}

using RepoPtr = std::unique_ptr<git_repository, GitFree<git_repository, git_repository_free>>;
using WorktreePtr = std::unique_ptr<git_worktree, GitFree<git_worktree, git_worktree_free>>;
using ObjectPtr = std::unique_ptr<git_object, GitFree<git_object, git_object_free>>;
using ReferencePtr = std::unique_ptr<git_reference, GitFree<git_reference, git_reference_free>>;

RepoPtr Open(const fs::path& path) {
  InitLibgit2();
  git_repository* repo = nullptr;
  CheckGit(git_repository_open(&repo, path.c_str()), "cannot open git repository " + path.string());
  return RepoPtr(repo);
}

// Opens the existing worktree at `path` if it belongs to `main`; nullptr otherwise.
RepoPtr OpenExistingWorktree(git_repository* main, const fs::path& path) {
  if (!fs::is_regular_file(path / ".git")) return nullptr;
  git_repository* repo = nullptr;
  if (git_repository_open(&repo, path.c_str()) < 0) return nullptr;
  RepoPtr owned(repo);
  if (!git_repository_is_worktree(repo)) return nullptr;
  std::error_code ec;
  if (!fs::equivalent(git_repository_commondir(repo), git_repository_commondir(main), ec))
    return nullptr;
  return owned;
}

RepoPtr CreateWorktree(git_repository* main, const fs::path& path, const std::string& name) {
  std::string registered = "rlvr-" + name;
  // A stale registration (its directory deleted by hand) would block the add: prune it.
  git_worktree* stale = nullptr;
  if (git_worktree_lookup(&stale, main, registered.c_str()) == 0) {
    WorktreePtr owned(stale);
    git_worktree_prune_options prune = GIT_WORKTREE_PRUNE_OPTIONS_INIT;
    prune.flags =
        GIT_WORKTREE_PRUNE_VALID | GIT_WORKTREE_PRUNE_LOCKED | GIT_WORKTREE_PRUNE_WORKING_TREE;
    if (git_worktree_prune(stale, &prune) < 0) {
      // A repository moved or copied with its .rlvr/ keeps registrations whose gitdir points at
      // the old path, which libgit2 refuses to prune. The registration is rlvr's own: remove it.
      fs::path registration = fs::path(git_repository_commondir(main)) / "worktrees" / registered;
      std::error_code removed;
      fs::remove_all(registration, removed);
      if (removed)
        throw GitError(
            fmt::format("cannot prune stale worktree {}: {}", registered, removed.message()));
    }
  }
  // A process killed while adding the worktree can leave a half-made registration that libgit2
  // neither looks up nor overwrites ("failed to make directory"): it is rlvr's own, remove it.
  {
    fs::path registration = fs::path(git_repository_commondir(main)) / "worktrees" / registered;
    std::error_code removed;
    if (fs::exists(registration, removed)) fs::remove_all(registration, removed);
    if (removed)
      throw GitError(fmt::format("cannot remove the stale worktree registration {}: {}",
                                 registration.string(), removed.message()));
  }
  // libgit2 names a branch after the new worktree; make sure none is left from a crash.
  git_reference* leftover = nullptr;
  if (git_branch_lookup(&leftover, main, registered.c_str(), GIT_BRANCH_LOCAL) == 0) {
    ReferencePtr owned(leftover);
    CheckGit(git_branch_delete(leftover), "cannot delete leftover branch " + registered);
  }
  std::error_code ec;
  fs::remove_all(path, ec);
  fs::create_directories(path.parent_path());

  git_worktree_add_options options = GIT_WORKTREE_ADD_OPTIONS_INIT;
  git_worktree* worktree = nullptr;
  CheckGit(git_worktree_add(&worktree, main, registered.c_str(), path.c_str(), &options),
           "cannot create worktree " + path.string());
  WorktreePtr owned_worktree(worktree);
  RepoPtr repo = Open(path);
  // Detach, then drop the branch libgit2 made, so the user's branch list stays as it was.
  git_oid head;
  CheckGit(git_reference_name_to_id(&head, repo.get(), "HEAD"), "cannot resolve worktree HEAD");
  CheckGit(git_repository_set_head_detached(repo.get(), &head), "cannot detach worktree HEAD");
  git_reference* branch = nullptr;
  if (git_branch_lookup(&branch, main, registered.c_str(), GIT_BRANCH_LOCAL) == 0) {
    ReferencePtr owned(branch);
    CheckGit(git_branch_delete(branch), "cannot delete temporary branch " + registered);
  }
  return repo;
}

// git_reset leaves untracked and ignored files; a candidate's leftovers must not leak into the
// next one. Directories come back whole ("junk/"), so one remove_all each.
void RemoveUntracked(git_repository* repo, const fs::path& root) {
  git_status_options options = GIT_STATUS_OPTIONS_INIT;
  options.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
  options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_INCLUDE_IGNORED;
  git_status_list* raw = nullptr;
  CheckGit(git_status_list_new(&raw, repo, &options), "cannot list untracked files");
  std::unique_ptr<git_status_list, GitFree<git_status_list, git_status_list_free>> list(raw);
  for (size_t i = 0; i < git_status_list_entrycount(list.get()); ++i) {
    const git_status_entry* entry = git_status_byindex(list.get(), i);
    if (!(entry->status & (GIT_STATUS_WT_NEW | GIT_STATUS_IGNORED))) continue;
    if (entry->index_to_workdir == nullptr || entry->index_to_workdir->new_file.path == nullptr)
      continue;
    std::string relative = entry->index_to_workdir->new_file.path;
    if (relative.empty() || relative.find("..") != std::string::npos) continue;
    std::error_code ec;
    fs::remove_all(root / relative, ec);
    if (ec) throw GitError(fmt::format("cannot remove leftover {}: {}", relative, ec.message()));
  }
}

// libgit2 writes a worktree's index and HEAD through "<file>.lock" and renames it; a process
// killed in between (SIGKILL, OOM, a lost node) leaves the lock, and every later reset fails
// "the index is locked" — a machine fault forever. The caller holds the repository's RunLock, so
// no other rlvr is inside this worktree and the lock is a dead process's: remove it. Only the
// worktree's own git directory is cleared; the user's repository locks are never touched.
void RemoveStaleWorktreeLocks(git_repository* repo) {
  fs::path gitdir = git_repository_path(repo);
  for (const char* name : {"index.lock", "HEAD.lock"}) {
    std::error_code ec;
    if (!fs::exists(gitdir / name, ec)) continue;
    fs::remove(gitdir / name, ec);
    if (ec)
      throw GitError(fmt::format("cannot remove the stale lock {} left by a killed process: {}",
                                 (gitdir / name).string(), ec.message()));
  }
}

}  // namespace

void CheckGit(int code, const std::string& what) {
  if (code < 0) ThrowGit(what);
}

std::string HeadCommit(const fs::path& repo_root) {
  RepoPtr repo = Open(repo_root);
  git_oid oid;
  CheckGit(git_reference_name_to_id(&oid, repo.get(), "HEAD"),
           "cannot resolve HEAD of " + repo_root.string() + " (no commits yet?)");
  char sha[GIT_OID_HEXSZ + 1];
  git_oid_tostr(sha, sizeof sha, &oid);
  return sha;
}

void EnsureStateDir(const fs::path& state_dir) {
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) throw GitError(fmt::format("cannot create {}: {}", state_dir.string(), ec.message()));
  fs::path ignore = state_dir / ".gitignore";
  if (!fs::exists(ignore)) {
    std::ofstream out(ignore);
    out << "*\n";
    if (!out) throw GitError("cannot write " + ignore.string());
  }
}

fs::path PrepareWorktree(const fs::path& repo_root, const fs::path& state_dir,
                         const std::string& name, const std::string& commit) {
  EnsureStateDir(state_dir);
  RepoPtr main = Open(repo_root);
  fs::path path = fs::absolute(state_dir / "worktrees" / name);
  RepoPtr repo = OpenExistingWorktree(main.get(), path);
  if (repo)
    RemoveStaleWorktreeLocks(repo.get());
  else
    repo = CreateWorktree(main.get(), path, name);

  git_oid oid;
  CheckGit(git_oid_fromstr(&oid, commit.c_str()), "bad commit id " + commit);
  git_object* target = nullptr;
  CheckGit(git_object_lookup(&target, repo.get(), &oid, GIT_OBJECT_COMMIT),
           "cannot find commit " + commit);
  ObjectPtr owned(target);
  CheckGit(git_repository_set_head_detached(repo.get(), &oid), "cannot detach worktree HEAD");
  git_checkout_options checkout = GIT_CHECKOUT_OPTIONS_INIT;
  checkout.checkout_strategy =
      GIT_CHECKOUT_FORCE | GIT_CHECKOUT_REMOVE_UNTRACKED | GIT_CHECKOUT_REMOVE_IGNORED;
  CheckGit(git_reset(repo.get(), target, GIT_RESET_HARD, &checkout),
           "cannot reset worktree " + path.string());
  RemoveUntracked(repo.get(), path);
  return path;
}

std::vector<std::string> DirtyPaths(const fs::path& repo_root,
                                    const std::vector<std::string>& paths) {
  RepoPtr repo = Open(repo_root);
  std::vector<std::string> dirty;
  for (const auto& path : paths) {
    unsigned int flags = 0;
    int code = git_status_file(&flags, repo.get(), path.c_str());
    if (code == GIT_ENOTFOUND) continue;  // neither tracked nor present: nothing to lose
    CheckGit(code, "cannot get git status of " + path);
    if (flags != GIT_STATUS_CURRENT && !(flags & GIT_STATUS_IGNORED)) dirty.push_back(path);
  }
  return dirty;
}

}  // namespace rlvr
