#include "harness/executors/staged_verdict.h"

#include "harness/verify/evaluate.h"

namespace rlvr {

namespace {

bool Passed(const nlohmann::json& verdict) {
  const nlohmann::json& failed = verdict.value("failed_gate", nlohmann::json());
  bool no_failure = failed.is_null() || (failed.is_string() && failed.get<std::string>().empty());
  return no_failure && !verdict.value("stopped", false) &&
         verdict.value("machine_fault", std::string()).empty();
}

const nlohmann::json* FindGate(const nlohmann::json& verdict, const std::string& name) {
  auto gates = verdict.find("gates");
  if (gates == verdict.end() || !gates->is_array()) return nullptr;
  for (const nlohmann::json& gate : *gates)
    if (gate.is_object() && gate.value("name", "") == name) return &gate;
  return nullptr;
}

}  // namespace

bool ChecksStagePassed(const nlohmann::json& checks) {
  if (!checks.is_object() || !Passed(checks)) return false;
  // A verdict that ran no tests is no checks stage (an empty or foreign JSON object).
  const nlohmann::json* tests = FindGate(checks, "tests");
  return tests != nullptr && tests->value("status", "") == "pass";
}

nlohmann::json StagedVerdict(const nlohmann::json& checks_verdict,
                             const nlohmann::json& benchmark) {
  const nlohmann::json checks =
      checks_verdict.is_object() ? checks_verdict : nlohmann::json::object();
  nlohmann::json joined = benchmark;
  nlohmann::json gates = nlohmann::json::array();
  for (const nlohmann::json& gate : benchmark.value("gates", nlohmann::json::array())) {
    std::string name = gate.value("name", "");
    const nlohmann::json* checked = IsChecksStageGate(name) ? FindGate(checks, name) : nullptr;
    gates.push_back(checked != nullptr ? *checked : gate);
  }
  joined["gates"] = gates;
  // The tests that judged the candidate ran with the checks stage's seed.
  if (checks.contains("seed")) joined["seed"] = checks["seed"];
  joined["seconds"] = checks.value("seconds", 0.0) + benchmark.value("seconds", 0.0);
  const nlohmann::json* bench_gate = FindGate(benchmark, "benchmark");
  bool measured = bench_gate != nullptr && bench_gate->value("status", "") == "pass";
  bool promotable = ChecksStagePassed(checks) && Passed(benchmark) && measured;
  joined["promotable"] = promotable;
  if (promotable) joined["message"] = "every gate passed: " + bench_gate->value("message", "");
  return joined;
}

}  // namespace rlvr
