#include "harness/loop/target_schedule.h"

#include <algorithm>

#include <fmt/format.h>

namespace rlvr {
namespace {

constexpr double kLeastHeadroom = 0.05;
constexpr double kUnknownHeadroom = 0.5;

}  // namespace

TargetSchedule::TargetSchedule(std::vector<std::string> targets,
                               std::vector<std::optional<double>> fractions,
                               TargetScheduleSettings settings)
    : settings_(settings) {
  for (size_t i = 0; i < targets.size(); ++i) {
    Entry e;
    e.name = targets[i];
    if (i < fractions.size()) e.fraction = fractions[i];
    entries_.push_back(e);
  }
  for (Entry& e : entries_) RestIfDue(e);
}

double TargetSchedule::Priority(const Entry& e) const {
  double headroom = e.fraction ? std::max(kLeastHeadroom, 1 - *e.fraction) : kUnknownHeadroom;
  return headroom * e.success;
}

void TargetSchedule::RestIfDue(Entry& e) {
  if (e.rested) return;
  if (e.fraction && *e.fraction >= settings_.rest_at_fraction) {
    e.rested = true;
    notices_.push_back(fmt::format("{} rested: at {:.0f}% of its roofline (rests at {:.0f}%)",
                                   e.name, 100 * *e.fraction, 100 * settings_.rest_at_fraction));
  } else if (e.failures_in_a_row >= settings_.rest_after_failures) {
    e.rested = true;
    notices_.push_back(fmt::format("{} rested: {} rounds in a row without a promotion", e.name,
                                   e.failures_in_a_row));
  }
}

std::optional<std::string> TargetSchedule::Next() {
  double total = 0;
  Entry* best = nullptr;
  for (Entry& e : entries_) {
    if (e.rested) continue;
    double p = Priority(e);
    e.credit += p;
    total += p;
    // Ties go to the earlier target in rlvr.json: one target, or equal ones, are strict turns.
    if (best == nullptr || e.credit > best->credit + 1e-12) best = &e;
  }
  if (best == nullptr) return std::nullopt;
  best->credit -= total;
  ++best->rounds;
  return best->name;
}

void TargetSchedule::Record(const std::string& target, const RoundOutcome& outcome,
                            std::optional<double> fraction) {
  Entry* e = Find(target);
  if (e == nullptr) return;
  if (fraction) e->fraction = fraction;
  if (outcome.promoted) {
    e->failures_in_a_row = 0;
    // A promotion says the target still gives: up, by more for a bigger speed-up.
    e->success = std::min(4.0, e->success * (1.5 + std::min(1.0, outcome.speedup * 5)));
  } else {
    ++e->failures_in_a_row;
    // Passes and near misses are closer than failures: they lower it less.
    double factor = outcome.passed ? 0.95 : outcome.near_miss ? 0.85 : 0.75;
    e->success = std::max(0.05, e->success * factor);
  }
  RestIfDue(*e);
}

bool TargetSchedule::Rested(const std::string& target) const {
  const Entry* e = Find(target);
  return e != nullptr && e->rested;
}

int TargetSchedule::Rounds(const std::string& target) const {
  const Entry* e = Find(target);
  return e == nullptr ? 0 : e->rounds;
}

TargetSchedule::Entry* TargetSchedule::Find(const std::string& name) {
  for (Entry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

const TargetSchedule::Entry* TargetSchedule::Find(const std::string& name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace rlvr
