// A split evaluation's verdict (executors/slurm.h): the checks run in one job on a shared node
// (`rlvr evaluate --no-benchmark`), and only a candidate that passed every check is measured in a
// second job on an exclusive benchmark node (`rlvr evaluate --benchmark-stage`, which skips the
// checks and is never promotable by itself). The loop sees one verdict, as if one evaluation had
// run every gate: this joins the two stages' verdict JSON (Verdict::ToJson).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace rlvr {

// True when the checks stage's verdict lets the benchmark stage start: every gate it ran passed
// (the tests gate among them) and nothing cut it short (stopped, a machine fault). Otherwise that
// verdict is the final one.
bool ChecksStagePassed(const nlohmann::json& checks);

// The benchmark stage's verdict with the checks stage's results of the gates it skipped (tests,
// history, portable, sanitizers, allocations) and its seed; promotable only when both stages
// passed and the benchmark gate itself passed. Times add up; the message names the stage that
// decided. Precondition: ChecksStagePassed(checks).
nlohmann::json StagedVerdict(const nlohmann::json& checks, const nlohmann::json& benchmark);

}  // namespace rlvr
