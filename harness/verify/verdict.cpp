#include "harness/verify/verdict.h"

#include <fmt/format.h>

namespace rlvr {

namespace {

GateStatus StatusFromName(const std::string& name) {
  if (name == "pass") return GateStatus::kPass;
  if (name == "fail") return GateStatus::kFail;
  return GateStatus::kSkipped;
}

std::string Percent(double ratio) {
  return fmt::format("{:+.1f}%", (ratio - 1) * 100);
}

}  // namespace

const char* GateStatusName(GateStatus status) {
  switch (status) {
    case GateStatus::kPass:
      return "pass";
    case GateStatus::kFail:
      return "fail";
    case GateStatus::kSkipped:
      return "skipped";
  }
  return "skipped";
}

const GateResult* Verdict::FindGate(std::string_view name) const {
  for (const auto& gate : gates) {
    if (gate.name == name) return &gate;
  }
  return nullptr;
}

nlohmann::json SummaryJson(const GateResult& g) {
  return {{"name", g.name},
          {"status", GateStatusName(g.status)},
          {"seconds", g.seconds},
          {"message", g.message}};
}

nlohmann::json SummaryJson(const BenchmarkFigure& f) {
  return {{"name", f.name},      {"baseline_ns", f.baseline_ns}, {"candidate_ns", f.candidate_ns},
          {"ratio", f.ratio},    {"ci_low", f.ci_low},           {"ci_high", f.ci_high},
          {"p_value", f.p_value}};
}

nlohmann::json Verdict::ToJson() const {
  nlohmann::json gates_json = nlohmann::json::array();
  for (const auto& g : gates) {
    nlohmann::json gate = SummaryJson(g);
    gate["detail"] = g.detail;
    gates_json.push_back(std::move(gate));
  }
  nlohmann::json benchmarks = nlohmann::json::array();
  for (const auto& f : figures) {
    nlohmann::json figure = SummaryJson(f);
    figure["primary"] = f.primary;
    figure["reference"] = f.reference;
    figure["candidate_samples_ns"] = f.candidate_samples_ns;
    benchmarks.push_back(std::move(figure));
  }
  nlohmann::json json = {
      {"target", target},
      {"promotable", promotable},
      {"verdict", promotable ? "passed" : "failed"},
      {"failed_gate", failed_gate.empty() ? nlohmann::json() : nlohmann::json(failed_gate)},
      {"message", message},
      {"gates", gates_json},
      {"figures", {{"metric", metric}, {"benchmarks", benchmarks}}},
      {"primary_ratio", primary_ratio > 0 ? nlohmann::json(primary_ratio) : nlohmann::json()},
      {"patch", patch},
      {"changed_files", changed_files},
      {"head_commit", head_commit},
      {"seconds", seconds},
      {"suspicious", suspicious},
      {"seed", seed},
      {"extra_seeds", extra_seeds},
      {"host_drift", host_drift},
      {"machine_fault", machine_fault},
      {"stopped", stopped},
      {"stopped_at", stopped_at},
  };
  nlohmann::json contents = nlohmann::json::object();
  for (const auto& [path, text] : new_contents) contents[path] = text;
  json["new_contents"] = contents;
  return json;
}

Verdict VerdictFromJson(const nlohmann::json& json) {
  Verdict v;
  v.target = json.value("target", "");
  v.promotable = json.value("promotable", false);
  if (json.contains("failed_gate") && json["failed_gate"].is_string())
    v.failed_gate = json["failed_gate"].get<std::string>();
  v.message = json.value("message", "");
  for (const auto& g : json.value("gates", nlohmann::json::array())) {
    v.gates.push_back({g.value("name", ""), StatusFromName(g.value("status", "skipped")),
                       g.value("seconds", 0.0), g.value("message", ""), g.value("detail", "")});
  }
  if (json.contains("figures")) {
    v.metric = json["figures"].value("metric", "real_time");
    for (const auto& f : json["figures"].value("benchmarks", nlohmann::json::array())) {
      BenchmarkFigure b;
      b.name = f.value("name", "");
      b.baseline_ns = f.value("baseline_ns", 0.0);
      b.candidate_ns = f.value("candidate_ns", 0.0);
      b.ratio = f.value("ratio", 1.0);
      b.ci_low = f.value("ci_low", 1.0);
      b.ci_high = f.value("ci_high", 1.0);
      b.p_value = f.value("p_value", 1.0);
      b.primary = f.value("primary", false);
      b.reference = f.value("reference", false);
      b.candidate_samples_ns = f.value("candidate_samples_ns", std::vector<double>{});
      v.figures.push_back(std::move(b));
    }
  }
  if (json.contains("primary_ratio") && json["primary_ratio"].is_number())
    v.primary_ratio = json["primary_ratio"].get<double>();
  v.patch = json.value("patch", "");
  v.changed_files = json.value("changed_files", std::vector<std::string>{});
  v.head_commit = json.value("head_commit", "");
  v.seconds = json.value("seconds", 0.0);
  v.suspicious = json.value("suspicious", false);
  v.seed = json.value("seed", uint64_t{0});
  v.extra_seeds = json.value("extra_seeds", std::vector<uint64_t>{});
  v.host_drift = json.value("host_drift", "");
  v.machine_fault = json.value("machine_fault", "");
  v.stopped = json.value("stopped", false);
  v.stopped_at = json.value("stopped_at", "");
  if (json.contains("new_contents") && json["new_contents"].is_object()) {
    for (const auto& [path, text] : json["new_contents"].items())
      v.new_contents.emplace_back(path, text.get<std::string>());
  }
  return v;
}

std::string Verdict::Render() const {
  std::string out = fmt::format("{}: {} — {}\n", target.empty() ? "(target)" : target,
                                promotable ? "PROMOTABLE" : "REJECTED", message);
  for (const auto& g : gates) {
    out += fmt::format("  {:<12} {:<7} {:>7.1f} s  {}\n", g.name, GateStatusName(g.status),
                       g.seconds, g.message);
    if (!g.detail.empty()) {
      size_t start = 0;
      int shown = 0;
      while (start < g.detail.size() && shown < 12) {
        size_t end = g.detail.find('\n', start);
        if (end == std::string::npos) end = g.detail.size();
        out += "      | " + g.detail.substr(start, end - start) + "\n";
        start = end + 1;
        ++shown;
      }
    }
  }
  if (!figures.empty()) {
    out += fmt::format("  {:<28} {:>12} {:>12} {:>8} {:>20} {:>8}\n", "benchmark (real time)",
                       "baseline", "candidate", "change", "95% CI", "p");
    for (const auto& f : figures) {
      out += fmt::format("  {:<28} {:>9.0f} ns {:>9.0f} ns {:>8} {:>20} {:>8.3g}{}\n", f.name,
                         f.baseline_ns, f.candidate_ns, Percent(f.ratio),
                         fmt::format("[{}, {}]", Percent(f.ci_low), Percent(f.ci_high)), f.p_value,
                         f.primary ? "  (primary)" : (f.reference ? "  (reference)" : ""));
    }
  }
  if (seed != 0) {
    out += fmt::format("  test seed RLVR_TEST_SEED={}", seed);
    for (uint64_t s : extra_seeds) out += fmt::format(", {}", s);
    out += "\n";
  }
  if (suspicious) out += "  suspicious speed-up: re-verified with more seeds and a second run\n";
  if (!host_drift.empty()) out += "  note: " + host_drift + "\n";
  if (!machine_fault.empty()) out += "  not the candidate's fault: " + machine_fault + "\n";
  if (stopped)
    out += "  not judged: stopped at the " + stopped_at + " gate (rlvr was asked to stop)\n";
  out += fmt::format("  total {:.1f} s\n", seconds);
  return out;
}

}  // namespace rlvr
