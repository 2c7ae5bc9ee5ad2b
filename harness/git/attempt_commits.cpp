#include "harness/git/attempt_commits.h"

#include <regex>

#include "harness/git/handle.h"

namespace rlvr {

int64_t AttemptOfMessage(const std::string& message) {
  static const std::regex trailer(R"((?:^|\n)Rlvr-Attempt: (\d+)\s*(?=\n|$))");
  int64_t id = 0;
  for (auto it = std::sregex_iterator(message.begin(), message.end(), trailer);
       it != std::sregex_iterator(); ++it) {
    id = std::stoll((*it)[1].str());
  }
  return id;
}

std::vector<AttemptCommit> AttemptCommits(const std::filesystem::path& repo_root, int depth) {
  std::vector<AttemptCommit> out;
  GitRepository repo = OpenGitRepository(repo_root);
  if (git_repository_head_unborn(repo.get()) == 1) return out;
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
    int64_t attempt_id = AttemptOfMessage(message);
    if (attempt_id == 0) continue;
    char sha[GIT_OID_HEXSZ + 1];
    git_oid_tostr(sha, sizeof sha, &id);
    out.push_back({attempt_id, sha, message.substr(0, message.find('\n')), i});
  }
  return out;
}

}  // namespace rlvr
