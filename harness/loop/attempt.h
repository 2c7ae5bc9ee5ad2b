// An attempt of the loop as it is recorded and shown: its evaluation key at an executor, the JSON
// columns a verdict fills in its ledger row, the one-line reason of its verdict, and the line
// printed as it happens (and by `rlvr status`).
#pragma once

#include <cstdint>
#include <string>

#include "harness/ledger/ledger.h"
#include "harness/verify/evaluate.h"

namespace rlvr {

// The ledger key of an evaluation ("a17") and back (0 when `key` is not one).
std::string EvaluationKey(int64_t attempt_id);
int64_t AttemptIdOfKey(const std::string& key);

// The ledger's verdict of an evaluation: 'error' when the machine failed (machine_fault), else
// 'passed' when no gate run failed (promotable, or every
// gate run passed and the benchmark gate was skipped, --no-benchmark: such a pass is never
// promoted), else 'failed'.
std::string LedgerVerdict(const Verdict& verdict);

// The one-line reason of a verdict, as recorded and printed: the evaluator's message, made
// specific where it is generic ("no patch found ...", "... the patch changes nothing" instead of
// "patch does not apply"; a pass without the benchmark gate says it cannot be promoted).
std::string VerdictReason(const Verdict& verdict);

// The attempt line printed as it happens:
// "[16:58:03] dot 1.2.1 failed build - 12.3s" or "[16:58:40] dot 1.1 passed - 0.412 35.2s".
// `when` replaces the clock (rlvr status shows the attempt's created_at); a promoted commit is
// shown, and a failure's reason (or a pass's, when it has no benchmark figure), on one line of
// bounded length.
std::string AttemptLine(const AttemptRecord& attempt, const std::string& when = "");

// The wall-clock time of day (UTC, "16:58:03") that attempt lines start with.
std::string ClockNow();

// The ledger's gates column of a verdict: each gate's summary, with its detail cut to 4000 bytes.
std::string GatesJson(const Verdict& v);

// The ledger's figures column of a verdict: the metric and each benchmark's figures; "" when the
// verdict has none.
std::string FiguresJson(const Verdict& v);

}  // namespace rlvr
