// The repair turn: a candidate that failed a gate for being wrong (it does not apply, build or pass
// its tests; not merely "not faster") goes back to the model in the same conversation, with its
// reply and the gate's exact error, for a corrected reply (at most LoopSettings::max_repairs
// times).
#pragma once

#include <cstddef>
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
// then the repair request (prompt.h RepairRequest) for `verdict`. The whole conversation stays
// within `max_chars` bytes (--prompt-chars) where the turn can make it so: the failure text gets
// at most half of what the conversation leaves (and at most 6000 bytes), the reply the rest, each
// cut in its middle with a marker saying how much was cut (base/text_cut.h). Precondition:
// Repairable(verdict).
void AddRepairTurn(std::vector<ChatMessage>& conversation, const std::string& reply,
                   const Verdict& verdict, size_t max_chars);

}  // namespace rlvr
