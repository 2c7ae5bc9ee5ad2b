#include "harness/report/data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "harness/base/utc_time.h"
#include "harness/git/attempt_commits.h"
#include "harness/git/handle.h"
#include "harness/ledger/history.h"

namespace rlvr {
namespace {

using json = nlohmann::json;

// Gates in the order DESIGN.md runs them, plus `llm` for replies that never arrived.
const std::vector<std::string>& GateOrder() {
  static const std::vector<std::string> gates = {
      "scope",    "apply",      "format",      "build",     "tests", "history",
      "portable", "sanitizers", "allocations", "benchmark", "llm"};
  return gates;
}

void Count(VerdictTally& tally, const AttemptRow& row) {
  ++tally.attempts;
  if (row.verdict == "promoted") {
    ++tally.promoted;
  } else if (row.verdict == "passed") {
    ++tally.passed;
  } else if (row.verdict == "error") {
    ++tally.errors;
  } else {
    ++tally.failed;
  }
  ++tally.by_category[AttemptCategory(row.verdict, row.failed_gate)];
  tally.tokens += row.tokens;
  tally.seconds += row.seconds;
  tally.cost.Add(row.cost, row.cost_estimated, row.verdict, row.primary_ratio);
}

// A loop killed between its promotion commit and its ledger write leaves the row 'passed'; git
// has the truth (the commit's Rlvr-Attempt trailer), and the report tells it as the next loop
// will record it. Nothing when `repo_root` is not a readable repository.
void MarkUnrecordedPromotions(const std::filesystem::path& repo_root,
                              std::vector<AttemptRow>& rows) {
  std::vector<AttemptCommit> commits;
  try {
    commits = AttemptCommits(repo_root);
  } catch (const std::exception&) {
    return;
  }
  for (const AttemptCommit& c : commits) {
    for (AttemptRow& row : rows) {
      if (row.id == c.attempt_id && row.verdict == "passed" &&
          c.subject.rfind(row.target + ": ", 0) == 0)
        row.verdict = "promoted";
    }
  }
}

// Every attempt (of `target` unless it is "") without its large texts, oldest first.
std::vector<AttemptRow> LoadAttemptRows(const LedgerHistory& ledger, const std::string& target) {
  std::vector<AttemptRow> rows;
  for (AttemptOutline& outline : ledger.Attempts(target)) {
    AttemptRow row;
    row.id = outline.id;
    row.run_id = outline.run_id;
    row.created_at = std::move(outline.created_at);
    row.target = std::move(outline.target);
    row.model = std::move(outline.model);
    row.round = outline.round;
    row.candidate = outline.candidate;
    row.repair = outline.repair;
    row.verdict = std::move(outline.verdict);
    row.failed_gate = std::move(outline.failed_gate);
    row.message = std::move(outline.message);
    row.primary_ratio = outline.primary_ratio;
    row.tokens = outline.prompt_tokens + outline.completion_tokens;
    row.seconds = outline.seconds;
    row.cost = outline.cost;
    row.cost_estimated = outline.cost_estimated;
    rows.push_back(std::move(row));
  }
  return rows;
}

std::optional<double> OptionalNumber(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// figures_json as DESIGN.md fixes it; malformed figures are skipped, not fatal.
void ParseFigures(const std::string& text, Promotion& promotion) {
  json figures = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!figures.is_object()) return;
  if (figures.contains("metric") && figures["metric"].is_string()) {
    promotion.metric = figures["metric"].get<std::string>();
  }
  if (!figures.contains("benchmarks") || !figures["benchmarks"].is_array()) return;
  for (const json& entry : figures["benchmarks"]) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string()) continue;
    PromotionFigure figure;
    figure.name = entry["name"].get<std::string>();
    figure.baseline_ns = OptionalNumber(entry, "baseline_ns").value_or(0);
    figure.candidate_ns = OptionalNumber(entry, "candidate_ns").value_or(0);
    figure.ratio =
        OptionalNumber(entry, "ratio")
            .value_or(figure.baseline_ns > 0 ? figure.candidate_ns / figure.baseline_ns : 0);
    figure.ci_low = OptionalNumber(entry, "ci_low");
    figure.ci_high = OptionalNumber(entry, "ci_high");
    figure.p_value = OptionalNumber(entry, "p_value");
    promotion.figures.push_back(std::move(figure));
  }
}

