// How the loop seeks candidates (`rlvr iterate --strategy`), recorded with each run so reports can
// compare runs by strategy:
//   greedy       (default) one request for N replies per round from HEAD, the prompt showing the
//                recent history and the best earlier candidates; the fastest passing one promoted
//                at once. One model, one target: exactly the loop before strategies existed.
//   best-of-n    N separate requests of one reply per round, each to the model the bandit picks,
//                from HEAD, the prompt without history (independent samples); the fastest passing
//                one promoted at the round's end.
//   independent  every sample from the same parent, the commit the target had when the run
//                started; no history; nothing promoted until the run ends on a budget, then the
//                fastest passing candidate of each target (re-judged against HEAD if another
//                target's promotion moved it). Plain independent sampling, the baseline of search
//                studies.
//   archive      keeps the best few candidates of each target (passed but not promoted, near
//                misses) as further parents: each round edits HEAD or one of them (shown as the
//                files to edit), with the others as inspirations; the result is judged as an edit
//                of HEAD, so a promotion is always of HEAD.
#pragma once

#include <optional>
#include <string>

namespace rlvr {

enum class Strategy { kGreedy, kBestOfN, kIndependent, kArchive };

// "greedy", "best-of-n", "independent", "archive".
const char* StrategyName(Strategy strategy);

// The strategy of that name; nothing for an unknown one.
std::optional<Strategy> ParseStrategy(const std::string& name);

// "greedy, best-of-n, independent, archive", for messages.
std::string StrategyNames();

}  // namespace rlvr
