#include "harness/report/html.h"

#include <fmt/format.h>

#include <cmath>
#include <random>
#include <sstream>

#include "harness/base/utc_time.h"
#include "harness/report/cost.h"
#include "harness/report/escape.h"
#include "harness/report/format.h"
#include "harness/report/summary.h"
#include "harness/report/svg.h"

namespace rlvr {
namespace {

constexpr size_t kMaxPatchLines = 400;

constexpr const char* kStyle = R"css(
:root { color-scheme: light; --ink: #1f2933; --muted: #5f6b7a; --line: #e3e7ec; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.6em; margin: 0.2em 0; }
h2 { font-size: 1.3em; margin: 0 0 0.4em; }
h3 { font-size: 1.05em; margin: 1em 0 0.4em; }
section, header { background: #fff; border: 1px solid var(--line); border-radius: 8px;
                  padding: 14px 18px; margin: 14px 0; }
.meta, .note { color: var(--muted); font-size: 0.9em; }
.summary { font-size: 1.08em; }
.empty { font-size: 1.1em; padding: 10px; background: #fff7ed; border-left: 4px solid #f59e0b; }
nav a { margin-right: 12px; }
a { color: var(--accent); }
.chart svg { display: block; width: 100%; height: auto; }
.chart-narrow { display: none; }
@media (max-width: 640px) {
  main { padding: 8px; }
  section, header { padding: 10px; }
  .chart-wide { display: none; }
  .chart-narrow { display: block; }
}
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { background: #f1f3f6; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.when { white-space: nowrap; }
td.msg { min-width: 14em; overflow-wrap: anywhere; }
code { overflow-wrap: anywhere; }
td code { overflow-wrap: normal; white-space: nowrap; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.85em; }
pre { background: #f8fafc; border: 1px solid var(--line); padding: 8px; overflow-x: auto;
      max-width: 100%; white-space: pre; }
pre.wrap { white-space: pre-wrap; overflow-wrap: anywhere; }
.add { color: #166534; background: #ecfdf3; }
.del { color: #991b1b; background: #fef2f2; }
.hunk { color: #6d28d9; }
details { margin: 6px 0; }
summary { cursor: pointer; overflow-wrap: anywhere; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 0.88em; margin: 6px 0; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
          margin-right: 5px; vertical-align: -1px; }
.verdict-promoted { color: #15803d; font-weight: 600; }
.verdict-failed, .verdict-error { color: #b91c1c; }
.kpis { display: flex; flex-wrap: wrap; gap: 8px 22px; margin: 6px 0 10px; }
.kpi b { display: block; font-size: 1.25em; }
.kpi span { color: var(--muted); font-size: 0.85em; }
)css";

std::string Esc(const std::string& text) {
  return HtmlEscape(text);
}

std::string RandomNonce() {
  std::random_device device;
  std::string nonce;
  for (int i = 0; i < 4; ++i) nonce += fmt::format("{:08x}", device());
  return nonce;
}

std::string Slug(const std::string& name) {
  std::string slug;
  for (unsigned char c : name) slug += std::isalnum(c) ? static_cast<char>(c) : '-';
  return slug;
}

// "2026-11-23 12:29" from "2026-11-23T12:29:19Z": tables stay narrow; the title keeps it all.
std::string WhenCell(const std::string& iso) {
  std::string shown =
      iso.size() >= 16 && iso[10] == 'T' ? iso.substr(0, 10) + " " + iso.substr(11, 5) : iso;
  return fmt::format("<td class=\"when\" title=\"{}\">{}</td>", Esc(iso), Esc(shown));
}

std::string ShortCommit(const std::string& commit) {
  return commit.substr(0, 12);
}

std::string Kpi(const std::string& value, const std::string& caption) {
  return fmt::format("<div class=\"kpi\"><b>{}</b><span>{}</span></div>", Esc(value), Esc(caption));
}

// The same chart twice: sized for desktop and for phones; CSS shows one.
template <typename Spec, typename Render>
std::string ResponsiveChart(Spec spec, Render render) {
  std::string out = "<div class=\"chart chart-wide\">" + render(spec) + "</div>";
  spec.width = 380;
  spec.height = 260;
  return out + "<div class=\"chart chart-narrow\">" + render(spec) + "</div>";
}

std::string DiffHtml(const std::string& patch, int64_t attempt_id) {
  std::istringstream in(patch);
  std::string line, out;
  size_t count = 0, hidden = 0;
  while (std::getline(in, line)) {
    if (count++ >= kMaxPatchLines) {
      ++hidden;
      continue;
    }
    const char* css = line.rfind("+++", 0) == 0 || line.rfind("---", 0) == 0 ? nullptr
                      : line.rfind("+", 0) == 0                              ? "add"
                      : line.rfind("-", 0) == 0                              ? "del"
                      : line.rfind("@@", 0) == 0                             ? "hunk"
                                                                             : nullptr;
    if (css) {
      out += fmt::format("<span class=\"{}\">{}</span>\n", css, Esc(line));
    } else {
      out += Esc(line) + "\n";
    }
  }
  std::string html = "<pre class=\"diff\">" + out + "</pre>";
  if (hidden) {
    html += fmt::format(
        "<p class=\"note\">{} more lines not shown; the whole patch is in the "
        "ledger (attempt #{}).</p>",
        hidden, attempt_id);
  }
  return html;
}

std::string FiguresTable(const Promotion& promotion, const std::string& primary) {
  std::string out =
      "<div class=\"scroll\"><table><thead><tr><th>benchmark</th><th class=\"num\">baseline</th>"
      "<th class=\"num\">candidate</th><th class=\"num\">ratio [CI]</th><th class=\"num\">p</th>"
      "</tr></thead><tbody>";
  for (const PromotionFigure& figure : promotion.figures) {
    out += fmt::format(
        "<tr><td>{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}"
        "</td><td class=\"num\">{}</td></tr>",
        Esc(figure.name), figure.name == primary ? " <em>(primary)</em>" : "",
        Esc(FormatNanoseconds(figure.baseline_ns)), Esc(FormatNanoseconds(figure.candidate_ns)),
        Esc(FormatRatio(figure.ratio, figure.ci_low, figure.ci_high)),
        figure.p_value ? Esc(fmt::format("{:.3g}", *figure.p_value)) : "—");
  }
  return out + "</tbody></table></div>";
}

std::string HistoryChart(const TargetReport& target) {
  LineChartSpec spec;
  spec.width = 1000;
  spec.height = 340;
  bool counter = !target.chart_counter.empty();
  double work = counter ? target.baseline_primary_counters.at(target.chart_counter) *
                              target.baseline_primary_ns
                        : 0;
  // Times in the unit that suits the first baseline, so the axis reads 90, 75, 60 µs.
  double ns_per_unit = target.first_baseline_ns >= 1e8   ? 1e9
                       : target.first_baseline_ns >= 1e5 ? 1e6
                       : target.first_baseline_ns >= 1e2 ? 1e3
                                                         : 1;
  const char* time_unit = ns_per_unit == 1e9   ? "s"
                          : ns_per_unit == 1e6 ? "ms"
                          : ns_per_unit == 1e3 ? "µs"
                                               : "ns";
  auto value_of = [&](double ns) {
    if (!(ns > 0)) return std::nan("");
    return counter ? work / ns : ns / ns_per_unit;
  };
  spec.title = fmt::format("{}: {} {} across promotions", target.name, target.primary,
                           counter ? target.chart_counter : "time");
  spec.y_unit = counter ? target.chart_counter + " (higher is better)"
                        : std::string(time_unit) + " (lower is better)";
  spec.x_labels.push_back("first baseline");
  spec.values.push_back(value_of(target.first_baseline_ns));
  spec.point_notes.push_back("");
  spec.point_tips.push_back("first baseline: " + FormatNanoseconds(target.first_baseline_ns));
  for (size_t i = 0; i < target.promotions.size(); ++i) {
    const Promotion& promotion = target.promotions[i];
    spec.x_labels.push_back(fmt::format("#{}", i + 1));
    spec.values.push_back(value_of(promotion.primary_ns));
    spec.point_notes.push_back(FormatSpeedup(promotion.speedup));
    spec.point_tips.push_back(
        fmt::format("promotion #{} ({}, {}): {}, {} since first baseline", i + 1,
                    promotion.created_at, ShortCommit(promotion.commit),
                    FormatNanoseconds(promotion.primary_ns), FormatSpeedup(promotion.speedup)));
  }
  if (counter) {
    for (const ReferenceFigure& reference : target.references) {
      auto it = reference.counters.find(target.chart_counter);
      if (it != reference.counters.end()) spec.references.push_back({reference.name, it->second});
    }
  }
  return ResponsiveChart(spec, LineChartSvg);
}

std::string ReferencesNote(const TargetReport& target) {
  if (target.references.empty()) return "";
  std::string listed;
  for (const ReferenceFigure& reference : target.references) {
    std::string figures;
    for (const auto& [name, value] : reference.counters) {
      figures +=
          fmt::format("{}{} {}", figures.empty() ? "" : ", ", FormatSignificant(value), name);
    }
    if (figures.empty()) figures = FormatNanoseconds(reference.median_ns);
    listed += fmt::format("{}<code>{}</code> ({})", listed.empty() ? "" : "; ", Esc(reference.name),
                          Esc(figures));
  }
  std::string why = target.chart_counter.empty()
                        ? "The primary benchmark reports no counter they share, so the chart "
                          "shows time only. "
                        : fmt::format("Drawn as lines in {}. ", Esc(target.chart_counter));
  return "<p class=\"note\">References: " + listed + ". " + why + "</p>";
}

std::string TargetSection(const TargetReport& target) {
  std::string out = fmt::format("<section class=\"target\" id=\"target-{}\"><h2>{}</h2>",
                                Slug(target.name), Esc(target.name));
  out += "<div class=\"kpis\">";
  out += Kpi(target.primary.empty() ? "—" : target.primary, "primary benchmark");
  out += Kpi(FormatNanoseconds(target.first_baseline_ns), "first baseline");
  const Promotion* last = target.promotions.empty() ? nullptr : &target.promotions.back();
  if (last) {
    out += Kpi(FormatNanoseconds(last->primary_ns), "after the last promotion");
    out += Kpi(FormatSpeedup(last->speedup), "speed-up since first baseline");
  }
  out += Kpi(std::to_string(target.promotions.size()), "promotions");
  out += Kpi(std::to_string(target.window.attempts), "attempts in this report");
  out += "</div>";
  if (target.has_baseline) {
    out += fmt::format(
        "<p class=\"note\">Stored baseline: {} at commit <code>{}</code>, recorded "
        "{}.</p>",
        Esc(FormatNanoseconds(target.baseline_primary_ns)),
        Esc(ShortCommit(target.baseline_commit)), Esc(target.baseline_recorded_at));
  } else if (!target.baseline_problem.empty()) {
    out += "<p class=\"note\">Stored baseline not used: " + Esc(target.baseline_problem) + "</p>";
  } else {
    out += "<p class=\"note\">No stored baseline (baselines/" + Esc(target.name) + ".json).</p>";
  }
  if (target.first_baseline_ns > 0) {
    out += HistoryChart(target);
  } else {
    out += "<p class=\"note\">No primary benchmark figures yet, so no history chart.</p>";
  }
  out += ReferencesNote(target);
  if (target.promotions.empty()) return out + "<p>No promotions yet.</p></section>";

  out +=
      "<h3>Promotions</h3><div class=\"scroll\"><table><thead><tr><th>#</th><th>when</th>"
      "<th>commit</th><th class=\"num\">primary</th><th class=\"num\">ratio [CI]</th>"
      "<th class=\"num\">since first</th><th class=\"num\">attempts</th>"
      "<th class=\"num\">tokens</th><th class=\"num\">time</th></tr></thead><tbody>";
  for (size_t i = 0; i < target.promotions.size(); ++i) {
    const Promotion& promotion = target.promotions[i];
    std::optional<double> low, high;
    double ratio = promotion.primary_ratio.value_or(0);
    for (const PromotionFigure& figure : promotion.figures) {
      if (figure.name == target.primary) {
        ratio = figure.ratio;
        low = figure.ci_low;
        high = figure.ci_high;
      }
    }
    out += fmt::format(
        "<tr><td><a href=\"#promotion-{}\">#{}</a></td>{}<td><code>{}</code></td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        promotion.attempt_id, i + 1, WhenCell(promotion.created_at),
        Esc(ShortCommit(promotion.commit)), Esc(FormatNanoseconds(promotion.primary_ns)),
        Esc(FormatRatio(ratio, low, high)), Esc(FormatSpeedup(promotion.speedup)),
        promotion.attempts, Esc(FormatCount(promotion.tokens)),
        Esc(FormatWallSeconds(promotion.seconds)));
  }
  out += "</tbody></table></div>";
  for (size_t i = 0; i < target.promotions.size(); ++i) {
    const Promotion& promotion = target.promotions[i];
    out += fmt::format(
        "<details id=\"promotion-{}\"><summary>#{} — commit <code>{}</code>, attempt #{}, round "
        "{}, {}</summary>",
        promotion.attempt_id, i + 1, Esc(ShortCommit(promotion.commit)), promotion.attempt_id,
        promotion.round, Esc(promotion.created_at));
    out += fmt::format("<p class=\"note\">Commit <code>{}</code>{}{}</p>", Esc(promotion.commit),
                       promotion.model.empty() ? "" : ", model " + Esc(promotion.model),
                       promotion.metric.empty() ? "" : ", metric " + Esc(promotion.metric));
    out += FiguresTable(promotion, target.primary);
    out += promotion.patch.empty() ? "<p class=\"note\">No patch recorded.</p>"
                                   : DiffHtml(promotion.patch, promotion.attempt_id);
    out += "</details>";
  }
  return out + "</section>";
}

std::string Legend(const std::vector<std::string>& categories, const VerdictTally& totals) {
  std::string out = "<div class=\"legend\">";
  for (const std::string& category : categories) {
    auto it = totals.by_category.find(category);
    out += fmt::format("<span><span class=\"swatch\" style=\"background:{}\"></span>{} ({})</span>",
                       Esc(CategoryColor(category)), Esc(category),
                       it == totals.by_category.end() ? 0 : it->second);
  }
  return out + "</div>";
}

std::string BucketLabel(int64_t start, int64_t size) {
  std::string iso = FormatUtcTime(start);             // 2026-11-23T16:00:00Z
  if (size >= 86400) return iso.substr(5, 5);         // 11-23
  return iso.substr(5, 5) + " " + iso.substr(11, 5);  // 11-23 16:00
}

std::string AttemptsSection(const ReportData& data) {
  std::string out = "<section id=\"attempts\"><h2>Attempts over time</h2>";
  std::vector<std::string> categories = OrderedCategories(data.totals.by_category);
  out += fmt::format(
      "<p class=\"note\">{} attempts in {} bars of {} each, coloured by verdict; "
      "failures by the gate that stopped them.</p>",
      data.totals.attempts, data.buckets.size(), Esc(FormatBucket(data.bucket_seconds)));
  out += Legend(categories, data.totals);
  StackedBarSpec spec;
  spec.width = 1000;
  spec.height = 300;
  spec.title = "Attempts per " + FormatBucket(data.bucket_seconds) + " by verdict and failed gate";
  for (const std::string& category : categories) {
    spec.series.push_back(category);
    spec.colors.push_back(CategoryColor(category));
  }
  for (const TimeBucket& bucket : data.buckets) {
    spec.x_labels.push_back(BucketLabel(bucket.start, data.bucket_seconds));
    std::vector<int> counts;
    std::string tip = FormatUtcTime(bucket.start) + ":";
    for (const std::string& category : categories) {
      auto it = bucket.by_category.find(category);
      int count = it == bucket.by_category.end() ? 0 : it->second;
      counts.push_back(count);
      if (count) tip += fmt::format(" {} {},", category, count);
    }
    tip.pop_back();
    spec.counts.push_back(std::move(counts));
    spec.bar_tips.push_back(tip);
  }
  out += ResponsiveChart(spec, StackedBarSvg);
  out +=
      "<h3>By verdict and gate</h3><div class=\"scroll\"><table><thead><tr><th>verdict / "
      "gate</th><th class=\"num\">attempts</th><th class=\"num\">share</th></tr></thead><tbody>";
  for (const std::string& category : categories) {
    int count = data.totals.by_category.at(category);
    out += fmt::format(
        "<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td "
        "class=\"num\">{}</td><td class=\"num\">{:.1f}%</td></tr>",
        Esc(CategoryColor(category)), Esc(category), count, 100.0 * count / data.totals.attempts);
  }
  out += "</tbody></table></div>";
  out += fmt::format("<p class=\"note\">Tokens: {}; attempt wall time: {}.</p>",
                     Esc(FormatCount(data.totals.tokens)),
                     Esc(FormatWallSeconds(data.totals.seconds)));
  return out + "</section>";
}

std::string FailuresSection(const ReportData& data) {
  std::string out = "<section id=\"failures\"><h2>Most common failure reasons</h2>";
  if (data.failures.empty()) return out + "<p>No failures in this window.</p></section>";
  out +=
      "<p class=\"note\">Messages grouped with numbers masked as #; the example is the most "
      "recent attempt of each group.</p>";
  out +=
      "<div class=\"scroll\"><table><thead><tr><th class=\"num\">count</th><th>gate</th>"
      "<th>reason</th></tr></thead><tbody>";
  for (const FailureReason& reason : data.failures) {
    out += fmt::format(
        "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"msg\">{}<details><summary>example: "
        "attempt #{} ({}, {})</summary><pre class=\"wrap\">{}</pre>{}</details></td></tr>",
        reason.count, Esc(reason.category), Esc(Truncate(reason.pattern, 240)), reason.example_id,
        Esc(reason.example_target), Esc(reason.example_created_at), Esc(reason.example_message),
        reason.example_reply.empty()
            ? std::string()
            : "<p class=\"note\">Start of the model's reply:</p><pre class=\"wrap\">" +
                  Esc(Truncate(reason.example_reply, 1000)) + "</pre>");
  }
  return out + "</tbody></table></div></section>";
}

// What each model did and cost, and each run with its strategy, so strategies can be compared.
std::string CostSection(const ReportData& data) {
  std::string out = "<section id=\"cost\"><h2>Models, runs and cost</h2>";
  out += "<p class=\"note\">Cost: " + Esc(CostText(data.totals.cost)) +
         ". A promotion's speed-up is 1/primary ratio &minus; 1, summed over promotions.</p>";
  out +=
      "<h3>Models</h3><div class=\"scroll\"><table><thead><tr><th>model</th>"
      "<th class=\"num\">requests</th><th class=\"num\">attempts</th><th class=\"num\">passes"
      "</th><th class=\"num\">promotions</th><th class=\"num\">speed-up gained</th>"
      "<th class=\"num\">tokens</th><th class=\"num\">cost</th><th class=\"num\">cost per "
      "promotion</th></tr></thead><tbody>";
  for (const ModelSummary& model : data.models) {
    const VerdictTally& tally = model.tally;
    std::optional<double> per = tally.cost.PerPromotion();
    out += fmt::format(
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
        "class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:+.1f}%</td><td "
        "class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        Esc(model.model), model.requests, tally.attempts, tally.passed + tally.promoted,
        tally.promoted, tally.cost.speedup_percent, Esc(FormatCount(tally.tokens)),
        Esc(CostAmountText(tally.cost)), per ? Esc(FormatDollars(*per)) : "—");
  }
  out +=
      "</tbody></table></div><h3>Runs</h3><div class=\"scroll\"><table><thead><tr>"
      "<th>run</th><th>started</th><th>strategy</th><th>model</th><th class=\"num\">attempts"
      "</th><th class=\"num\">promotions</th><th class=\"num\">speed-up</th>"
      "<th class=\"num\">cost</th><th>stop</th></tr></thead><tbody>";
  for (const RunSummary& run : data.runs) {
    out += fmt::format(
        "<tr><td>{}</td>{}<td>{}</td><td>{}</td><td class=\"num\">{}</td><td "
        "class=\"num\">{}</td><td class=\"num\">{:+.1f}%</td><td class=\"num\">{}</td>"
        "<td>{}</td></tr>",
        run.id, WhenCell(run.started_at), Esc(run.strategy), Esc(run.model), run.tally.attempts,
        run.tally.promoted, run.tally.cost.speedup_percent, Esc(CostAmountText(run.tally.cost)),
        Esc(run.stop_reason));
  }
  return out + "</tbody></table></div></section>";
}

std::string RecentSection(const ReportData& data) {
  std::string out = "<section id=\"recent\"><h2>Recent attempts</h2>";
  out += fmt::format(
      "<p class=\"note\">The {} most recent attempts{}.</p>", data.recent.size(),
      data.hidden_attempts
          ? fmt::format("; {} older ones are counted above but not listed", data.hidden_attempts)
          : std::string());
  out +=
      "<div class=\"scroll\"><table><thead><tr><th>#</th><th>when</th><th>target</th>"
      "<th>round</th><th>verdict</th><th>gate</th><th>message</th><th class=\"num\">ratio</th>"
      "<th class=\"num\">tokens</th><th class=\"num\">time</th></tr></thead><tbody>";
  for (const AttemptRow& row : data.recent) {
    out += fmt::format(
        "<tr><td>{}</td>{}<td>{}</td><td>{}.{}{}</td><td class=\"verdict-{}\">{}</td>"
        "<td>{}</td><td class=\"msg\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td></tr>",
        row.id, WhenCell(row.created_at), Esc(row.target), row.round, row.candidate,
        row.repair ? fmt::format(" r{}", row.repair) : std::string(), Slug(row.verdict),
        Esc(row.verdict), Esc(row.failed_gate), Esc(Truncate(row.message, 200)),
        row.primary_ratio ? Esc(fmt::format("{:.3f}", *row.primary_ratio)) : "",
        Esc(FormatCount(row.tokens)), Esc(FormatWallSeconds(row.seconds)));
  }
  return out + "</tbody></table></div></section>";
}

}  // namespace

std::string RenderHtml(const ReportData& data) {
  std::string nonce = RandomNonce();
  std::string out;
  out.reserve(256 * 1024);
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  out += fmt::format(
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
      "'unsafe-inline'; img-src data:; script-src 'nonce-{}'\">",
      nonce);
  out += "<title>rlvr report " + Esc(data.generated_at) + "</title><style>" + kStyle +
         "</style></head><body><main>";
  out += "<header><h1>rlvr report</h1><p class=\"meta\">Generated " + Esc(data.generated_at) +
         " from <code>" + Esc(data.ledger_path.string()) + "</code>";
  if (!data.since.empty()) out += ", attempts since " + Esc(data.since);
  if (!data.target_filter.empty()) out += ", target " + Esc(data.target_filter);
  out += ".</p>";
  bool nothing = data.ledger_state != ReportData::LedgerState::kOk || data.totals.attempts == 0;
  out += fmt::format("<p class=\"summary{}\" id=\"summary\">{}</p>", nothing ? " empty" : "",
                     Esc(SummaryParagraph(data)));
  if (!data.targets.empty()) {
    out += "<nav>";
    for (const TargetReport& target : data.targets) {
      out += fmt::format("<a href=\"#target-{}\">{}</a>", Slug(target.name), Esc(target.name));
    }
    out +=
        "<a href=\"#attempts\">attempts</a><a href=\"#failures\">failures</a>"
        "<a href=\"#recent\">recent</a></nav>";
  }
  out += "</header>";
  for (const TargetReport& target : data.targets) out += TargetSection(target);
  if (data.totals.attempts > 0) {
    out += AttemptsSection(data);
    out += FailuresSection(data);
    out += CostSection(data);
    out += RecentSection(data);
  }
  out += "</main>";
  // Records the layout width so a headless browser check can tell the page never scrolls
  // sideways; it reads the layout and writes two attributes, nothing else.
  out += fmt::format(
      "<script nonce=\"{}\">(function(){{var d=document.documentElement;"
      "d.setAttribute('data-scroll-width',String(d.scrollWidth));"
      "d.setAttribute('data-client-width',String(d.clientWidth));}})();</script>",
      nonce);
  return out + "</body></html>\n";
}

}  // namespace rlvr
