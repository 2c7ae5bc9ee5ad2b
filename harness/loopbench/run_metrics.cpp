#include "harness/loopbench/run_metrics.h"

#include <cmath>

#include "harness/bench/baseline.h"

namespace rlvr {

namespace fs = std::filesystem;

std::optional<double> RunMetrics::CostPerPromotion() const {
  if (!priced || promotions == 0) return std::nullopt;
  return cost / promotions;
}

std::optional<double> RunMetrics::GainPerDollar() const {
  if (!priced || cost <= 0) return std::nullopt;
  return (speedup - 1) / cost;
}

nlohmann::json RunMetrics::ToJson() const {
  auto optional = [](std::optional<double> value) {
    return value ? nlohmann::json(*value) : nlohmann::json();
  };
  return {{"strategy", strategy},
          {"seed", seed},
          {"stop_reason", stop_reason},
          {"attempts", attempts},
          {"proposals", proposals},
          {"promotions", promotions},
          {"false_promotions", false_promotions},
          {"false_promotion_notes", false_promotion_notes},
          {"speedup", speedup},
          {"speedup_source", speedup_source},
          {"tokens", tokens},
          {"cost", priced ? nlohmann::json(cost) : nlohmann::json()},
          {"cost_estimated", cost_estimated},
          {"cost_per_promotion", optional(CostPerPromotion())},
          {"gain_per_dollar", optional(GainPerDollar())},
          {"wall_seconds", wall_seconds}};
}

void MeasureRun(const Ledger& ledger, int64_t run_id, const std::vector<const Target*>& targets,
                const std::function<const Proposal*(const std::string&)>& proposal_of,
                const std::map<std::string, std::optional<ModelPrice>>& prices,
                const std::map<std::string, bool>& usage_reported, RunMetrics* m) {
  std::vector<AttemptRecord> attempts = ledger.RunAttempts(run_id);
  m->attempts = static_cast<int>(attempts.size());
  bool ledger_has_cost = false;
  for (const AttemptRecord& a : attempts) ledger_has_cost |= a.cost.has_value();
  for (const auto& [name, price] : prices) m->priced |= price.has_value();
  std::map<std::string, double> promoted_ratio_product;  // per target
  for (const AttemptRecord& a : attempts) {
    m->tokens += a.prompt_tokens + a.completion_tokens;
    if (ledger_has_cost) {
      m->cost += a.cost.value_or(0);
      m->cost_estimated |= a.cost_estimated;
    } else {
      auto price = prices.find(a.model);
      if (price != prices.end() && price->second) {
        LlmResponse usage;
        usage.prompt_tokens = a.prompt_tokens;
        usage.completion_tokens = a.completion_tokens;
        usage.cached_prompt_tokens = a.cached_prompt_tokens;
        m->cost += CostOf(*price->second, usage).dollars;
      }
      auto reported = usage_reported.find(a.model);
      if (reported != usage_reported.end() && !reported->second &&
          a.prompt_tokens + a.completion_tokens > 0)
        m->cost_estimated = true;
    }
    if (a.verdict != "promoted") continue;
    ++m->promotions;
    auto product = promoted_ratio_product.emplace(a.target, 1.0).first;
    if (a.primary_ratio && *a.primary_ratio > 0) product->second *= *a.primary_ratio;
    const Proposal* proposal = proposal_of(a.reply);
    if (proposal && (proposal->label == "wrong" || proposal->label == "cheat")) {
      ++m->false_promotions;
      m->false_promotion_notes.push_back("attempt " + std::to_string(a.id) + ": proposal '" +
                                         proposal->name + "' (" + proposal->label + ")");
    }
  }
  // The product of the promotions' primary ratios, each measured side by side against its parent
  // by the benchmark gate: stored baselines recorded at other times on a shared machine would
  // mix the machine's drift into the figure.
  double log_sum = 0;
  m->speedup_source = "promoted ratios";
  for (const Target* target : targets) {
    auto product = promoted_ratio_product.find(target->name);
    if (product != promoted_ratio_product.end()) log_sum -= std::log(product->second);
  }
  m->speedup = targets.empty() ? 1 : std::exp(log_sum / static_cast<double>(targets.size()));
}

}  // namespace rlvr
