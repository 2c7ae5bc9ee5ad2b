#include "harness/loopbench/verdict_cache.h"

#include <stdlib.h>

#include <fstream>
#include <stdexcept>

#include "harness/base/file_text.h"
#include "harness/base/private_file.h"
#include "harness/base/sha256.h"
#include "harness/base/signals.h"
#include "harness/git/commit_files.h"
#include "harness/git/worktree.h"
#include "harness/loop/repeats.h"
#include "harness/patch/apply.h"
#include "harness/verify/verdict.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

constexpr int kCacheVersion = 1;

// What the reply does to the base commit's editable files: the canonical change (loop/repeats.h),
// or the reply itself when it does not apply (its verdict is then the reply's, not a change's).
std::string CanonicalPatch(const fs::path& repo_root, const Target& target, std::string_view reply,
                           const std::string& base_commit) {
  std::optional<std::string> change = CanonicalChange(repo_root, target, base_commit, reply);
  if (change) return "patch\n" + *change;
  return "reply\n" + std::string(reply);
}

}  // namespace

ReusingJudge::ReusingJudge(CandidateJudge& inner, fs::path cache_file, std::string settings_tag)
    : inner_(inner), cache_file_(std::move(cache_file)), settings_tag_(std::move(settings_tag)) {
  if (cache_file_.empty() || !fs::exists(cache_file_)) return;
  nlohmann::json json = nlohmann::json::parse(ReadFileText(cache_file_), nullptr, false);
  if (json.is_discarded() || !json.is_object() || json.value("version", 0) != kCacheVersion ||
      !json.contains("verdicts") || !json["verdicts"].is_object()) {
    throw std::runtime_error(cache_file_.string() + " is not a loop bench verdict cache (version " +
                             std::to_string(kCacheVersion) + "); remove it to start afresh");
  }
  for (const auto& [key, verdict] : json["verdicts"].items()) verdicts_[key] = verdict;
}

std::string ReusingJudge::KeyOf(const Target& target, std::string_view reply,
                                const std::string& base_commit) const {
  const fs::path& root = inner_.project().root;
  std::string identity = "rlvr-loop-bench-key-1";
  for (const std::string& part : {target.name, settings_tag_, TreeOfCommit(root, base_commit),
                                  CanonicalPatch(root, target, reply, base_commit)}) {
    // Length-prefixed, so no two different lists of parts give the same text.
    identity += "\n" + std::to_string(part.size()) + ":" + part;
  }
  return Sha256Hex(identity);
}

Verdict ReusingJudge::Evaluate(const Target& target, std::string_view reply,
                               std::string_view base_commit) {
  std::string base;
  std::string key;
  try {
    base = ResolveCommit(inner_.project().root, std::string(base_commit));
    key = KeyOf(target, reply, base);
  } catch (const std::exception&) {
    // Nothing to key it by (no such commit): the verifier says what is wrong, uncached.
    std::lock_guard<std::mutex> lock(mu_);
    ++judged_;
    return inner_.Evaluate(target, reply, base_commit);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto stored = verdicts_.find(key);
    if (stored != verdicts_.end()) {
      ++reused_;
      Verdict verdict = VerdictFromJson(stored->second);
      verdict.head_commit = base;
      return verdict;
    }
  }
  Verdict verdict = inner_.Evaluate(target, reply, base);
  std::lock_guard<std::mutex> lock(mu_);
  ++judged_;
  if (StopRequested()) return verdict;
  verdicts_[key] = verdict.ToJson();
  Save();
  return verdict;
}

PromoteResult ReusingJudge::Promote(const Target& target, const Verdict& verdict,
                                    const std::string& trailer) {
  return inner_.Promote(target, verdict, trailer);
}

const Project& ReusingJudge::project() const {
  return inner_.project();
}

int ReusingJudge::judged() const {
  std::lock_guard<std::mutex> lock(mu_);
  return judged_;
}

int ReusingJudge::reused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reused_;
}

size_t ReusingJudge::stored() const {
  std::lock_guard<std::mutex> lock(mu_);
  return verdicts_.size();
}

void ReusingJudge::Save() const {
  if (cache_file_.empty()) return;
  nlohmann::json verdicts = nlohmann::json::object();
  for (const auto& [key, verdict] : verdicts_) verdicts[key] = verdict;
  nlohmann::json json = {{"version", kCacheVersion}, {"verdicts", verdicts}};
  fs::create_directories(cache_file_.parent_path());
  // The verdicts hold candidates' files: owner-only, like every file a candidate's text goes to.
  if (!WritePrivateFile(cache_file_,
                        json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)))
    throw std::runtime_error("cannot write " + cache_file_.string());
}

}  // namespace rlvr
