// What the cluster's nodes did for a run, for an operator deciding whether to add nodes: per node
// the evaluations it ran (checks and benchmark stages apart), the time they ran, the throughput
// that makes (evaluations per hour of that node's run time) and the mean queue time; and for one
// attempt where its time went (queue, build, tests, benchmark). Read from the ledger's rows:
// `node` ('checks-node,bench-node' for a split evaluation), `queued_seconds`, `run_seconds` and
// the gates' seconds. Used by `rlvr status`.
#pragma once

#include <string>
#include <vector>

#include "harness/ledger/ledger.h"

namespace rlvr {

struct NodeFigures {
  std::string node;
  int checks_jobs = 0;     // evaluations whose checks (or whole evaluation) ran here
  int benchmark_jobs = 0;  // benchmark stages of split evaluations run here
  double run_seconds = 0;  // the time of those jobs here (see NodeCapacity)
  double queued_seconds = 0;
  int queued_count = 0;

  double PerHour() const;  // jobs per hour of run time here; 0 without run time
};

// Per node, by name, from the judged attempts that name one (local ones, "local", included as
// such). A split evaluation's run time is divided by its gates: the benchmark gate's seconds to
// the benchmark node, the rest to the checks node (the benchmark stage's own short rebuild is
// counted there too: the ledger keeps one run time per attempt); its queue time, the sum of both
// jobs', is the checks node's.
std::vector<NodeFigures> NodeCapacity(const std::vector<AttemptRecord>& attempts);

// "queue 2.8 s, build 0.7 s, tests 1.2 s, benchmark 20.1 s" (tests: every gate but build and
// benchmark); empty for an attempt never judged.
std::string TimeBreakdown(const AttemptRecord& attempt);

// One line per node for `rlvr status`, or a line saying there is none.
std::vector<std::string> CapacityLines(const std::vector<NodeFigures>& nodes);

}  // namespace rlvr
