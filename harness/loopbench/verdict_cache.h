// Loop bench's verdict reuse: a CandidateJudge (verify/judge.h) in front of the real verifier that
// judges each distinct candidate once across every run of a bench. A bench replays the same
// proposals against the same start state strategy after strategy and seed after seed; judging an
// identical candidate again would spend minutes to learn nothing new about the strategy.
//
// Two evaluations are the same when they have the same target, the same evaluation settings tag,
// the same git TREE of the base commit (commit hashes differ between bench runs, the promoted
// trees do not) and the same canonical patch: the diff of a dry-run apply of the reply to the base
// commit's editable files, or the reply text itself when it does not apply. A reused verdict is
// the stored one with head_commit set to the base commit the caller named, so Promote works on it.
// Its benchmark figures are the first measurement's, as they were: a figure keeps the candidate's
// samples but not the baseline's, so the decision rule cannot be re-run on a resample of both.
// The verdicts persist in a JSON file, so a rerun of the bench resumes where it stopped.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "harness/verify/evaluate.h"
#include "harness/verify/judge.h"

namespace rlvr {

class ReusingJudge : public CandidateJudge {
 public:
  // `inner` judges what was not judged before and promotes; it must outlive this judge.
  // `cache_file` holds the verdicts (loaded now when it exists, rewritten after each new verdict;
  // empty = kept in memory only). `settings_tag` names what else a verdict depends on (sanitizers,
  // benchmark rounds...): verdicts judged under another tag are never reused. Throws
  // std::runtime_error when `cache_file` exists but is not a verdict cache.
  ReusingJudge(CandidateJudge& inner, std::filesystem::path cache_file,
               std::string settings_tag = "");

  // The stored verdict of an identical evaluation, or the inner judge's (then stored). An
  // evaluation abandoned by a stop signal is not stored: its verdict is not the candidate's.
  Verdict Evaluate(const Target& target, std::string_view reply,
                   std::string_view base_commit = {}) override;
  PromoteResult Promote(const Target& target, const Verdict& verdict,
                        const std::string& trailer = "") override;
  const Project& project() const override;

  // The identity of evaluating `reply` for `target` on commit `base_commit` (a full sha): a
  // SHA-256 hex of the target, the settings tag, the commit's tree and the canonical patch.
  std::string KeyOf(const Target& target, std::string_view reply,
                    const std::string& base_commit) const;

  int judged() const;  // evaluations handed to the inner judge
  int reused() const;  // evaluations answered from a stored verdict
  size_t stored() const;

 private:
  void Save() const;

  CandidateJudge& inner_;
  std::filesystem::path cache_file_;
  std::string settings_tag_;
  mutable std::mutex mu_;
  std::map<std::string, nlohmann::json> verdicts_;  // key -> Verdict::ToJson
  int judged_ = 0;
  int reused_ = 0;
};

}  // namespace rlvr
