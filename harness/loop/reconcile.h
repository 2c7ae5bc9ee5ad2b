// Recovery of a promotion cut short by a crash. The loop promotes in two steps: the commit (atomic,
// branch moved by compare-and-swap, then the promoted files checked out) and the ledger row marked
// 'promoted'. A process killed between them leaves a commit the ledger does not know of, and
// possibly working files still at the parent's content. The commit carries a trailer naming its
// ledger attempt, so a restarted loop can finish the job instead of leaving a half promotion.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/git/attempt_commits.h"
#include "harness/ledger/ledger.h"

namespace rlvr {

// The promotion commits among the last `depth` commits of HEAD whose ledger row is still
// 'passed' (a loop killed between its commit and its ledger write). Reads only: for read-only
// commands, which report them as promoted (pending in the ledger).
std::vector<AttemptCommit> UnrecordedPromotions(const std::filesystem::path& repo_root,
                                                const Ledger& ledger, int depth = 200);

// "Rlvr-Attempt: 42": the last line of a promotion commit made by the loop.
std::string AttemptTrailer(int64_t attempt_id);

// Walks the last `depth` commits of HEAD. Each carrying an attempt trailer whose ledger row is
// still 'passed' is marked 'promoted' with that commit. If HEAD itself is such a commit, its files
// that still hold the parent's content in the working tree and index are brought up to HEAD
// (files the user changed are left alone). Returns one line per repair, for the user.
std::vector<std::string> ReconcilePromotions(const std::filesystem::path& repo_root, Ledger& ledger,
                                             int depth = 200);

}  // namespace rlvr