std::map<std::string, std::vector<Promotion>> LoadPromotions(const LedgerHistory& ledger,
                                                             const std::string& target) {
  std::map<std::string, std::vector<Promotion>> by_target;
  for (PromotedAttempt& promoted : ledger.Promotions(target)) {
    Promotion promotion;
    promotion.attempt_id = promoted.attempt_id;
    promotion.created_at = std::move(promoted.created_at);
    promotion.model = std::move(promoted.model);
    promotion.round = promoted.round;
    promotion.commit = std::move(promoted.commit);
    promotion.patch = std::move(promoted.patch);
    ParseFigures(promoted.figures_json, promotion);
    promotion.primary_ratio = promoted.primary_ratio;
    by_target[promoted.target].push_back(std::move(promotion));
  }
  return by_target;
}

// A promotion happened when its commit was made, not when the model's reply arrived (the row's
// created_at, up to an evaluation earlier): each promotion whose commit the repository at
// `repo_dir` holds takes the commit's time. The others keep the row's time.
void UsePromotionCommitTimes(const std::filesystem::path& repo_dir,
                             std::vector<Promotion>& promotions) {
  InitLibgit2();
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, repo_dir.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) < 0)
    return;
  GitOwned<git_repository, git_repository_free> repo(raw);
  for (Promotion& promotion : promotions) {
    git_oid oid;
    git_commit* commit = nullptr;
    if (git_oid_fromstr(&oid, promotion.commit.c_str()) < 0 ||
        git_commit_lookup(&commit, repo.get(), &oid) < 0) {
      continue;
    }
    GitOwned<git_commit, git_commit_free> owned(commit);
    promotion.created_at = FormatUtcTime(static_cast<int64_t>(git_commit_time(commit)));
  }
}

// target name -> first primary benchmark, from rlvr.json; empty when it is missing or unreadable
// (the report then infers the primary from the promotions' figures).
std::map<std::string, std::string> LoadPrimaries(const std::filesystem::path& config_path) {
  std::map<std::string, std::string> primaries;
  std::ifstream in(config_path);
  if (!in) return primaries;
  json config = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object() || !config.contains("targets") || !config["targets"].is_array()) {
    return primaries;
  }
  for (const json& target : config["targets"]) {
    if (!target.is_object() || !target.contains("name") || !target["name"].is_string()) continue;
    if (target.contains("primary") && target["primary"].is_array() && !target["primary"].empty() &&
        target["primary"][0].is_string()) {
      primaries[target["name"].get<std::string>()] = target["primary"][0].get<std::string>();
    }
  }
  return primaries;
}

std::map<std::string, double> Counters(const json& benchmark) {
  std::map<std::string, double> counters;
  if (benchmark.is_object() && benchmark.contains("counters") &&
      benchmark["counters"].is_object()) {
    for (const auto& [name, value] : benchmark["counters"].items()) {
      if (value.is_number()) counters[name] = value.get<double>();
    }
  }
  return counters;
}

void LoadBaseline(const std::filesystem::path& path, TargetReport& target) {
  std::ifstream in(path);
  if (!in) return;
  json baseline = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!baseline.is_object()) {
    target.baseline_problem = fmt::format("{} is not valid JSON", path.string());
    return;
  }
  if (baseline.value("version", 0) != 1) {
    target.baseline_problem =
        fmt::format("{} has baseline format version {}; this rlvr reads version 1", path.string(),
                    baseline.contains("version") ? baseline["version"].dump() : "(none)");
    return;
  }
  target.has_baseline = true;
  if (baseline.contains("commit") && baseline["commit"].is_string()) {
    target.baseline_commit = baseline["commit"].get<std::string>();
  }
  if (baseline.contains("recorded_at") && baseline["recorded_at"].is_string()) {
    target.baseline_recorded_at = baseline["recorded_at"].get<std::string>();
  }
  if (baseline.contains("benchmarks") && baseline["benchmarks"].is_object()) {
    const json& benchmarks = baseline["benchmarks"];
    if (target.primary.empty() && benchmarks.size() == 1) {
      target.primary = benchmarks.begin().key();
    }
    if (benchmarks.contains(target.primary)) {
      const json& primary = benchmarks[target.primary];
      target.baseline_primary_ns = OptionalNumber(primary, "median_ns").value_or(0);
      target.baseline_primary_counters = Counters(primary);
    }
  }
  if (baseline.contains("references") && baseline["references"].is_object()) {
    for (const auto& [name, value] : baseline["references"].items()) {
      ReferenceFigure reference;
      reference.name = name;
      reference.median_ns = OptionalNumber(value, "median_ns").value_or(0);
      reference.counters = Counters(value);
      target.references.push_back(std::move(reference));
    }
  }
}

