#include "harness/loop/reconcile.h"

#include <fmt/format.h>
#include <git2.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "harness/git/attempt_commits.h"
#include "harness/git/handle.h"
#include "harness/git/worktree.h"

namespace rlvr {

namespace {

// Brings the files `commit` changed up to it in the working tree and index where they still hold
// its parent's content (the checkout a killed promotion did not reach). SAFE with the parent as
// baseline: a file the user edited since is a conflict and stays as it is. Returns the paths that
// were out of date and are now up to date.
std::vector<std::string> CheckOutWhereStale(const std::filesystem::path& repo_root,
                                            git_repository* repo, git_commit* commit) {
  git_commit* raw_parent = nullptr;
  CheckGit(git_commit_parent(&raw_parent, commit, 0), "cannot read the promotion's parent");
  GitOwned<git_commit, git_commit_free> parent(raw_parent);
  git_tree* raw_parent_tree = nullptr;
  CheckGit(git_commit_tree(&raw_parent_tree, parent.get()), "cannot read the parent tree");
  GitOwned<git_tree, git_tree_free> parent_tree(raw_parent_tree);
  git_tree* raw_tree = nullptr;
  CheckGit(git_commit_tree(&raw_tree, commit), "cannot read the promotion tree");
  GitOwned<git_tree, git_tree_free> tree(raw_tree);

  git_diff* raw_diff = nullptr;
  CheckGit(git_diff_tree_to_tree(&raw_diff, repo, parent_tree.get(), tree.get(), nullptr),
           "cannot diff the promotion");
  GitOwned<git_diff, git_diff_free> diff(raw_diff);
  std::vector<std::string> paths;
  for (size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
    paths.push_back(git_diff_get_delta(diff.get(), i)->new_file.path);
  }
  std::vector<std::string> stale = DirtyPaths(repo_root, paths);
  if (stale.empty()) return {};
  std::vector<const char*> path_ptrs;
  for (const auto& p : paths) path_ptrs.push_back(p.c_str());

  git_checkout_options options = GIT_CHECKOUT_OPTIONS_INIT;
  options.checkout_strategy =
      GIT_CHECKOUT_SAFE | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH | GIT_CHECKOUT_ALLOW_CONFLICTS;
  options.baseline = parent_tree.get();
  options.paths.strings = const_cast<char**>(path_ptrs.data());
  options.paths.count = path_ptrs.size();
  CheckGit(git_checkout_tree(repo, reinterpret_cast<git_object*>(commit), &options),
           "cannot check out the promoted files");
  std::vector<std::string> still_dirty = DirtyPaths(repo_root, stale);
  std::vector<std::string> repaired;
  for (const auto& p : stale) {
    if (std::find(still_dirty.begin(), still_dirty.end(), p) == still_dirty.end())
      repaired.push_back(p);
  }
  return repaired;
}

}  // namespace

std::string AttemptTrailer(int64_t attempt_id) {
  return fmt::format("Rlvr-Attempt: {}", attempt_id);
}

std::vector<AttemptCommit> UnrecordedPromotions(const std::filesystem::path& repo_root,
                                                const Ledger& ledger, int depth) {
  std::vector<AttemptCommit> out;
  for (const AttemptCommit& c : AttemptCommits(repo_root, depth)) {
    std::optional<AttemptRecord> attempt = ledger.FindAttempt(c.attempt_id);
    // The subject starts with the target's name: a ledger recreated since would have another
    // attempt under the same id.
    if (!attempt || attempt->verdict != "passed" || c.subject.rfind(attempt->target + ": ", 0) != 0)
      continue;
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> ReconcilePromotions(const std::filesystem::path& repo_root, Ledger& ledger,
                                             int depth) {
  std::vector<std::string> repairs;
  for (const AttemptCommit& c : UnrecordedPromotions(repo_root, ledger, depth)) {
    ledger.MarkPromoted(c.attempt_id, c.commit);
    repairs.push_back(fmt::format("attempt {} marked promoted by commit {}", c.attempt_id,
                                  c.commit.substr(0, 12)));
    if (c.depth == 0) {
      GitRepository repo = OpenGitRepository(repo_root);
      git_oid oid;
      CheckGit(git_oid_fromstr(&oid, c.commit.c_str()), "cannot parse commit " + c.commit);
      git_commit* raw_commit = nullptr;
      CheckGit(git_commit_lookup(&raw_commit, repo.get(), &oid), "cannot read a commit");
      GitOwned<git_commit, git_commit_free> commit(raw_commit);
      for (const auto& path : CheckOutWhereStale(repo_root, repo.get(), commit.get()))
        repairs.push_back(path + " brought up to the promotion commit");
    }
  }
  return repairs;
}

}  // namespace rlvr
