#include "harness/report/capacity.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rlvr {

namespace {

// Seconds per gate name from the row's gates_json ({} when unreadable).
std::map<std::string, double> GateSeconds(const AttemptRecord& attempt) {
  std::map<std::string, double> seconds;
  nlohmann::json gates = nlohmann::json::parse(attempt.gates_json, nullptr, false);
  if (!gates.is_array()) return seconds;
  for (const nlohmann::json& gate : gates)
    if (gate.is_object() && gate.contains("name") && gate["name"].is_string())
      seconds[gate["name"].get<std::string>()] += gate.value("seconds", 0.0);
  return seconds;
}

}  // namespace

double NodeFigures::PerHour() const {
  int jobs = checks_jobs + benchmark_jobs;
  return run_seconds > 0 ? jobs * 3600.0 / run_seconds : 0;
}

std::vector<NodeFigures> NodeCapacity(const std::vector<AttemptRecord>& attempts) {
  std::map<std::string, NodeFigures> by_node;
  auto figures = [&](const std::string& name) -> NodeFigures& {
    NodeFigures& f = by_node[name];
    f.node = name;
    return f;
  };
  for (const AttemptRecord& a : attempts) {
    if (!a.node || a.node->empty()) continue;
    const std::string& node = *a.node;
    double run = a.run_seconds.value_or(0);
    size_t comma = node.find(',');
    NodeFigures& checks = figures(node.substr(0, comma));
    checks.checks_jobs += 1;
    if (a.queued_seconds) {
      checks.queued_seconds += *a.queued_seconds;
      checks.queued_count += 1;
    }
    if (comma == std::string::npos) {
      checks.run_seconds += run;
      continue;
    }
    double benchmark = std::min(run, GateSeconds(a)["benchmark"]);
    checks.run_seconds += run - benchmark;
    NodeFigures& bench = figures(node.substr(comma + 1));
    bench.benchmark_jobs += 1;
    bench.run_seconds += benchmark;
  }
  std::vector<NodeFigures> out;
  for (auto& [name, f] : by_node) out.push_back(f);
  return out;
}

std::string TimeBreakdown(const AttemptRecord& attempt) {
  std::map<std::string, double> gates = GateSeconds(attempt);
  if (gates.empty()) return "";
  double build = gates["build"], benchmark = gates["benchmark"], tests = 0;
  for (const auto& [name, seconds] : gates)
    if (name != "build" && name != "benchmark") tests += seconds;
  std::string out;
  if (attempt.queued_seconds) out = fmt::format("queue {:.1f} s, ", *attempt.queued_seconds);
  out += fmt::format("build {:.1f} s, tests {:.1f} s", build, tests);
  if (benchmark > 0) out += fmt::format(", benchmark {:.1f} s", benchmark);
  return out;
}

std::vector<std::string> CapacityLines(const std::vector<NodeFigures>& nodes) {
  if (nodes.empty()) return {"nodes: no judged attempt names one yet"};
  std::vector<std::string> lines;
  for (const NodeFigures& f : nodes) {
    std::string queue = f.queued_count > 0
                            ? fmt::format("mean queue {:.1f} s", f.queued_seconds / f.queued_count)
                            : std::string("no queue time");
    lines.push_back(fmt::format(
        "  {}: {} checks job(s), {} benchmark job(s), {:.0f} s running, {:.0f} per hour, {}",
        f.node, f.checks_jobs, f.benchmark_jobs, f.run_seconds, f.PerHour(), queue));
  }
  return lines;
}

}  // namespace rlvr
