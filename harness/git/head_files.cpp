#include "harness/git/head_files.h"

#include <algorithm>

#include "harness/base/config.h"
#include "harness/git/handle.h"

namespace rlvr {
namespace {

using TreeEntry = GitOwned<git_tree_entry, git_tree_entry_free>;
using Blob = GitOwned<git_blob, git_blob_free>;

int CollectBlob(const char* dir, const git_tree_entry* entry, void* payload) {
  if (git_tree_entry_type(entry) == GIT_OBJECT_BLOB &&
      git_tree_entry_filemode(entry) != GIT_FILEMODE_LINK) {
    static_cast<std::vector<std::string>*>(payload)->push_back(std::string(dir) +
                                                               git_tree_entry_name(entry));
  }
  return 0;
}

}  // namespace

HeadFiles::HeadFiles(const std::filesystem::path& repo_root)
    : root_(repo_root), commit_(HeadCommit(repo_root)) {
  GitRepository repo = OpenGitRepository(root_);
  GitTree tree = TreeOfCommitSha(repo.get(), commit_);
  CheckGit(git_tree_walk(tree.get(), GIT_TREEWALK_PRE, CollectBlob, &paths_),
           "cannot list the files of " + commit_);
  std::sort(paths_.begin(), paths_.end());
}

std::vector<std::string> HeadFiles::Matching(const std::vector<std::string>& globs) const {
  std::vector<std::string> out;
  for (const std::string& path : paths_) {
    for (const std::string& glob : globs) {
      if (glob == path || GlobMatches(glob, path)) {
        out.push_back(path);
        break;
      }
    }
  }
  return out;
}

std::optional<std::string> HeadFiles::Text(const std::string& path) const {
  if (!std::binary_search(paths_.begin(), paths_.end(), path)) return std::nullopt;
  GitRepository repo = OpenGitRepository(root_);
  GitTree tree = TreeOfCommitSha(repo.get(), commit_);
  git_tree_entry* entry = nullptr;
  CheckGit(git_tree_entry_bypath(&entry, tree.get(), path.c_str()),
           "cannot find " + path + " in " + commit_);
  TreeEntry owned_entry(entry);
  git_blob* blob = nullptr;
  CheckGit(git_blob_lookup(&blob, repo.get(), git_tree_entry_id(entry)),
           "cannot read " + path + " at " + commit_);
  Blob owned_blob(blob);
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob)),
                     static_cast<size_t>(git_blob_rawsize(blob)));
}

}  // namespace rlvr
