// The settings of `rlvr loop-bench` (a JSON file; every key, its default and meaning in
// harness/loopbench/README.md): which proposal library and targets, which strategies and how many
// seeds, how many proposals a run is served, the simulated models, and how candidates are judged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/llm/price.h"

namespace rlvr {

// Bad settings: the command exits 2 with this message.
class LoopBenchSettingsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoopBenchModel {
  std::string name = "simulated";
  double quality = 1;
  std::optional<ModelPrice> price;  // "IN/OUT[/CACHED]" dollars per million tokens; unset = free
  std::string price_text;           // as written, for the result
  double latency_seconds = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  bool report_usage = true;
};

struct LoopBenchSettings {
  std::filesystem::path library = "tests/fixtures/proposals";  // relative: to the repository root
  std::vector<std::string> targets;                            // empty = every target
  std::vector<std::string> strategies = {"greedy", "best-of-n", "independent", "archive"};
  int seeds = 5;
  int proposals = 50;                       // replies served per run
  int candidates = 2;                       // replies asked for per round
  std::map<std::string, double> class_mix;  // label -> weight; empty = every label alike
  std::vector<LoopBenchModel> models = {LoopBenchModel{}};
  double repeat_rate = 0.1;
  bool no_sanitizers = false;
  int bench_rounds = 0;  // the benchmark gate's rounds; 0 = its default
};

// The strategies RunLoop knows (LoopSettings::strategy).
inline const std::vector<std::string>& KnownStrategies() {
  static const std::vector<std::string> names = {"greedy", "best-of-n", "independent", "archive"};
  return names;
}

// The labels of the proposal library (llm/proposal_library.h).
inline const std::vector<std::string>& ProposalLabels() {
  static const std::vector<std::string> labels = {"faster", "neutral", "slower",
                                                  "wrong",  "cheat",   "malformed"};
  return labels;
}

// Reads settings from JSON; missing keys keep their defaults. Throws LoopBenchSettingsError naming
// the key for an unknown key, a wrong type, an unknown strategy or label, a non-positive count, a
// bad price or two models of one name.
LoopBenchSettings ParseLoopBenchSettings(const nlohmann::json& json);

// The settings as JSON (every key), for the result file.
nlohmann::json LoopBenchSettingsJson(const LoopBenchSettings& settings);

}  // namespace rlvr
