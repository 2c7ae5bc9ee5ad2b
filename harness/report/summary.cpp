#include "harness/report/summary.h"

#include <fmt/format.h>

#include <algorithm>

#include "harness/report/cost.h"
#include "harness/report/format.h"

namespace rlvr {
namespace {

std::string Plural(int count, const char* singular, const char* plural) {
  return fmt::format("{} {}", count, count == 1 ? singular : plural);
}

// "37 attempts, 2 promotions, 4 passed but not promoted, 30 failed (most at build: 12), 1 error".
// Passes are not promoted when another candidate of the round was, or when the benchmark gate
// was skipped (--no-benchmark).
std::string TallyText(const VerdictTally& tally) {
  std::string text = Plural(tally.attempts, "attempt", "attempts") + ", " +
                     Plural(tally.promoted, "promotion", "promotions");
  if (tally.passed > 0) text += fmt::format(", {} passed but not promoted", tally.passed);
  if (tally.failed > 0) {
    std::string worst;
    int worst_count = 0;
    for (const auto& [category, count] : tally.by_category) {
      if (category == "promoted" || category == "passed") continue;
      if (count > worst_count) {
        worst = category;
        worst_count = count;
      }
    }
    text += fmt::format(", {} failed", tally.failed);
    if (!worst.empty()) text += fmt::format(" (most at {}: {})", worst, worst_count);
  }
  if (tally.errors > 0) text += ", " + Plural(tally.errors, "error", "errors");
  return text;
}

std::string PrimaryName(const ReportData& data, const std::string& target) {
  for (const TargetReport& report : data.targets) {
    if (report.name == target && !report.primary.empty()) return target + " " + report.primary;
  }
  return target;
}

}  // namespace

std::string SummaryParagraph(const ReportData& data) {
  std::string where = data.ledger_path.string();
  std::string scope = data.target_filter.empty() ? "" : " for target " + data.target_filter;
  if (data.ledger_state == ReportData::LedgerState::kMissing) {
    return fmt::format(
        "Nothing to report yet: there is no ledger at {}. Run rlvr iterate to "
        "let the model try; this report fills in as attempts are recorded.",
        where);
  }
  if (data.ledger_state == ReportData::LedgerState::kEmpty) {
    return fmt::format("Nothing to report yet: the ledger at {} has no attempts{}.", where, scope);
  }
  if (data.totals.attempts == 0) {
    return fmt::format("No attempts{} since {}; widen --since to see older ones.", scope,
                       data.since);
  }
  std::vector<std::string> sentences;
  if (data.last_run && data.since.empty()) {
    const RunSummary& run = *data.last_run;
    std::string text = fmt::format("Last run (#{}, {}{}): {}", run.id, run.started_at,
                                   run.model.empty() ? "" : ", " + run.model, TallyText(run.tally));
    for (const auto& [target, factor] : run.improvements) {
      text += fmt::format(", {} {}", PrimaryName(data, target), FormatSpeedup(factor));
    }
    if (!run.strategy.empty() && run.strategy != "greedy") text += "; strategy " + run.strategy;
    text += "; cost " + CostText(run.tally.cost);
    sentences.push_back(text + ".");
  }
  std::string window =
      data.since.empty() ? fmt::format("From {} to {}", data.first_attempt_at, data.last_attempt_at)
                         : fmt::format("Since {}", data.since);
  sentences.push_back(fmt::format("{}{}: {}; cost {}.", window, scope, TallyText(data.totals),
                                  CostText(data.totals.cost)));
  std::vector<std::string> standings;
  for (const TargetReport& target : data.targets) {
    if (target.promotions.empty()) continue;
    const Promotion& last = target.promotions.back();
    if (last.speedup > 0) {
      standings.push_back(fmt::format("{} {} since its first baseline ({} → {})",
                                      PrimaryName(data, target.name), FormatSpeedup(last.speedup),
                                      FormatNanoseconds(target.first_baseline_ns),
                                      FormatNanoseconds(last.primary_ns)));
    }
  }
  if (!standings.empty()) {
    std::string joined;
    for (size_t i = 0; i < standings.size(); ++i) joined += (i ? "; " : "") + standings[i];
    sentences.push_back("Where they stand: " + joined + ".");
  }
  std::string paragraph;
  for (size_t i = 0; i < sentences.size(); ++i) paragraph += (i ? " " : "") + sentences[i];
  return paragraph;
}

}  // namespace rlvr
