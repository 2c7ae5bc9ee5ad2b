// What the loop and the loop bench read of a commit through libgit2: its full sha, its tree's hash
// (the same in every clone and after every reset, unlike a commit made again), and the files
// matching a target's globs, for judging whether two replies make the same candidate.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace rlvr {

// The 40-hex sha of the commit `revision` names (a sha, a branch, "HEAD"); empty = HEAD. Throws
// GitError when there is no such commit.
std::string ResolveCommit(const std::filesystem::path& repo_root, const std::string& revision);

// The 40-hex hash of the tree of commit `commit` (a full sha). Throws GitError.
std::string TreeOfCommit(const std::filesystem::path& repo_root, const std::string& commit);

// Path -> committed bytes of every regular file of `commit` matching one of `globs` (plain paths
// or GlobMatches patterns). Throws GitError.
std::map<std::string, std::string> CommitFiles(const std::filesystem::path& repo_root,
                                               const std::string& commit,
                                               const std::vector<std::string>& globs);

}  // namespace rlvr
