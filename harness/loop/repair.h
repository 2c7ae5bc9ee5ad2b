// The repair turn: a candidate that failed a gate for being wrong (it does not apply, build or pass
// its tests; not merely "not faster") goes back to the model in the same conversation, with its
// reply and the gate's exact error, for a corrected reply (at most LoopSettings::max_repairs
// times).
#pragma once

#include <string>
#include <vector>

#include "harness/llm/client.h"
#include "harness/verify/evaluate.h"

namespace rlvr {

// Whether a repair turn can help: the candidate failed a gate other than the benchmark's.
bool Repairable(const Verdict& v);

// What the model is told when its candidate failed: the verdict's message, then the failed gate's
// message (when it says more) and detail.
std::string FailureText(const Verdict& v);

// Appends the repair turn to `conversation` (the one that produced `reply`): the model's `reply`,
// then the repair request (prompt.h RepairRequest) for `verdict`. Precondition:
// Repairable(verdict).
void AddRepairTurn(std::vector<ChatMessage>& conversation, const std::string& reply,
                   const Verdict& verdict);

}  // namespace rlvr
