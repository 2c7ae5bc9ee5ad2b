// A private throw-away folder holding given files (path -> bytes), removed with the object: where
// a reply is applied to files that are not a working tree (a commit's, the prompt's, an archive
// parent's) to see what it produces.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace rlvr {

class ScratchTree {
 public:
  // Creates <tmp>/<prefix>-XXXXXX (mode 0700) and writes `files` below it, folders as needed.
  // Throws std::runtime_error when the folder cannot be made or a file cannot be written.
  ScratchTree(const std::string& prefix, const std::map<std::string, std::string>& files);
  ~ScratchTree();
  ScratchTree(const ScratchTree&) = delete;
  ScratchTree& operator=(const ScratchTree&) = delete;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

}  // namespace rlvr
