// The model of `rlvr report`: what the HTML and Markdown pages show, loaded read-only from the
// ledger (.rlvr/ledger.sqlite, schema version 1 to 3, read through harness/ledger/history.h), the
// stored baselines (baselines/<target>.json) and rlvr.json (each target's primary benchmark).
// Renderers only format this; all selection, aggregation and arithmetic happens in LoadReportData.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/report/cost.h"

namespace rlvr {

// A ledger or baseline the report cannot read (wrong schema version, not SQLite, ...).
class ReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ReportOptions {
  std::filesystem::path ledger_path;    // need not exist: the report then says there is nothing
  std::filesystem::path baselines_dir;  // baselines/<target>.json; need not exist
  std::filesystem::path config_path;    // rlvr.json; need not exist
  std::string since;                    // ISO UTC lower bound on attempts; "" = all of them
  std::string target;                   // only this target; "" = all
  int recent_rows = 200;                // attempts listed one per row; older ones are counted
  int failure_reasons = 10;             // most common failure reasons shown
  int max_buckets = 48;                 // bars of the attempts-over-time chart
};

// Verdicts of a set of attempts, failures broken down by the gate that stopped them.
struct VerdictTally {
  int attempts = 0;
  int promoted = 0;
  int passed = 0;
  int failed = 0;
  int errors = 0;
  std::map<std::string, int> by_category;  // see AttemptCategory
  int64_t tokens = 0;
  double seconds = 0;
  CostTally cost;  // dollars of the priced attempts against the promotions' speed-up
};

// "promoted", "passed", "repeat", the failed gate's name for failed/error attempts that name one,
// else the verdict itself ("failed", "error").
std::string AttemptCategory(const std::string& verdict, const std::string& failed_gate);
// Every category in display order: verdicts, then gates in DESIGN.md order, then the rest.
std::vector<std::string> OrderedCategories(const std::map<std::string, int>& seen);

struct PromotionFigure {
  std::string name;
  double baseline_ns = 0;
  double candidate_ns = 0;
  double ratio = 0;  // candidate / baseline; < 1 is faster
  std::optional<double> ci_low, ci_high, p_value;
};

struct Promotion {
  int64_t attempt_id = 0;
  std::string created_at;
  std::string commit;
  std::string model;
  int round = 0;
  std::string patch;
  std::string metric;
  std::vector<PromotionFigure> figures;
  std::optional<double> primary_ratio;
  double primary_ns = 0;  // primary benchmark time after this promotion; 0 when unknown
  double speedup = 0;     // first baseline time / primary_ns; 0 when unknown
  // Cost of getting here: attempts of this target after the previous promotion, this one included.
  int attempts = 0;
  int64_t tokens = 0;
  double seconds = 0;
  bool in_window = true;  // inside --since
};

// A reference measurement of the stored baseline (OpenBLAS, hardware limits).
struct ReferenceFigure {
  std::string name;
  double median_ns = 0;
  std::map<std::string, double> counters;
};

struct TargetReport {
  std::string name;
  std::string primary;  // primary benchmark; "" when neither rlvr.json nor figures name one
  double first_baseline_ns = 0;       // primary time before the first promotion; 0 when unknown
  std::vector<Promotion> promotions;  // every promotion, oldest first
  VerdictTally window;                // attempts of this target inside --since

  bool has_baseline = false;
  std::string baseline_problem;  // why baselines/<target>.json could not be used, if it could not
  std::string baseline_commit, baseline_recorded_at;
  double baseline_primary_ns = 0;
  std::map<std::string, double> baseline_primary_counters;
  std::vector<ReferenceFigure> references;
  // The counter (e.g. "GFLOPS") shared by the primary benchmark and at least one reference:
  // the history chart is then drawn in that unit with the references as lines. "" otherwise.
  std::string chart_counter;
};

struct AttemptRow {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string created_at;
  std::string target;
  std::string model;
  int round = 0, candidate = 0, repair = 0;
  std::string verdict;
  std::string failed_gate;
  std::string message;
  std::optional<double> primary_ratio;
  int64_t tokens = 0;
  double seconds = 0;
  std::optional<double> cost;  // the request's dollars, on the row that booked it
  bool cost_estimated = false;
};

// Failures whose messages match once numbers are masked, with the most recent as the example.
struct FailureReason {
  std::string category;
  std::string pattern;
  int count = 0;
  int64_t example_id = 0;
  std::string example_target;
  std::string example_created_at;
  std::string example_message;
  std::string example_reply;  // the start of that attempt's model reply
};

struct TimeBucket {
  int64_t start = 0;  // Unix seconds
  std::map<std::string, int> by_category;
};

struct RunSummary {
  int64_t id = 0;
  std::string started_at;
  std::string finished_at;
  std::string model;
  std::string stop_reason;
  std::string strategy;  // "greedy" for runs from before the ledger recorded one
  VerdictTally tally;
  std::vector<std::pair<std::string, double>> improvements;  // target, speed-up factor in this run
};

// What one model did and cost over the report's attempts. `requests` counts the rows that
// booked a request (tokens or a cost) and the requests that failed ('llm' errors); `tally.passed`
// and `tally.promoted` together are its passes.
struct ModelSummary {
  std::string model;
  int requests = 0;
  VerdictTally tally;
};

struct ReportData {
  enum class LedgerState { kMissing, kEmpty, kOk };
  LedgerState ledger_state = LedgerState::kMissing;
  std::filesystem::path ledger_path;
  std::string generated_at;
  std::string since;
  std::string target_filter;

  VerdictTally totals;  // attempts inside --since
  std::string first_attempt_at, last_attempt_at;
  std::vector<TargetReport> targets;
  std::vector<AttemptRow> recent;  // most recent first
  int hidden_attempts = 0;         // attempts in the window not listed in `recent`
  std::vector<FailureReason> failures;
  std::vector<TimeBucket> buckets;
  int64_t bucket_seconds = 0;
  std::optional<RunSummary> last_run;
  std::vector<ModelSummary> models;  // over the attempts inside --since, by model name
  // Runs with attempts inside --since, oldest first, to compare strategies: tallies over those
  // attempts; `improvements` left empty (see last_run).
  std::vector<RunSummary> runs;
};

// Throws ReportError when the ledger exists but cannot be read as schema version 1 to 3.
ReportData LoadReportData(const ReportOptions& options);

}  // namespace rlvr
