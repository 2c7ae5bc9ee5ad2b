// The canonical `git diff` of an edit, made by libgit2 from the old and new contents of each
// file (no repository needed), so every part of rlvr records and shows changes the same way.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rlvr {

struct FileContents {
  std::string path;                   // repo-relative, forward slashes
  std::optional<std::string> before;  // nullopt: the file is new
  std::optional<std::string> after;   // nullopt: the file is deleted
};

// Concatenated `diff --git` patches of the files, in the given order. Throws std::runtime_error
// if libgit2 fails.
std::string GitDiff(const std::vector<FileContents>& files);

}  // namespace rlvr
