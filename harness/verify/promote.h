// Promotion of a candidate that passed every gate: one commit on the current branch holding the
// candidate's edit and baselines/<target>.json with its measured figures, made with libgit2
// without touching the working tree first (tree built in memory, branch moved by
// compare-and-swap), then the promoted files checked out. Atomic: if anything fails before the
// branch moves, the branch is unchanged.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/verify/evaluate.h"

namespace rlvr {

// baselines/<target>.json content (DESIGN.md format) from the candidate's figures.
nlohmann::json BaselineJsonFromVerdict(const Project& project, const Target& target,
                                       const Verdict& verdict,
                                       const std::filesystem::path& candidate_build_dir);

// One-line summary + body with every figure, e.g.
// "dot: BM_Dot/4096 -42.1% time [CI -45.0%, -40.2%], p=0.0002 (rlvr)".
// `trailer` (e.g. "Rlvr-Attempt: 42", see loop/reconcile.h) ends the message when not empty.
std::string PromotionMessage(const Target& target, const Verdict& verdict,
                             const std::string& trailer = "");

PromoteResult PromoteCandidate(const Project& project, const Target& target, const Verdict& verdict,
                               const std::filesystem::path& candidate_build_dir,
                               const std::string& trailer = "");

}  // namespace rlvr
