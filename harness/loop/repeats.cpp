#include "harness/loop/repeats.h"

#include <stdlib.h>

#include <fstream>
#include <system_error>

#include "harness/base/sha256.h"
#include "harness/git/commit_files.h"
#include "harness/patch/apply.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

// A private scratch folder, removed on destruction.
class Scratch {
 public:
  Scratch() {
    std::string pattern = (fs::temp_directory_path() / "rlvr-change-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("cannot create a temporary folder in " +
                               fs::temp_directory_path().string());
    path_ = pattern;
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

std::optional<std::string> CanonicalChange(const fs::path& repo_root, const Target& target,
                                           const std::string& base_commit, std::string_view reply) {
  Scratch scratch;
  for (const auto& [path, text] : CommitFiles(repo_root, base_commit, target.editable)) {
    fs::path file = scratch.path() / path;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
  }
  ApplyOptions options;
  options.allowed_globs = target.editable;
  options.dry_run = true;
  options.max_reply_bytes = std::max(options.max_reply_bytes, reply.size());
  ApplyResult applied = ApplyReply(scratch.path(), reply, options);
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
