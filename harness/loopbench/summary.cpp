// LoopBenchResult's presentation (bench.h): the per-strategy summaries and their ranking, the
// table, the JSON.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "harness/loopbench/bench.h"

namespace rlvr {
namespace {

using Spread = StrategySummary::Spread;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

Spread SpreadOf(const std::vector<double>& values) {
  if (values.empty()) return {};
  return {Median(values), *std::min_element(values.begin(), values.end()),
          *std::max_element(values.begin(), values.end())};
}

nlohmann::json SpreadJson(const Spread& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

std::string Money(double dollars) {
  return fmt::format("${:.4f}", dollars);
}

std::string ShowSpread(const Spread& s, const char* format) {
  return fmt::format(fmt::runtime(format), s.median) + " [" +
         fmt::format(fmt::runtime(format), s.min) + "–" + fmt::format(fmt::runtime(format), s.max) +
         "]";
}

}  // namespace

std::vector<StrategySummary> SummariseStrategies(const std::vector<std::string>& strategies,
                                                 const std::vector<RunMetrics>& runs) {
  std::vector<StrategySummary> summaries;
  for (const std::string& strategy : strategies) {
    std::vector<double> speedup, promotions, falses, proposals, tokens, cost, wall, per_promotion,
        gain;
    bool every_run_paid = true;
    for (const RunMetrics& r : runs) {
      if (r.strategy != strategy) continue;
      speedup.push_back(r.speedup);
      promotions.push_back(r.promotions);
      falses.push_back(r.false_promotions);
      proposals.push_back(r.proposals);
      tokens.push_back(static_cast<double>(r.tokens));
      cost.push_back(r.cost);
      wall.push_back(r.wall_seconds);
      if (r.CostPerPromotion()) per_promotion.push_back(*r.CostPerPromotion());
      if (r.GainPerDollar()) {
        gain.push_back(*r.GainPerDollar());
      } else {
        every_run_paid = false;
      }
    }
    if (speedup.empty()) continue;
    StrategySummary s;
    s.strategy = strategy;
    s.speedup = SpreadOf(speedup);
    s.promotions = SpreadOf(promotions);
    s.false_promotions = SpreadOf(falses);
    s.proposals = SpreadOf(proposals);
    s.tokens = SpreadOf(tokens);
    s.cost = SpreadOf(cost);
    s.wall_seconds = SpreadOf(wall);
    if (!per_promotion.empty()) s.cost_per_promotion = SpreadOf(per_promotion);
    if (every_run_paid) s.median_gain_per_dollar = Median(gain);
    summaries.push_back(std::move(s));
  }
  // Strategies whose every run was paid for first, by what a dollar bought; the others (free
  // models) after, by median speed-up.
  std::stable_sort(
      summaries.begin(), summaries.end(), [](const StrategySummary& a, const StrategySummary& b) {
        if (a.median_gain_per_dollar.has_value() != b.median_gain_per_dollar.has_value())
          return a.median_gain_per_dollar.has_value();
        if (a.median_gain_per_dollar) return *a.median_gain_per_dollar > *b.median_gain_per_dollar;
        return a.speedup.median > b.speedup.median;
      });
  for (size_t i = 0; i < summaries.size(); ++i) summaries[i].rank = static_cast<int>(i) + 1;
  return summaries;
}

nlohmann::json LoopBenchResult::ToJson(const LoopBenchSettings& settings) const {
  nlohmann::json run_list = nlohmann::json::array();
  for (const RunMetrics& r : runs) run_list.push_back(r.ToJson());
  nlohmann::json summary_list = nlohmann::json::array();
  for (const StrategySummary& s : strategies) {
    summary_list.push_back({
        {"strategy", s.strategy},
        {"rank", s.rank},
        {"speedup", SpreadJson(s.speedup)},
        {"promotions", SpreadJson(s.promotions)},
        {"false_promotions", SpreadJson(s.false_promotions)},
        {"proposals", SpreadJson(s.proposals)},
        {"tokens", SpreadJson(s.tokens)},
        {"cost", SpreadJson(s.cost)},
        {"cost_per_promotion",
         s.cost_per_promotion ? SpreadJson(*s.cost_per_promotion) : nlohmann::json()},
        {"median_gain_per_dollar",
         s.median_gain_per_dollar ? nlohmann::json(*s.median_gain_per_dollar) : nlohmann::json()},
        {"wall_seconds", SpreadJson(s.wall_seconds)},
    });
  }
  return {{"settings", LoopBenchSettingsJson(settings)},
          {"start_commit", start_commit},
          {"runs", run_list},
          {"strategies", summary_list},
          {"evaluations", {{"judged", judged}, {"reused", reused}}},
          {"reused_figures",
           "a reused verdict keeps its first measurement's benchmark figures (not redrawn)"},
          {"false_promotions", false_promotions},
          {"interrupted", interrupted}};
}

std::string LoopBenchResult::Render() const {
  std::string text = fmt::format(
      "\n{:<12} {:>4} {:>9} {:>10} {:>5} {:>9} {:>9} {:>10} {:>11} {:>8}\n", "strategy", "seed",
      "speed-up", "promotions", "false", "proposals", "tokens", "cost", "cost/promo", "wall s");
  for (const RunMetrics& r : runs) {
    std::optional<double> per = r.CostPerPromotion();
    text +=
        fmt::format("{:<12} {:>4} {:>8.3f}x {:>10} {:>5} {:>9} {:>9} {:>10} {:>11} {:>8.0f}{}\n",
                    r.strategy, r.seed, r.speedup, r.promotions, r.false_promotions, r.proposals,
                    r.tokens, r.priced ? Money(r.cost) : "-", per ? Money(*per) : "-",
                    r.wall_seconds, r.cost_estimated ? "  (tokens estimated)" : "");
  }
  text +=
      "\nper strategy over seeds: median [min–max], ranked by median (speed-up - 1) per dollar\n";
  for (const StrategySummary& s : strategies) {
    text += fmt::format(
        "{}. {:<12} speed-up {}  promotions {}  false {}  proposals {}  cost {}  "
        "cost/promotion {}  gain/$ {}  wall {} s\n",
        s.rank, s.strategy, ShowSpread(s.speedup, "{:.3f}x"), ShowSpread(s.promotions, "{:.0f}"),
        ShowSpread(s.false_promotions, "{:.0f}"), ShowSpread(s.proposals, "{:.0f}"),
        ShowSpread(s.cost, "${:.4f}"),
        s.cost_per_promotion ? ShowSpread(*s.cost_per_promotion, "${:.4f}") : "-",
        s.median_gain_per_dollar ? fmt::format("{:.3f}", *s.median_gain_per_dollar) : "-",
        ShowSpread(s.wall_seconds, "{:.0f}"));
  }
  text += fmt::format(
      "\nevaluations: {} judged, {} reused from an identical earlier candidate (a reused verdict "
      "keeps its first measurement's benchmark figures: they are not redrawn)\n",
      judged, reused);
  if (false_promotions > 0) {
    text += fmt::format(
        "FALSE PROMOTIONS: {} (a 'wrong' or 'cheat' proposal was promoted: a "
        "verifier hole)\n",
        false_promotions);
    for (const RunMetrics& r : runs) {
      for (const std::string& note : r.false_promotion_notes)
        text += fmt::format("  {} seed {}: {}\n", r.strategy, r.seed, note);
    }
  }
  if (interrupted) text += "interrupted by a stop signal: the remaining runs were not made\n";
  return text;
}

}  // namespace rlvr
