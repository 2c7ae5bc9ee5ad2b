#include "harness/report/markdown.h"

#include <fmt/format.h>

#include <sstream>

#include "harness/report/cost.h"
#include "harness/report/escape.h"
#include "harness/report/format.h"
#include "harness/report/summary.h"

namespace rlvr {
namespace {

std::string Md(const std::string& text) {
  return MarkdownInline(text);
}

std::string PatchBlock(const std::string& patch, size_t max_lines) {
  std::istringstream in(patch);
  std::string line, body;
  size_t count = 0;
  while (std::getline(in, line)) {
    if (count++ < max_lines) body += line + "\n";
  }
  std::string fence = MarkdownFenceFor(body);
  std::string out = fence + "diff\n" + body + fence + "\n";
  if (count > max_lines) out += fmt::format("\n({} more lines in the ledger)\n", count - max_lines);
  return out;
}

std::string PrimaryFigureText(const TargetReport& target, const Promotion& promotion) {
  for (const PromotionFigure& figure : promotion.figures) {
    if (figure.name == target.primary) {
      return FormatRatio(figure.ratio, figure.ci_low, figure.ci_high);
    }
  }
  return FormatRatio(promotion.primary_ratio.value_or(0), std::nullopt, std::nullopt);
}

void TargetSection(const TargetReport& target, const MarkdownOptions& options, std::string& out) {
  out += "### " + Md(target.name) + "\n\n";
  out += fmt::format("Primary benchmark: {}; first baseline {}",
                     target.primary.empty() ? "unknown" : Md(target.primary),
                     FormatNanoseconds(target.first_baseline_ns));
  if (!target.promotions.empty()) {
    const Promotion& last = target.promotions.back();
    out += fmt::format(", now {} ({} since the first baseline, {} promotion{})",
                       FormatNanoseconds(last.primary_ns), FormatSpeedup(last.speedup),
                       target.promotions.size(), target.promotions.size() == 1 ? "" : "s");
  }
  out += ".";
  if (!target.references.empty()) {
    out += " References:";
    for (const ReferenceFigure& reference : target.references) {
      std::string figures;
      for (const auto& [name, value] : reference.counters) {
        figures +=
            fmt::format("{}{} {}", figures.empty() ? "" : ", ", FormatSignificant(value), Md(name));
      }
      if (figures.empty()) figures = FormatNanoseconds(reference.median_ns);
      out += fmt::format(" {} ({}),", Md(reference.name), figures);
    }
    out.back() = '.';
  }
  if (!target.baseline_problem.empty())
    out += " Stored baseline not used: " + Md(target.baseline_problem) + ".";
  out += "\n\n";
  if (target.promotions.empty()) return;
  out +=
      "| # | when | commit | primary | ratio [CI] | since first | attempts | tokens | time |\n"
      "|---|---|---|--:|--:|--:|--:|--:|--:|\n";
  for (size_t i = 0; i < target.promotions.size(); ++i) {
    const Promotion& promotion = target.promotions[i];
    out += fmt::format(
        "| {} | {} | `{}` | {} | {} | {} | {} | {} | {} |\n", i + 1, Md(promotion.created_at),
        Md(promotion.commit.substr(0, 12)), FormatNanoseconds(promotion.primary_ns),
        PrimaryFigureText(target, promotion), FormatSpeedup(promotion.speedup), promotion.attempts,
        FormatCount(promotion.tokens), FormatWallSeconds(promotion.seconds));
  }
  out += "\n";
  for (size_t i = 0; i < target.promotions.size(); ++i) {
    const Promotion& promotion = target.promotions[i];
    if (!promotion.in_window || promotion.patch.empty()) continue;
    out += fmt::format("<details><summary>#{} diff (commit {})</summary>\n\n", i + 1,
                       Md(promotion.commit.substr(0, 12)));
    out += PatchBlock(promotion.patch, options.max_patch_lines);
    out += "\n</details>\n\n";
  }
}

std::string PerPromotionText(const CostTally& cost) {
  std::optional<double> per = cost.PerPromotion();
  return per ? FormatDollars(*per) : "—";
}

// The per-model table and the per-run table (runs compared by strategy).
void ModelsAndRuns(const ReportData& data, std::string& out) {
  if (!data.models.empty()) {
    out +=
        "## Models\n\n| model | requests | attempts | passes | promotions | speed-up gained | "
        "tokens | cost | cost per promotion |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    for (const ModelSummary& model : data.models) {
      const VerdictTally& tally = model.tally;
      out += fmt::format("| {} | {} | {} | {} | {} | {:+.1f}% | {} | {} | {} |\n", Md(model.model),
                         model.requests, tally.attempts, tally.passed + tally.promoted,
                         tally.promoted, tally.cost.speedup_percent, FormatCount(tally.tokens),
                         Md(CostAmountText(tally.cost)), PerPromotionText(tally.cost));
    }
    out += "\n";
  }
  if (!data.runs.empty()) {
    out +=
        "## Runs\n\n| run | started | strategy | model | attempts | promotions | speed-up | cost "
        "| stop |\n|--:|---|---|---|--:|--:|--:|--:|---|\n";
    for (const RunSummary& run : data.runs) {
      out += fmt::format("| {} | {} | {} | {} | {} | {} | {:+.1f}% | {} | {} |\n", run.id,
                         Md(run.started_at), Md(run.strategy), Md(run.model), run.tally.attempts,
                         run.tally.promoted, run.tally.cost.speedup_percent,
                         Md(CostAmountText(run.tally.cost)), Md(run.stop_reason));
    }
    out += "\n";
  }
}

}  // namespace

