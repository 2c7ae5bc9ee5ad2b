// tests: the target's tests pass with the default seed, then with a fresh RLVR_TEST_SEED in a
// shuffled order, twice over in one process (a result that depends on call order or on earlier
// calls shows there). Then the differential oracle compares the candidate's outputs with HEAD's
// on seeded inputs: the target's own (verify/oracle.h) when rlvr.json configures one, else the
// default oracle (verify/default_oracle.h) on the edited C functions it can drive.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "harness/base/process.h"
#include "harness/base/write_confinement.h"
#include "harness/candidate/compile_recorder.h"
#include "harness/candidate/run.h"
#include "harness/verify/default_oracle.h"
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

namespace fs = std::filesystem;

// Where the default oracle finds the compile commands of HEAD's build: its compile_commands.json,
// or for a command build without one, the commands recorded once per HEAD commit from a fresh
// export of HEAD's tree (candidate/compile_recorder.h). Returns false with `why` when neither.
bool FindCompileDatabase(GateContext& c, DefaultOracleInputs* in, std::string* why) {
  if (fs::exists(c.baseline_build / "compile_commands.json")) {
    in->compile_db_dir = c.baseline_build;
    in->compile_db_tree = c.baseline_tree;
    return true;
  }
  if (!c.project.build.UsesBuildCommand()) {
    *why = "HEAD's build dir has no compile_commands.json (set CMAKE_EXPORT_COMPILE_COMMANDS)";
    return false;
  }
  const fs::path root = c.BuildDir("oracle-compiles") / c.verdict.head_commit;
  const fs::path tree = root / "tree", build = root / "build", done = root / "recorded";
  if (!fs::exists(done)) {
    c.Step("recording the build command's compile commands for the default oracle");
    std::error_code ec;
    fs::remove_all(root, ec);
    fs::create_directories(tree);
    RunOptions options;
    options.limits.wall_seconds = c.options.build_timeout_seconds;
    ProcessResult exported =
        RunProcess({"sh", "-c", "git -C \"$0\" archive HEAD | tar -x -C \"$1\"",
                    c.baseline_tree.string(), tree.string()},
                   options);
    if (!exported.ok()) {
      *why = "could not export HEAD's tree to record its compile commands: " + exported.Describe();
      return false;
    }
    RecordedCompiles recorded = RecordCompileCommands(c.project.build, tree, build, c.options.jobs,
                                                      c.options.build_timeout_seconds);
    if (!recorded.ok) {
      *why = "the build command's compile commands could not be recorded: " + recorded.message;
      return false;
    }
    std::ofstream(done) << recorded.message << "\n";
  }
  in->compile_db_dir = build;
  in->compile_db_tree = tree;
  in->object_roots = {build, tree};
  return true;
}

// The default oracle, for a target without its own: passes with a message saying what it compared
// or why it could not; fails on the candidate's first difference.
GateResult WithDefaultOracle(GateContext& c, GateResult passed) {
  DefaultOracleInputs in;
  in.head_tree = c.baseline_tree;
  in.candidate_tree = c.worktree;
  in.object_roots = {c.baseline_build, c.baseline_tree};
  in.edited_files = c.verdict.changed_files;
  in.work_dir = c.BuildDir("default-oracle");
  in.seed = c.verdict.seed;
  if (c.target.oracle.tolerance > 0) in.tolerance = c.target.oracle.tolerance;
  in.timeout_seconds = std::max(60.0, c.options.test_timeout_seconds);
  std::string why;
  if (!FindCompileDatabase(c, &in, &why)) {
    passed.message += "; no default oracle: " + why;
    return passed;
  }
  c.Step("running the default oracle: HEAD's and the candidate's edited functions side by side");
  DefaultOracleRun run = RunDefaultOracle(in);
  if (!run.ok) return Fail(run.message, run.detail);
  passed.message += "; " + run.message;
  return passed;
}

// The repository's tests passed with `passed`; the oracle (the configured one, else the default
// one) must agree too. The message always says what oracle ran, or why none did.
GateResult WithOracle(GateContext& c, GateResult passed) {
  if (!c.target.oracle.enabled()) return WithDefaultOracle(c, std::move(passed));
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
    "differential oracle (the configured one, else a default one driving the edited C functions "
    "on inputs up to 32 MiB) agrees with HEAD",
    CheckTests};

}  // namespace rlvr
