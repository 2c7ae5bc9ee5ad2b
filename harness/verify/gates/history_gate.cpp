// history: a kernel's output depends only on its inputs. The target's history tests (rlvr.json
// "history_tests") call each kernel on inputs X, then unrelated inputs, then X again and small
// perturbations of X in one process, and require bit-identical results for identical inputs,
// reference-matching results for the perturbed ones, untouched inputs and a fully written output.
// A kernel that memoises, updates a previous result or defers work is caught here even when it
// hides its state where the object audit cannot see it.
#include <fmt/format.h>

#include "harness/candidate/run.h"
#include "harness/verify/gates/gate.h"

namespace rlvr {

namespace {

GateResult CheckHistory(GateContext& c) {
  if (c.target.history_tests.empty() && !c.target.UsesGoogleTest())
    return Skip(
        "history_tests need a GoogleTest binary; not checked: this target's tests are commands "
        "(rlvr.json \"test_commands\"), so a stateful kernel that passes them goes unnoticed "
        "here");
  if (c.target.history_tests.empty())
    return Skip(
        "not checked: rlvr.json gives this target no \"history_tests\" (a stateful kernel that "
        "passes the tests would go unnoticed here)");
  const std::filesystem::path binary = c.CandidateBinary(c.project.build.test_binary);
  TestOrder shuffled{2, c.verdict.seed ^ 0x5bd1e995u};
  TestRunResult run = RunGoogleTests(binary, c.target.history_tests, c.verdict.seed,
                                     c.options.test_timeout_seconds * 2, false, shuffled);
  if (!run.ok) return Fail("output depends on earlier calls: " + run.message, run.detail);
  return Pass(fmt::format("{} history tests passed (shuffled, repeated, RLVR_TEST_SEED={})",
                          run.passed, c.verdict.seed));
}

}  // namespace

extern const Gate kHistoryGate{
    "history", "outputs depend only on inputs: same inputs twice give bit-identical results",
    CheckHistory};

}  // namespace rlvr
