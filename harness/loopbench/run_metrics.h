// What one loop bench run achieved, read back from its ledger and the bench repository's
// baselines: promotions and false promotions (a promoted reply that is a 'wrong' or 'cheat'
// proposal: a hole in the verifier), the final primary speed-up, tokens and dollars.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/ledger/ledger.h"
#include "harness/llm/price.h"
#include "harness/llm/proposal_library.h"

namespace rlvr {

struct RunMetrics {
  std::string strategy;
  int seed = 0;
  std::string stop_reason;
  int attempts = 0;   // ledger rows of the run
  int proposals = 0;  // replies the simulated models served
  int promotions = 0;
  int false_promotions = 0;
  std::vector<std::string> false_promotion_notes;  // "attempt 7: proposal 'x' (wrong)"
  // Geometric mean over the targets of (start / end primary median), each target's own the
  // geometric mean over its primary benchmarks; 1 = no change.
  double speedup = 1;
  // Always "promoted ratios": the product of the promotions' side-by-side primary ratios.
  std::string speedup_source = "promoted ratios";
  int64_t tokens = 0;
  double cost = 0;              // dollars; 0 when no model has a price
  bool cost_estimated = false;  // some tokens were estimated, not reported
  bool priced = false;          // some model has a price
  double wall_seconds = 0;

  std::optional<double> CostPerPromotion() const;
  // (speedup - 1) / cost: what a dollar bought; nullopt when nothing was paid.
  std::optional<double> GainPerDollar() const;
  nlohmann::json ToJson() const;
};

// Fills the ledger-derived fields of `metrics` from run `run_id`'s attempts; the speed-up is the
// product of the promotions' primary ratios (each measured side by side against its parent).
// `proposal_of` finds the proposal a reply is (nullptr: none); `prices` are by model name, and
// used only when the ledger holds no cost (rows written before cost was stored).
void MeasureRun(const Ledger& ledger, int64_t run_id, const std::vector<const Target*>& targets,
                const std::function<const Proposal*(const std::string&)>& proposal_of,
                const std::map<std::string, std::optional<ModelPrice>>& prices,
                const std::map<std::string, bool>& usage_reported, RunMetrics* metrics);

}  // namespace rlvr
