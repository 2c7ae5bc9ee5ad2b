#include "harness/git/commit_files.h"

#include "harness/base/config.h"
#include "harness/git/handle.h"

namespace rlvr {
namespace {

using Object = GitOwned<git_object, git_object_free>;
using Blob = GitOwned<git_blob, git_blob_free>;

struct Walk {
  git_repository* repo;
  const std::vector<std::string>* globs;
  std::map<std::string, std::string>* files;
};

int CollectMatching(const char* dir, const git_tree_entry* entry, void* payload) {
  if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB ||
      git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK) {
    return 0;
  }
  Walk* walk = static_cast<Walk*>(payload);
  std::string path = std::string(dir) + git_tree_entry_name(entry);
  for (const std::string& glob : *walk->globs) {
    if (glob != path && !GlobMatches(glob, path)) continue;
    git_blob* blob = nullptr;
    if (git_blob_lookup(&blob, walk->repo, git_tree_entry_id(entry)) < 0) return -1;
    Blob owned(blob);
    (*walk->files)[path] = std::string(static_cast<const char*>(git_blob_rawcontent(blob)),
                                       static_cast<size_t>(git_blob_rawsize(blob)));
    break;
  }
  return 0;
}

}  // namespace

std::string ResolveCommit(const std::filesystem::path& repo_root, const std::string& revision) {
  GitRepository repo = OpenGitRepository(repo_root);
  std::string spec = revision.empty() ? "HEAD" : revision;
  git_object* object = nullptr;
  CheckGit(git_revparse_single(&object, repo.get(), spec.c_str()), "no commit " + spec);
  Object owned(object);
  git_object* peeled = nullptr;
  CheckGit(git_object_peel(&peeled, object, GIT_OBJECT_COMMIT), spec + " is not a commit");
  Object owned_peeled(peeled);
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(hex, sizeof hex, git_object_id(peeled));
  return hex;
}

std::string TreeOfCommit(const std::filesystem::path& repo_root, const std::string& commit) {
  GitRepository repo = OpenGitRepository(repo_root);
  GitTree tree = TreeOfCommitSha(repo.get(), commit);
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(hex, sizeof hex, git_tree_id(tree.get()));
  return hex;
}

std::map<std::string, std::string> CommitFiles(const std::filesystem::path& repo_root,
                                               const std::string& commit,
                                               const std::vector<std::string>& globs) {
  GitRepository repo = OpenGitRepository(repo_root);
  GitTree tree = TreeOfCommitSha(repo.get(), commit);
  std::map<std::string, std::string> files;
  Walk walk{repo.get(), &globs, &files};
  CheckGit(git_tree_walk(tree.get(), GIT_TREEWALK_PRE, CollectMatching, &walk),
           "cannot read the files of " + commit);
  return files;
}

}  // namespace rlvr
