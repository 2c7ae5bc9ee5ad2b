// What attempts cost against what they gained, as `rlvr report` and `rlvr status` state it: the
// dollars of priced requests (marked estimated when an endpoint reported no usage), the cost per
// promotion and per 1% of primary speed-up, a promotion's speed-up being 1/primary_ratio - 1.
#pragma once

#include <optional>
#include <string>

namespace rlvr {

// 100 * (1/primary_ratio - 1): the primary benchmark's speed-up of a promotion in percent; 0 when
// the ratio is unknown or not positive.
double SpeedupPercent(std::optional<double> primary_ratio);

struct CostTally {
  double dollars = 0;       // sum of the priced attempts' cost
  bool any_priced = false;  // some attempt had a cost (its model a price)
  bool estimated = false;   // some priced attempt's usage was estimated from the text
  int promotions = 0;
  double speedup_percent = 0;  // sum of SpeedupPercent over the promotions

  // Adds one ledger row: its request's cost if any, and its speed-up if it was promoted.
  void Add(std::optional<double> cost, bool cost_estimated, const std::string& verdict,
           std::optional<double> primary_ratio);
  // Dollars per promotion; unset without a price or a promotion.
  std::optional<double> PerPromotion() const;
  // Dollars per 1% of primary speed-up; unset without a price or a positive speed-up.
  std::optional<double> PerSpeedupPercent() const;
};

// "$0.1234", "$12.35", "$1234": four decimals below a dollar, two below a hundred, none above.
std::string FormatDollars(double dollars);

// "$1.23 (estimated)" or "no price set".
std::string CostAmountText(const CostTally& tally);

// One line: "$1.23 (estimated), $0.62 per promotion, $0.10 per 1% primary speed-up", the last two
// as "no promotion yet" / left out when they cannot be computed; "no price set" when nothing is
// priced.
std::string CostText(const CostTally& tally);

}  // namespace rlvr
