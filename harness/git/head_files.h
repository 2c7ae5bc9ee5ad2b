// What a candidate is applied to: the files of the commit HEAD points to, read from git (libgit2),
// never from the working tree. The loop shows the model these contents because the evaluator
// applies its patch to HEAD in a scratch worktree; an uncommitted edit in the user's working tree
// is invisible to both.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rlvr {

// The files of one commit, loaded at construction so a round sees one consistent version even if
// HEAD moves meanwhile. Throws GitError when the repository or HEAD cannot be read.
class HeadFiles {
 public:
  explicit HeadFiles(const std::filesystem::path& repo_root);

  const std::string& commit() const { return commit_; }  // 40-hex sha of HEAD

  // Repository-relative paths of the commit's regular files matching any of `globs` (plain paths
  // or GlobMatches patterns), sorted.
  std::vector<std::string> Matching(const std::vector<std::string>& globs) const;

  // The committed bytes of `path`; nullopt when the commit has no such file.
  std::optional<std::string> Text(const std::string& path) const;

 private:
  std::filesystem::path root_;
  std::string commit_;
  std::vector<std::string> paths_;  // every blob of the commit's tree, sorted
};

}  // namespace rlvr
