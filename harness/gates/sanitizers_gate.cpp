// sanitizers: the target's tests run clean under AddressSanitizer and UndefinedBehaviorSanitizer
// (a separate, incremental build in .rlvr/build/sanitize).
#include <fmt/format.h>

#include "harness/build.h"
#include "harness/candidate_run.h"
#include "harness/gates/gate.h"

namespace rlvr {

namespace {

GateResult CheckSanitizers(GateContext& c) {
  if (!c.options.sanitizers) return Skip("skipped (--no-sanitizers)");
  const BuildConfig& build = c.project.build;
  std::filesystem::path sanitize_build = c.BuildDir("sanitize");
  BuildOutcome built = ConfigureAndBuild(ProjectBuild(
      build, c.worktree, sanitize_build, build.sanitize_args, {TargetNameOf(build.test_binary)},
      c.options.jobs, c.options.build_timeout_seconds, /*sanitizer=*/true));
  if (!built.ok) return Fail("sanitizer build: " + built.message, built.detail);
  std::string filter = c.target.tests;
  if (!c.target.history_tests.empty()) filter += ":" + c.target.history_tests;
  TestRunResult run = RunGoogleTests(sanitize_build / build.test_binary, filter, c.verdict.seed,
                                     c.options.test_timeout_seconds * 4, true);
  if (!run.ok) return Fail("under ASan+UBSan: " + run.message, run.detail);
  return Pass(fmt::format("{} tests clean under ASan+UBSan", run.passed));
}

}  // namespace

extern const Gate kSanitizersGate{"sanitizers", "the tests run clean under ASan and UBSan",
                                  CheckSanitizers};

}  // namespace rlvr
