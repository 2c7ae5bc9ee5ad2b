// Which model the next request goes to, when a run has several (loop/models.h): a bandit on the
// value each model delivered per dollar. A model's value is the rate at which its candidates
// succeed (a promotion or a pass counts fully, a near miss a quarter), times the speed-up its
// successes brought (shrunk towards the run's mean while it has few), divided by what a request
// to it costs (dollars at its price for the run's average usage, or one unit per request when any
// model is unpriced). Thompson sampling on a Beta posterior of the success rate, sharpened
// twofold: calls are expensive and runs short, so it explores less than plain Thompson sampling
// (simulated: with one model twice as likely to succeed, it gives that one about 75% of the
// first 50 calls at a 20% success rate, 80% at 30%). Deterministic for a seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "harness/llm/price.h"

namespace rlvr {

// What became of one candidate a model proposed.
enum class CandidateOutcome { kPromoted, kPassed, kNearMiss, kFailed };

class ModelBandit {
 public:
  // One entry per model, in the run's order: its price (unset: unpriced).
  ModelBandit(std::vector<std::optional<ModelPrice>> prices, uint64_t seed);

  // The model for the next request. With one model, always 0.
  size_t Choose();

  // A request to `model` was answered: its usage and dollars (0 when unpriced).
  void RecordRequest(size_t model, int64_t prompt_tokens, int64_t completion_tokens,
                     double dollars);

  // One candidate of `model` was judged; `speedup` is 1/primary_ratio - 1 of a promotion or pass
  // (0 otherwise).
  void RecordCandidate(size_t model, CandidateOutcome outcome, double speedup);

  // Requests made to `model` so far.
  int Requests(size_t model) const { return models_[model].requests; }

  // "gpt-a: 12 requests, 3.5 successes in 24 candidates, $0.42" for the run's summary.
  std::string Describe(size_t model, const std::string& name) const;

 private:
  struct Record {
    std::optional<ModelPrice> price;
    int requests = 0;
    double successes = 0;  // weighted: promoted/passed 1, near miss 0.25
    double failures = 0;
    double speedup_sum = 0;
    int speedup_count = 0;
    double dollars = 0;
  };

  // Expected dollars of one request to `model`: its price at the run's mean usage per request,
  // blended with what its own requests cost.
  double CostPerRequest(size_t model) const;

  std::vector<Record> models_;
  bool all_priced_ = true;
  int64_t prompt_tokens_ = 0;
  int64_t completion_tokens_ = 0;
  int requests_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace rlvr