std::string RenderMarkdown(const ReportData& data, const MarkdownOptions& options) {
  std::string out = "# rlvr report\n\n";
  out += fmt::format("_Generated {} from {}{}{}._\n\n", data.generated_at,
                     Md(data.ledger_path.string()),
                     data.since.empty() ? "" : ", attempts since " + Md(data.since),
                     data.target_filter.empty() ? "" : ", target " + Md(data.target_filter));
  out += Md(SummaryParagraph(data)) + "\n\n";
  if (!data.targets.empty()) {
    out += "## Targets\n\n";
    for (const TargetReport& target : data.targets) TargetSection(target, options, out);
  }
  if (data.totals.attempts == 0) return out;

  out +=
      "## Attempts by verdict and gate\n\n| verdict / gate | attempts | share |\n|---|--:|--:|\n";
  for (const std::string& category : OrderedCategories(data.totals.by_category)) {
    int count = data.totals.by_category.at(category);
    out += fmt::format("| {} | {} | {:.1f}% |\n", Md(category), count,
                       100.0 * count / data.totals.attempts);
  }
  out += fmt::format("\nTokens: {}; attempt wall time: {}; cost: {}.\n\n",
                     FormatCount(data.totals.tokens), FormatWallSeconds(data.totals.seconds),
                     Md(CostText(data.totals.cost)));
  ModelsAndRuns(data, out);

  if (!data.failures.empty()) {
    out +=
        "## Most common failure reasons\n\n| count | gate | reason | example "
        "|\n|--:|---|---|---|\n";
    for (const FailureReason& reason : data.failures) {
      out += fmt::format("| {} | {} | {} | #{} {}: {} |\n", reason.count, Md(reason.category),
                         Md(Truncate(reason.pattern, 160)), reason.example_id,
                         Md(reason.example_target), Md(Truncate(reason.example_message, 160)));
    }
    out += "\n";
  }

  size_t shown =
      std::min(data.recent.size(), static_cast<size_t>(std::max(options.recent_rows, 0)));
  out += fmt::format("## Latest attempts\n\nThe {} most recent of {}.\n\n", shown,
                     data.totals.attempts);
  out += "| # | when | target | verdict | gate | message |\n|--:|---|---|---|---|---|\n";
  for (size_t i = 0; i < shown; ++i) {
    const AttemptRow& row = data.recent[i];
    out +=
        fmt::format("| {} | {} | {} | {} | {} | {} |\n", row.id, Md(row.created_at), Md(row.target),
                    Md(row.verdict), Md(row.failed_gate), Md(Truncate(row.message, 120)));
  }
  return out;
}

}  // namespace rlvr
