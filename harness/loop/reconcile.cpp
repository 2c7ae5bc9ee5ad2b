#include "harness/loop/reconcile.h"

#include <fmt/format.h>
#include <git2.h>

#include <algorithm>
#include <memory>
#include <regex>
#include <stdexcept>

#include "harness/git/handle.h"
#include "harness/git/worktree.h"

namespace rlvr {

namespace {

// The attempt id of the commit's last "Rlvr-Attempt: N" line, or 0.
int64_t AttemptOf(const std::string& message) {
  static const std::regex trailer(R"((?:^|\n)Rlvr-Attempt: (\d+)\s*(?=\n|$))");
  int64_t id = 0;
  for (auto it = std::sregex_iterator(message.begin(), message.end(), trailer);
       it != std::sregex_iterator(); ++it) {
    id = std::stoll((*it)[1].str());
  }
  return id;
}

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

std::vector<std::string> ReconcilePromotions(const std::filesystem::path& repo_root, Ledger& ledger,
                                             int depth) {
  InitLibgit2();
  std::vector<std::string> repairs;
  git_repository* raw_repo = nullptr;
  CheckGit(git_repository_open(&raw_repo, repo_root.c_str()), "cannot open repository");
  GitOwned<git_repository, git_repository_free> repo(raw_repo);
  if (git_repository_head_unborn(repo.get()) == 1) return repairs;

  git_revwalk* raw_walk = nullptr;
  CheckGit(git_revwalk_new(&raw_walk, repo.get()), "cannot walk history");
  GitOwned<git_revwalk, git_revwalk_free> walk(raw_walk);
  git_revwalk_simplify_first_parent(walk.get());
  CheckGit(git_revwalk_push_head(walk.get()), "cannot read HEAD");
  git_oid id;
  for (int i = 0; i < depth && git_revwalk_next(&id, walk.get()) == 0; ++i) {
    git_commit* raw_commit = nullptr;
    CheckGit(git_commit_lookup(&raw_commit, repo.get(), &id), "cannot read a commit");
    GitOwned<git_commit, git_commit_free> commit(raw_commit);
    std::string message = git_commit_message(commit.get());
    int64_t attempt_id = AttemptOf(message);
    if (attempt_id == 0) continue;
    std::optional<AttemptRecord> attempt = ledger.FindAttempt(attempt_id);
    // The subject starts with the target's name: a ledger recreated since would have another
    // attempt under the same id.
    if (!attempt || attempt->verdict != "passed" || message.rfind(attempt->target + ": ", 0) != 0)
      continue;
    char sha[GIT_OID_HEXSZ + 1];
    git_oid_tostr(sha, sizeof sha, &id);
    ledger.MarkPromoted(attempt_id, sha);
    repairs.push_back(fmt::format("attempt {} ({}) marked promoted by commit {}", attempt_id,
                                  attempt->target, std::string(sha).substr(0, 12)));
    if (i == 0) {
      for (const auto& path : CheckOutWhereStale(repo_root, repo.get(), commit.get()))
        repairs.push_back(path + " brought up to the promotion commit");
    }
  }
  return repairs;
}

}  // namespace rlvr
