#include "harness/loop/model_bandit.h"

#include <algorithm>

#include <fmt/format.h>

namespace rlvr {
namespace {

// How much sharper than the posterior the sampled success rates are (see the header).
constexpr double kSharpening = 2.0;
// Prior of the success rate: Beta(0.5, 0.5), the Jeffreys prior.
constexpr double kPrior = 0.5;
// The speed-up of a model's successes counts as this many successes at the run's mean.
constexpr double kSpeedupPrior = 3.0;

double SampleBeta(std::mt19937_64& rng, double a, double b) {
  std::gamma_distribution<double> ga(a, 1.0), gb(b, 1.0);
  double x = ga(rng), y = gb(rng);
  return x + y > 0 ? x / (x + y) : 0.5;
}

}  // namespace

ModelBandit::ModelBandit(std::vector<std::optional<ModelPrice>> prices, uint64_t seed)
    : rng_(seed) {
  for (auto& price : prices) {
    Record r;
    r.price = price;
    if (!price) all_priced_ = false;
    models_.push_back(r);
  }
}

double ModelBandit::CostPerRequest(size_t model) const {
  const Record& r = models_[model];
  if (!all_priced_) return 1.0;
  // Before any request the usage is unknown: prices compared at 1000 tokens in, 1000 out.
  double prompt = requests_ > 0 ? static_cast<double>(prompt_tokens_) / requests_ : 1000.0;
  double completion = requests_ > 0 ? static_cast<double>(completion_tokens_) / requests_ : 1000.0;
  double expected =
      (prompt * r.price->input_per_million + completion * r.price->output_per_million) / 1e6;
  double blended = (r.dollars + expected) / (r.requests + 1);
  // A free model (a local server) still costs its time: never divide by zero.
  return std::max(blended, 1e-9);
}

size_t ModelBandit::Choose() {
  if (models_.size() == 1) return 0;
  // Every model is tried once before any is preferred.
  for (size_t m = 0; m < models_.size(); ++m)
    if (models_[m].requests == 0) return m;
  double speedup_sum = 0;
  int speedup_count = 0;
  for (const Record& r : models_) {
    speedup_sum += r.speedup_sum;
    speedup_count += r.speedup_count;
  }
  double mean_speedup = speedup_count > 0 ? speedup_sum / speedup_count : 0.05;
  size_t best = 0;
  double best_score = -1;
  for (size_t m = 0; m < models_.size(); ++m) {
    const Record& r = models_[m];
    double rate =
        SampleBeta(rng_, (r.successes + kPrior) * kSharpening, (r.failures + kPrior) * kSharpening);
    double speedup =
        (r.speedup_sum + kSpeedupPrior * mean_speedup) / (r.speedup_count + kSpeedupPrior);
    double score = rate * std::max(speedup, 1e-6) / CostPerRequest(m);
    if (score > best_score) {
      best_score = score;
      best = m;
    }
  }
  return best;
}

void ModelBandit::RecordRequest(size_t model, int64_t prompt_tokens, int64_t completion_tokens,
                                double dollars) {
  Record& r = models_[model];
  ++r.requests;
  r.dollars += dollars;
  ++requests_;
  prompt_tokens_ += prompt_tokens;
  completion_tokens_ += completion_tokens;
}

void ModelBandit::RecordCandidate(size_t model, CandidateOutcome outcome, double speedup) {
  Record& r = models_[model];
  switch (outcome) {
    case CandidateOutcome::kPromoted:
    case CandidateOutcome::kPassed:
      r.successes += 1;
      if (speedup > 0) {
        r.speedup_sum += speedup;
        ++r.speedup_count;
      }
      break;
    case CandidateOutcome::kNearMiss:
      r.successes += 0.25;
      r.failures += 0.75;
      break;
    case CandidateOutcome::kFailed:
      r.failures += 1;
      break;
  }
}

std::string ModelBandit::Describe(size_t model, const std::string& name) const {
  const Record& r = models_[model];
  std::string text = fmt::format("{}: {} request(s), {:.2f} success(es) in {:.0f} candidate(s)",
                                 name, r.requests, r.successes, r.successes + r.failures);
  if (r.price) text += fmt::format(", ${:.4f}", r.dollars);
  return text;
}

}  // namespace rlvr
