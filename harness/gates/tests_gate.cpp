// tests: the target's tests pass with the default seed, then with a fresh RLVR_TEST_SEED in a
// shuffled order, twice over in one process (a result that depends on call order or on earlier
// calls shows there).
#include <fmt/format.h>

#include "harness/candidate_run.h"
#include "harness/gates/gate.h"

namespace rlvr {

namespace {

// Test commands (rlvr.json "test_commands"): each passes with RLVR_TEST_SEED unset, then again
// with the verdict's fresh seed (for programs that read it).
GateResult CheckTestCommands(GateContext& c) {
  const double timeout = c.options.test_timeout_seconds;
  std::vector<std::string> names;
  for (const auto& test : c.target.test_commands) {
    TestRunResult fixed =
        RunTestCommand(test, c.worktree, c.candidate_build, std::nullopt, timeout, false);
    if (!fixed.ok) return Fail(fixed.message, fixed.detail);
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

GateResult CheckTests(GateContext& c) {
  if (!c.target.UsesGoogleTest()) return CheckTestCommands(c);
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
