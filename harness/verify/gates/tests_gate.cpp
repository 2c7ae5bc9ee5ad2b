// tests: the target's tests pass with the default seed, then with a fresh RLVR_TEST_SEED in a
// shuffled order, twice over in one process (a result that depends on call order or on earlier
// calls shows there). Then, when the target has one, the differential oracle (verify/oracle.h)
// compares the candidate's outputs with HEAD's on seeded inputs.
#include <fmt/format.h>

#include "harness/base/write_confinement.h"
#include "harness/candidate/run.h"
#include "harness/verify/gates/gate.h"
#include "harness/verify/oracle.h"

namespace rlvr {

namespace {

// Test commands (rlvr.json "test_commands"): each passes with RLVR_TEST_SEED unset, then again
// with the verdict's fresh seed (for programs that read it).
GateResult CheckTestCommands(GateContext& c) {
  const double timeout = c.options.test_timeout_seconds;
  std::vector<std::string> names;
  for (const auto& test : c.target.test_commands) {
    c.Step("running " + test.name);
    TestRunResult fixed =
        RunTestCommand(test, c.worktree, c.candidate_build, std::nullopt, timeout, false);
    if (!fixed.ok) return Fail(fixed.message, fixed.detail);
    c.Step(fmt::format("running {} with RLVR_TEST_SEED={}", test.name, c.verdict.seed));
    TestRunResult fresh =
        RunTestCommand(test, c.worktree, c.candidate_build, c.verdict.seed, timeout, false);
    if (!fresh.ok)
      return Fail(fmt::format("{} (with RLVR_TEST_SEED={})", fresh.message, c.verdict.seed),
                  fresh.detail);
    names.push_back(test.name);
  }
  return Pass(fmt::format("{} test command(s) passed ({}), then again with RLVR_TEST_SEED={}",
                          names.size(), JoinNames(names), c.verdict.seed));
}

// The repository's tests passed with `passed`; the oracle, if any, must agree too. The message
// always says whether an oracle ran.
GateResult WithOracle(GateContext& c, GateResult passed) {
  if (!c.target.oracle.enabled()) {
    passed.message += "; no differential oracle configured (rlvr.json target \"oracle\")";
    return passed;
  }
  c.Step("running the differential oracle on HEAD and the candidate");
  OracleRun oracle =
      RunDifferentialOracle(c.target.oracle, c.baseline_tree, c.baseline_build, c.worktree,
                            c.candidate_build, c.verdict.seed, c.options.test_timeout_seconds);
  if (!oracle.ok) return Fail(oracle.message, oracle.detail);
  passed.message += "; " + oracle.message;
  return passed;
}

GateResult CheckRepositoryTests(GateContext& c) {
  if (!c.target.UsesGoogleTest()) return CheckTestCommands(c);
  const std::filesystem::path binary = c.CandidateBinary(c.project.build.test_binary);
  const double timeout = c.options.test_timeout_seconds;
  c.Step("running " + c.project.build.test_binary + " --gtest_filter=" + c.target.tests);
  TestRunResult fixed = RunGoogleTests(binary, c.target.tests, std::nullopt, timeout, false);
  if (!fixed.ok) return Fail(fixed.message, fixed.detail);
  TestOrder shuffled{2, c.verdict.seed};
  c.Step(fmt::format("running the tests shuffled and repeated with RLVR_TEST_SEED={}",
                     c.verdict.seed));
  TestRunResult fresh =
      RunGoogleTests(binary, c.target.tests, c.verdict.seed, timeout * 2, false, shuffled);
  if (!fresh.ok) return Fail(fresh.message, fresh.detail);
  return Pass(fmt::format(
      "{} tests passed with the default seed, then shuffled and repeated with RLVR_TEST_SEED={}",
      fixed.passed, c.verdict.seed));
}

GateResult CheckTests(GateContext& c) {
  GateResult result = CheckRepositoryTests(c);
  // Never silent: without Landlock the candidate's processes could write anywhere rlvr can.
  if (!WriteConfinementAvailable()) result.message += "; " + WriteConfinementStatus();
  if (result.status != GateStatus::kPass) return result;
  return WithOracle(c, std::move(result));
}

}  // namespace

extern const Gate kTestsGate{
    "tests",
    "the target's tests pass: default seed, then a fresh seed shuffled and repeated; a "
    "differential oracle, if configured, agrees with HEAD",
    CheckTests};

}  // namespace rlvr
