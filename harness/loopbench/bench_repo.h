// The repository loop bench runs the loop in: one clone of the user's repository, made once under
// the bench's work folder, its branch `rlvr-loop-bench` reset to the start commit before each run.
// The loop promotes onto the clone's branch, never the user's, and the user's repository is only
// read (cloned from); its own files and branches stay as they were.
#pragma once

#include <filesystem>
#include <string>

namespace rlvr {

inline constexpr const char* kBenchBranch = "rlvr-loop-bench";

struct BenchRepo {
  std::filesystem::path root;  // the clone's working tree
  std::string start_commit;    // the user's HEAD when the bench started
};

// Clones `user_root` into <work_dir>/repo (reusing an earlier clone that has the start commit: its
// .rlvr/ build state stays warm) and resets it to the user's HEAD. Throws std::runtime_error naming
// the git command that failed.
BenchRepo PrepareBenchRepo(const std::filesystem::path& user_root,
                           const std::filesystem::path& work_dir);

// Puts the clone's branch back at the start commit, its tracked files with it (baselines
// included); the ignored .rlvr/ state (worktrees, builds) is kept. Throws std::runtime_error.
void ResetBenchRepo(const BenchRepo& repo);

}  // namespace rlvr