// The primary benchmark's figure of a promotion: by name, else the one whose ratio is the
// recorded primary_ratio.
const PromotionFigure* PrimaryFigure(const Promotion& promotion, const std::string& primary) {
  for (const PromotionFigure& figure : promotion.figures) {
    if (figure.name == primary) return &figure;
  }
  if (!primary.empty() || !promotion.primary_ratio) return nullptr;
  const PromotionFigure* best = nullptr;
  for (const PromotionFigure& figure : promotion.figures) {
    if (!best || std::abs(figure.ratio - *promotion.primary_ratio) <
                     std::abs(best->ratio - *promotion.primary_ratio)) {
      best = &figure;
    }
  }
  return best;
}

// Time after each promotion, chaining each promotion's interleaved A/B ratio onto the first
// baseline: ratios measured side by side are robust to machine drift between nights, absolute
// times are not.
void ComputeHistory(TargetReport& target) {
  double time_ns = 0;
  for (Promotion& promotion : target.promotions) {
    const PromotionFigure* figure = PrimaryFigure(promotion, target.primary);
    if (figure && target.primary.empty()) target.primary = figure->name;
    if (figure && target.first_baseline_ns == 0 && figure->baseline_ns > 0) {
      target.first_baseline_ns = figure->baseline_ns;
      time_ns = figure->baseline_ns;
    }
    std::optional<double> ratio = promotion.primary_ratio;
    if (figure && figure->ratio > 0) ratio = figure->ratio;
    if (time_ns > 0 && ratio && *ratio > 0) {
      time_ns *= *ratio;
      promotion.primary_ns = time_ns;
      promotion.speedup = target.first_baseline_ns / time_ns;
    } else {
      time_ns = 0;  // the chain is broken: later points would be wrong
    }
  }
  if (target.first_baseline_ns == 0 && target.promotions.empty() &&
      target.baseline_primary_ns > 0) {
    target.first_baseline_ns = target.baseline_primary_ns;
  }
}

void ChooseChartCounter(TargetReport& target) {
  for (const auto& [counter, value] : target.baseline_primary_counters) {
    if (value <= 0 || target.baseline_primary_ns <= 0) continue;
    for (const ReferenceFigure& reference : target.references) {
      if (reference.counters.count(counter)) {
        target.chart_counter = counter;
        return;
      }
    }
  }
}

// Attempts after the previous promotion of the same target, up to and including this one.
void ComputePromotionCosts(const std::vector<AttemptRow>& rows, TargetReport& target) {
  std::unordered_map<int64_t, Promotion*> by_id;
  for (Promotion& promotion : target.promotions) by_id[promotion.attempt_id] = &promotion;
  int attempts = 0;
  int64_t tokens = 0;
  double seconds = 0;
  for (const AttemptRow& row : rows) {
    if (row.target != target.name) continue;
    ++attempts;
    tokens += row.tokens;
    seconds += row.seconds;
    auto it = by_id.find(row.id);
    if (it != by_id.end()) {
      it->second->attempts = attempts;
      it->second->tokens = tokens;
      it->second->seconds = seconds;
      attempts = 0;
      tokens = 0;
      seconds = 0;
    }
  }
}

std::string MaskNumbers(const std::string& message) {
  std::string pattern;
  for (size_t i = 0; i < message.size() && pattern.size() < 200; ++i) {
    if (std::isdigit(static_cast<unsigned char>(message[i]))) {
      while (i + 1 < message.size() &&
             (std::isdigit(static_cast<unsigned char>(message[i + 1])) || message[i + 1] == '.')) {
        ++i;
      }
      pattern += '#';
    } else {
      pattern += message[i];
    }
  }
  return pattern;
}

std::vector<FailureReason> FindFailureReasons(const LedgerHistory& ledger,
                                              const std::vector<const AttemptRow*>& window,
                                              int limit) {
  std::map<std::pair<std::string, std::string>, FailureReason> reasons;
  for (const AttemptRow* row : window) {
    // Repeats are counted once, at the attempt that was judged.
    if (row->verdict == "promoted" || row->verdict == "passed" || row->verdict == "repeat")
      continue;
    std::string category = AttemptCategory(row->verdict, row->failed_gate);
    std::string pattern = MaskNumbers(row->message);
    FailureReason& reason = reasons[{category, pattern}];
    reason.category = category;
    reason.pattern = pattern;
    ++reason.count;
    reason.example_id = row->id;  // rows run oldest first: the last one seen is the most recent
    reason.example_target = row->target;
    reason.example_created_at = row->created_at;
    reason.example_message = row->message;
  }
  std::vector<FailureReason> sorted;
  for (auto& [key, reason] : reasons) sorted.push_back(std::move(reason));
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.count != b.count ? a.count > b.count : a.example_id > b.example_id;
  });
  if (sorted.size() > static_cast<size_t>(limit)) sorted.resize(static_cast<size_t>(limit));
  for (FailureReason& reason : sorted) {
    reason.example_reply = ledger.ReplyStart(reason.example_id, 1200);
  }
  return sorted;
}

