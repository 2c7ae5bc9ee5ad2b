#include "harness/loop/repeats.h"

#include "harness/base/scratch_tree.h"
#include "harness/base/sha256.h"
#include "harness/git/commit_files.h"
#include "harness/patch/apply.h"

namespace rlvr {
namespace fs = std::filesystem;

std::optional<std::string> CanonicalChange(const fs::path& repo_root, const Target& target,
                                           const std::string& base_commit, std::string_view reply) {
  ScratchTree scratch("rlvr-change", CommitFiles(repo_root, base_commit, target.editable));
  ApplyOptions options;
  options.allowed_globs = target.editable;
  options.dry_run = true;
  options.max_reply_bytes = std::max(options.max_reply_bytes, reply.size());
  ApplyResult applied = ApplyReply(scratch.root(), reply, options);
  if (!applied.applied || applied.diff.empty()) return std::nullopt;
  return applied.diff;
}

std::string CandidateKey(const fs::path& repo_root, const Target& target,
                         const std::string& base_commit, std::string_view reply) {
  std::optional<std::string> change;
  try {
    change = CanonicalChange(repo_root, target, base_commit, reply);
  } catch (const std::exception&) {
    return "";
  }
  if (!change) return "";
  // Length-prefixed parts: no two different pairs give the same text.
  std::string identity = "rlvr-candidate-1\n" + std::to_string(target.name.size()) + ":" +
                         target.name + "\n" + base_commit + "\n" + *change;
  return Sha256Hex(identity);
}

}  // namespace rlvr
