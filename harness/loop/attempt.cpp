#include "harness/loop/attempt.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rlvr {

using nlohmann::json;

std::string ClockNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::string GatesJson(const Verdict& v) {
  json gates = json::array();
  for (const GateResult& g : v.gates) {
    json entry = SummaryJson(g);
    if (!g.detail.empty()) entry["detail"] = g.detail.substr(0, 4000);
    gates.push_back(std::move(entry));
  }
  return gates.dump();
}

std::string FiguresJson(const Verdict& v) {
  if (v.figures.empty()) return "";
  json benchmarks = json::array();
  for (const BenchmarkFigure& f : v.figures) benchmarks.push_back(SummaryJson(f));
  return json{{"metric", v.metric}, {"benchmarks", benchmarks}}.dump();
}

std::string EvaluationKey(int64_t attempt_id) {
  return "a" + std::to_string(attempt_id);
}

int64_t AttemptIdOfKey(const std::string& key) {
  if (key.size() < 2 || key[0] != 'a' || key.size() > 19 ||
      key.find_first_not_of("0123456789", 1) != std::string::npos)
    return 0;
  return std::stoll(key.substr(1));
}

std::string LedgerVerdict(const Verdict& v) {
  if (!v.machine_fault.empty()) return "error";
  return v.promotable || v.failed_gate.empty() ? "passed" : "failed";
}

std::string VerdictReason(const Verdict& v) {
  if (!v.machine_fault.empty())
    return "not judged (the machine's fault, not the candidate's): " + v.machine_fault + " [" +
           v.message + "]";
  if (!v.promotable && v.failed_gate.empty()) {
    return "passed every gate run; the benchmark gate was skipped (--no-benchmark), so it is not "
           "promoted";
  }
  const GateResult* gate = v.FindGate(v.failed_gate);
  // The apply gate says "patch does not apply" for every refusal; the applier's first line says
  // which: no patch in the reply, a whole file identical to HEAD, a hunk that does not match...
  if (!gate || gate->name != "apply" || gate->detail.empty()) return v.message;
  std::string first = gate->detail.substr(0, gate->detail.find('\n'));
  if (first.rfind("no patch found", 0) == 0 || first.find("changes nothing") != std::string::npos) {
    return "apply gate failed: " + first;
  }
  return v.message + ": " + first;
}

std::string AttemptLine(const AttemptRecord& a, const std::string& when) {
  std::string clock = when.empty() ? ClockNow() : when;
  std::string id = fmt::format("{}.{}", a.round, a.candidate);
  if (a.repair > 0) id += fmt::format(".{}", a.repair);
  std::string line =
      fmt::format("[{}] {} {} {} {}", clock, a.target, id, a.verdict, a.failed_gate.value_or("-"));
  line += a.primary_ratio ? fmt::format(" {:.3f}", *a.primary_ratio) : std::string(" -");
  line += fmt::format(" {:.1f}s", a.seconds);
  if (a.promoted_commit) line += " commit " + a.promoted_commit->substr(0, 12);
  // A pass without a benchmark figure (--no-benchmark) says why it is not promoted.
  if (a.verdict == "failed" || a.verdict == "error" ||
      (a.verdict == "passed" && !a.primary_ratio)) {
    // One line of at most kMaxReason characters; "..." marks a cut (the ledger keeps it all).
    constexpr size_t kMaxReason = 200;
    std::string why =
        a.message.size() <= kMaxReason ? a.message : a.message.substr(0, kMaxReason - 3) + "...";
    std::replace(why.begin(), why.end(), '\n', ' ');
    if (!why.empty()) line += "  (" + why + ")";
  }
  return line;
}

}  // namespace rlvr