int64_t ChooseBucketSeconds(int64_t span, int max_buckets) {
  static const int64_t kSizes[] = {60,         300,        900,        1800,  3600,
                                   3 * 3600,   6 * 3600,   12 * 3600,  86400, 7 * 86400,
                                   30 * 86400, 91 * 86400, 365 * 86400};
  for (int64_t size : kSizes) {
    if (span / size + 1 <= max_buckets) return size;
  }
  return (span / std::max(max_buckets - 1, 1)) + 1;
}

void FillBuckets(const std::vector<const AttemptRow*>& window, int max_buckets, ReportData& data) {
  std::vector<std::pair<int64_t, const AttemptRow*>> timed;
  for (const AttemptRow* row : window) {
    if (auto t = ParseUtcTime(row->created_at)) timed.emplace_back(*t, row);
  }
  if (timed.empty()) return;
  int64_t first = timed.front().first, last = timed.front().first;
  for (const auto& [t, row] : timed) {
    first = std::min(first, t);
    last = std::max(last, t);
  }
  int64_t size = ChooseBucketSeconds(last - first, std::max(max_buckets, 1));
  int64_t origin = first - ((first % size) + size) % size;
  data.bucket_seconds = size;
  data.buckets.resize(static_cast<size_t>((last - origin) / size + 1));
  for (size_t i = 0; i < data.buckets.size(); ++i) {
    data.buckets[i].start = origin + static_cast<int64_t>(i) * size;
  }
  for (const auto& [t, row] : timed) {
    ++data.buckets[static_cast<size_t>((t - origin) / size)]
          .by_category[AttemptCategory(row->verdict, row->failed_gate)];
  }
}

void LoadLastRun(const LedgerHistory& ledger, const std::vector<AttemptRow>& rows,
                 const std::vector<TargetReport>& targets, ReportData& data) {
  std::optional<RunRecord> last = ledger.LastRun();
  if (!last) return;
  RunSummary run;
  run.id = last->id;
  run.started_at = last->started_at;
  run.finished_at = last->finished_at.value_or("");
  run.model = last->model;
  run.stop_reason = last->stop_reason.value_or("");
  run.strategy = last->strategy;
  std::set<int64_t> promoted_in_run;
  for (const AttemptRow& row : rows) {
    if (row.run_id != run.id) continue;
    Count(run.tally, row);
    if (row.verdict == "promoted") promoted_in_run.insert(row.id);
  }
  for (const TargetReport& target : targets) {
    double factor = 1;
    bool any = false;
    for (const Promotion& promotion : target.promotions) {
      if (!promoted_in_run.count(promotion.attempt_id)) continue;
      const PromotionFigure* figure = PrimaryFigure(promotion, target.primary);
      double ratio =
          figure && figure->ratio > 0 ? figure->ratio : promotion.primary_ratio.value_or(0);
      if (ratio > 0) {
        factor /= ratio;
        any = true;
      }
    }
    if (any) run.improvements.emplace_back(target.name, factor);
  }
  if (run.tally.attempts > 0 || !run.improvements.empty()) data.last_run = std::move(run);
}

// Per model and per run, over the attempts inside --since.
void LoadModelsAndRuns(const LedgerHistory& ledger, const std::vector<const AttemptRow*>& window,
                       ReportData& data) {
  std::map<std::string, ModelSummary> models;
  std::map<int64_t, VerdictTally> run_tallies;
  for (const AttemptRow* row : window) {
    ModelSummary& model = models[row->model];
    model.model = row->model;
    // Each request books its tokens (and cost) on one row; a request that failed is an 'llm' error.
    if (row->tokens > 0 || row->cost || (row->verdict == "error" && row->failed_gate == "llm")) {
      ++model.requests;
    }
    Count(model.tally, *row);
    Count(run_tallies[row->run_id], *row);
  }
  for (auto& [name, model] : models) data.models.push_back(std::move(model));
  for (const RunRecord& record : ledger.Runs()) {
    auto it = run_tallies.find(record.id);
    if (it == run_tallies.end()) continue;
    RunSummary run;
    run.id = record.id;
    run.started_at = record.started_at;
    run.finished_at = record.finished_at.value_or("");
    run.model = record.model;
    run.stop_reason = record.stop_reason.value_or("");
    run.strategy = record.strategy;
    run.tally = std::move(it->second);
    data.runs.push_back(std::move(run));
  }
}

}  // namespace

