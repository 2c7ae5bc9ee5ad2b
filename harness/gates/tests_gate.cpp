// tests: the target's tests pass with the default seed, then with a fresh RLVR_TEST_SEED in a
// shuffled order, twice over in one process (a result that depends on call order or on earlier
// calls shows there).
#include <fmt/format.h>

#include "harness/candidate_run.h"
#include "harness/gates/gate.h"

namespace rlvr {

namespace {

GateResult CheckTests(GateContext& c) {
  const std::filesystem::path binary = c.CandidateBinary(c.project.build.test_binary);
  const double timeout = c.options.test_timeout_seconds;
  TestRunResult fixed = RunGoogleTests(binary, c.target.tests, std::nullopt, timeout, false);
  if (!fixed.ok) return Fail(fixed.message, fixed.detail);
  TestOrder shuffled{2, c.verdict.seed};
  TestRunResult fresh =
      RunGoogleTests(binary, c.target.tests, c.verdict.seed, timeout * 2, false, shuffled);
  if (!fresh.ok) return Fail(fresh.message, fresh.detail);
  return Pass(fmt::format(
      "{} tests passed with the default seed, then shuffled and repeated with RLVR_TEST_SEED={}",
      fixed.passed, c.verdict.seed));
}

}  // namespace

extern const Gate kTestsGate{
    "tests", "the target's tests pass: default seed, then a fresh seed shuffled and repeated",
    CheckTests};

}  // namespace rlvr
