#include "harness/report/cost.h"

#include <fmt/format.h>

namespace rlvr {

double SpeedupPercent(std::optional<double> primary_ratio) {
  if (!primary_ratio || !(*primary_ratio > 0)) return 0;
  return 100.0 * (1.0 / *primary_ratio - 1.0);
}

void CostTally::Add(std::optional<double> cost, bool cost_estimated, const std::string& verdict,
                    std::optional<double> primary_ratio) {
  if (cost) {
    dollars += *cost;
    any_priced = true;
    estimated = estimated || cost_estimated;
  }
  if (verdict == "promoted") {
    ++promotions;
    speedup_percent += SpeedupPercent(primary_ratio);
  }
}

std::optional<double> CostTally::PerPromotion() const {
  if (!any_priced || promotions == 0) return std::nullopt;
  return dollars / promotions;
}

std::optional<double> CostTally::PerSpeedupPercent() const {
  if (!any_priced || !(speedup_percent > 0)) return std::nullopt;
  return dollars / speedup_percent;
}

std::string FormatDollars(double dollars) {
  if (dollars >= 100) return fmt::format("${:.0f}", dollars);
  if (dollars >= 1) return fmt::format("${:.2f}", dollars);
  return fmt::format("${:.4f}", dollars);
}

std::string CostAmountText(const CostTally& tally) {
  if (!tally.any_priced) return "no price set";
  return FormatDollars(tally.dollars) + (tally.estimated ? " (estimated)" : "");
}

std::string CostText(const CostTally& tally) {
  std::string text = CostAmountText(tally);
  if (!tally.any_priced) return text;
  if (std::optional<double> per = tally.PerPromotion()) {
    text += ", " + FormatDollars(*per) + " per promotion";
  } else {
    text += ", no promotion yet";
  }
  if (std::optional<double> per = tally.PerSpeedupPercent()) {
    text += ", " + FormatDollars(*per) + " per 1% primary speed-up";
  }
  return text;
}

}  // namespace rlvr