std::string AttemptCategory(const std::string& verdict, const std::string& failed_gate) {
  // A repeat was not judged again: its own category, not its earlier judgement's gate.
  if (verdict == "promoted" || verdict == "passed" || verdict == "repeat") return verdict;
  return failed_gate.empty() ? verdict : failed_gate;
}

std::vector<std::string> OrderedCategories(const std::map<std::string, int>& seen) {
  std::vector<std::string> order = {"promoted", "passed"};
  for (const std::string& gate : GateOrder()) order.push_back(gate);
  order.push_back("failed");
  order.push_back("repeat");
  order.push_back("error");
  std::vector<std::string> present;
  for (const std::string& category : order) {
    if (seen.count(category)) present.push_back(category);
  }
  for (const auto& [category, count] : seen) {
    if (std::find(order.begin(), order.end(), category) == order.end()) {
      present.push_back(category);
    }
  }
  return present;
}

namespace {

ReportData LoadReportDataOrThrowLedgerError(const ReportOptions& options) {
  ReportData data;
  data.ledger_path = options.ledger_path;
  data.generated_at = FormatUtcTime(UnixNow());
  data.since = options.since;
  data.target_filter = options.target;

  std::map<std::string, std::string> primaries = LoadPrimaries(options.config_path);
  std::map<std::string, TargetReport> targets;
  auto add_target = [&](const std::string& name) -> TargetReport& {
    TargetReport& target = targets[name];
    if (target.name.empty()) {
      target.name = name;
      auto it = primaries.find(name);
      if (it != primaries.end()) target.primary = it->second;
    }
    return target;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(options.baselines_dir, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(options.baselines_dir, ec)) {
      if (entry.path().extension() != ".json") continue;
      std::string name = entry.path().stem().string();
      if (options.target.empty() || name == options.target) add_target(name);
    }
  }
  if (!options.target.empty()) add_target(options.target);

  std::vector<AttemptRow> rows;
  std::optional<LedgerHistory> ledger;
  if (std::filesystem::exists(options.ledger_path, ec)) {
    ledger.emplace(options.ledger_path);
    rows = LoadAttemptRows(*ledger, options.target);
    MarkUnrecordedPromotions(options.config_path.parent_path(), rows);
    for (auto& [name, promotions] : LoadPromotions(*ledger, options.target)) {
      UsePromotionCommitTimes(options.config_path.parent_path(), promotions);
      add_target(name).promotions = std::move(promotions);
    }
    data.ledger_state =
        rows.empty() ? ReportData::LedgerState::kEmpty : ReportData::LedgerState::kOk;
  }

  std::vector<const AttemptRow*> window;
  for (const AttemptRow& row : rows) {
    add_target(row.target);
    if (!options.since.empty() && row.created_at < options.since) continue;
    window.push_back(&row);
    Count(data.totals, row);
    Count(targets[row.target].window, row);
  }
  if (!window.empty()) {
    data.first_attempt_at = window.front()->created_at;
    data.last_attempt_at = window.back()->created_at;
  }

  for (auto& [name, target] : targets) {
    LoadBaseline(options.baselines_dir / (name + ".json"), target);
    ComputeHistory(target);
    ChooseChartCounter(target);
    ComputePromotionCosts(rows, target);
    for (Promotion& promotion : target.promotions) {
      promotion.in_window = options.since.empty() || promotion.created_at >= options.since;
    }
    data.targets.push_back(std::move(target));
  }

  size_t shown = std::min(window.size(), static_cast<size_t>(std::max(options.recent_rows, 0)));
  for (size_t i = 0; i < shown; ++i) data.recent.push_back(*window[window.size() - 1 - i]);
  data.hidden_attempts = static_cast<int>(window.size() - shown);
  if (ledger) {
    data.failures = FindFailureReasons(*ledger, window, options.failure_reasons);
    LoadLastRun(*ledger, rows, data.targets, data);
    LoadModelsAndRuns(*ledger, window, data);
  }
  FillBuckets(window, options.max_buckets, data);
  return data;
}

}  // namespace

ReportData LoadReportData(const ReportOptions& options) {
  try {
    return LoadReportDataOrThrowLedgerError(options);
  } catch (const LedgerError& e) {
    throw ReportError(e.what());
  }
}

}  // namespace rlvr
