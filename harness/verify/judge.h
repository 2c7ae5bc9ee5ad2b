// What the loop judges candidates with: an interface over the verifier, so the loop can be handed
// the Evaluator itself (rlvr iterate) or a wrapper around it, e.g. loop bench's ReusingJudge
// (loopbench/verdict_cache.h), which answers a candidate judged before from its stored verdict.
#pragma once

#include <string>
#include <string_view>

#include "harness/base/config.h"

namespace rlvr {

// Defined in verify/evaluate.h, which includes this header (Evaluator implements the interface).
struct Verdict;
struct PromoteResult;

class CandidateJudge {
 public:
  virtual ~CandidateJudge() = default;

  // As Evaluator::Evaluate: never throws for a bad candidate; `base_commit` empty = HEAD now.
  virtual Verdict Evaluate(const Target& target, std::string_view reply,
                           std::string_view base_commit = {}) = 0;

  // As Evaluator::Promote: commits a promotable verdict whose head_commit is still HEAD.
  virtual PromoteResult Promote(const Target& target, const Verdict& verdict,
                                const std::string& trailer = "") = 0;

  virtual const Project& project() const = 0;
};

}  // namespace rlvr
