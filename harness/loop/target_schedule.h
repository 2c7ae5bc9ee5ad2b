// Which target the next round goes to, when a run has several: rounds go where gains are likely
// instead of in strict turns. A deterministic weighted round-robin (stride scheduling: every pick
// each target earns credit equal to its priority, the richest is picked and pays the sum of all
// priorities), so shares follow priorities exactly and no target starves. A target's priority is
// its headroom to the roofline (1 - fraction, at least 0.05; 0.5 when unknown) times its recent
// success (raised by promotions and passes, lowered by each failing round in a row: diminishing
// returns). A target at `rest_at_fraction` of its roofline, or after `rest_after_failures` rounds
// in a row without a promotion, is rested: never picked again in this run, and said so once.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rlvr {

struct TargetScheduleSettings {
  double rest_at_fraction = 0.9;
  int rest_after_failures = 10;
};

// What one round of a target gave.
struct RoundOutcome {
  bool promoted = false;
  double speedup = 0;      // 1/primary_ratio - 1 of the promotion
  bool passed = false;     // a candidate passed every gate (promoted or not)
  bool near_miss = false;  // right but not faster

  // A promotion at `primary_ratio`, if there was one (nothing: none).
  void SetPromoted(std::optional<double> primary_ratio) {
    if (!primary_ratio) return;
    promoted = true;
    speedup = *primary_ratio > 0 ? 1 / *primary_ratio - 1 : 0;
  }
};

class TargetSchedule {
 public:
  // `targets` in rlvr.json order; `fractions[i]` is target i's roofline fraction (nothing:
  // unknown). Targets already at the rest fraction are rested from the start.
  TargetSchedule(std::vector<std::string> targets, std::vector<std::optional<double>> fractions,
                 TargetScheduleSettings settings);

  // The next target, or nothing when every target is rested.
  std::optional<std::string> Next();

  // What the round on `target` gave; `fraction`, when known, its roofline fraction after it.
  void Record(const std::string& target, const RoundOutcome& outcome,
              std::optional<double> fraction);

  // One line per rested target, in the order they were rested ("softmax rested: at 93% of its
  // roofline (rests at 90%)", "gemm rested: 10 rounds in a row without a promotion").
  const std::vector<std::string>& RestNotices() const { return notices_; }

  bool Rested(const std::string& target) const;

  // Rounds given to `target` so far.
  int Rounds(const std::string& target) const;

 private:
  struct Entry {
    std::string name;
    std::optional<double> fraction;
    double success = 1;  // recent success factor
    int failures_in_a_row = 0;
    int rounds = 0;
    double credit = 0;
    bool rested = false;
  };

  double Priority(const Entry& e) const;
  void RestIfDue(Entry& e);
  Entry* Find(const std::string& name);
  const Entry* Find(const std::string& name) const;

  std::vector<Entry> entries_;
  TargetScheduleSettings settings_;
  std::vector<std::string> notices_;
};

}  // namespace rlvr
