#include "harness/git/handle.h"

namespace rlvr {

GitRepository OpenGitRepository(const std::filesystem::path& root) {
  InitLibgit2();
  git_repository* repo = nullptr;
  CheckGit(git_repository_open(&repo, root.c_str()), "cannot open git repository " + root.string());
  return GitRepository(repo);
}

GitTree TreeOfCommitSha(git_repository* repo, const std::string& sha) {
  git_oid oid;
  CheckGit(git_oid_fromstr(&oid, sha.c_str()), "cannot parse commit " + sha);
  git_commit* commit = nullptr;
  CheckGit(git_commit_lookup(&commit, repo, &oid), "cannot read commit " + sha);
  GitOwned<git_commit, git_commit_free> owned(commit);
  git_tree* tree = nullptr;
  CheckGit(git_commit_tree(&tree, commit), "cannot read the tree of " + sha);
  return GitTree(tree);
}

}  // namespace rlvr
