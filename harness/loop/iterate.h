// `rlvr iterate` around the loop (loop.h): the model source of the resolved settings
// (settings.h); at start, the ledger's recovery from a loop that died (its unfinished runs closed,
// its interrupted promotion finished, reconcile.h); the executor chosen (local, a local pool with
// --jobs, or Slurm); then the run, with its end turned into the command's exit statuses: 0 when
// the loop stopped on a budget (or a replay ran out), 130 / 143 when a SIGINT / SIGTERM stopped
// it, 1 when the model could not be used, 2 when the machine or its storage could not be (ledger,
// executor, harness errors).
#pragma once

#include <memory>
#include <ostream>
#include <vector>

#include "harness/llm/client.h"
#include "harness/loop/settings.h"

namespace rlvr {

// The model sources `settings` name, one per model (settings.llm_source with each of
// settings.models). Touches nothing. Throws CLI::RuntimeError (exit status 2) for an unknown
// source or an unreadable replay.
std::vector<std::unique_ptr<LlmSource>> OpenModelSources(const IterateSettings& settings);

// Recovers what a dead loop left, makes the executor and runs the loop to its end, printing on
// `out`. Preconditions: the caller holds the repository lock of settings.project.root
// (base/run_lock.h), so any unfinished run in the ledger belongs to a loop that died; `settings`
// comes from ResolveIterateSettings. Installs the stop-signal handlers for the run. Throws
// CLI::RuntimeError with exit status 128 + the first stop signal (130 for SIGINT, 143 for SIGTERM)
// when a signal stopped the loop, 1 when the model could not be used, 2 when the ledger cannot be
// opened or written, the executor cannot be made or the harness fails.
void RunIterate(const IterateSettings& settings,
                const std::vector<std::unique_ptr<LlmSource>>& sources, std::ostream& out);

}  // namespace rlvr
