// The patch applier: applies a model reply (unified diffs, possibly damaged; SEARCH/REPLACE
// blocks; fenced whole-file replacements) to the working tree of a git repository, all or
// nothing. Every edit is validated in memory first (paths, globs, hunk locations); only then are
// files written, each atomically (temp + rename), restoring the originals if a write fails. On
// refusal the tree is byte-for-byte unchanged and `error` tells the model exactly what to fix
// (file, hunk, closest text in the file).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace rlvr {

struct ApplyOptions {
  // Repo-relative globs ('*' within a segment, '**' across segments, '?' one char). When
  // non-empty, any file outside them is refused.
  std::vector<std::string> allowed_globs;
  bool dry_run = false;  // validate and compute the diff, write nothing
  size_t max_reply_bytes = 1 << 20;
};

struct ApplyResult {
  bool applied = false;
  std::string error;                       // for the model: file, hunk, closest text
  std::vector<std::string> changed_files;  // repo-relative, forward slashes
  std::string diff;                        // canonical git diff of the change
};

// Applies `reply` to the files under `repo_root`. Never throws for bad input: a refusal is
// reported through ApplyResult::error with applied == false.
ApplyResult ApplyReply(const std::filesystem::path& repo_root, std::string_view reply,
                       const ApplyOptions& options);

}  // namespace rlvr
