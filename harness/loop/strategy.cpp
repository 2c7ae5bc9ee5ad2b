#include "harness/loop/strategy.h"

namespace rlvr {

const char* StrategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::kGreedy:
      return "greedy";
    case Strategy::kBestOfN:
      return "best-of-n";
    case Strategy::kIndependent:
      return "independent";
    case Strategy::kArchive:
      return "archive";
  }
  return "greedy";
}

std::optional<Strategy> ParseStrategy(const std::string& name) {
  for (Strategy s :
       {Strategy::kGreedy, Strategy::kBestOfN, Strategy::kIndependent, Strategy::kArchive}) {
    if (name == StrategyName(s)) return s;
  }
  return std::nullopt;
}

std::string StrategyNames() {
  return "greedy, best-of-n, independent, archive";
}

}  // namespace rlvr
