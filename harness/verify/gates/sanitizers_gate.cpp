// sanitizers: the target's tests run clean under AddressSanitizer and UndefinedBehaviorSanitizer
// (a separate, incremental build in .rlvr/build/sanitize).
#include <fmt/format.h>

#include "harness/candidate/build.h"
#include "harness/candidate/run.h"
#include "harness/verify/gates/gate.h"

namespace rlvr {

namespace {

// Test commands under the sanitizers: a sanitizer build by build.sanitize_command (or CMake with
// sanitize_args), then every test command against that build.
GateResult CheckTestCommandsSanitized(GateContext& c, const std::filesystem::path& sanitize_build) {
  const BuildConfig& build = c.project.build;
  BuildOutcome built;
  if (build.UsesBuildCommand()) {
    if (build.sanitize_command.empty())
      return Skip(
          "not run: rlvr.json's build gives no \"sanitize_command\" (the build command with "
          "-fsanitize=address,undefined flags, into {build_dir})");
    BuildRequest request;
    request.source_dir = c.worktree;
    request.build_dir = sanitize_build;
    request.jobs = c.options.jobs;
    request.timeout_seconds = c.options.build_timeout_seconds;
    request.sanitizer = true;
    c.Step("building the candidate with the sanitize_command in " + sanitize_build.string());
    built = RunBuildCommand(request, build.sanitize_command, build.artifacts);
  } else {
    if (build.sanitize_args.empty())
      return Skip(
          "not run: rlvr.json's build gives no \"sanitize_args\" (CMake options that build the "
          "tests with ASan and UBSan)");
    c.Step("configuring and building the candidate with sanitizers in " + sanitize_build.string());
    built = ConfigureAndBuild(ProjectBuild(build, c.worktree, sanitize_build, build.sanitize_args,
                                           {}, c.options.jobs, c.options.build_timeout_seconds,
                                           /*sanitizer=*/true));
  }
  if (!built.ok) return Fail("sanitizer build: " + built.message, built.detail);
  std::vector<std::string> names;
  for (const auto& test : c.target.test_commands) {
    c.Step("running " + test.name + " under the sanitizers");
    TestRunResult run = RunTestCommand(test, c.worktree, sanitize_build, c.verdict.seed,
                                       c.options.test_timeout_seconds * 4, true);
    if (!run.ok) return Fail("under the sanitizer build: " + run.message, run.detail);
    names.push_back(test.name);
  }
  return Pass(fmt::format("{} test command(s) passed against the sanitizer build ({})",
                          names.size(), JoinNames(names)));
}

GateResult CheckSanitizers(GateContext& c) {
  if (!c.options.sanitizers) return Skip("skipped (--no-sanitizers)");
  const BuildConfig& build = c.project.build;
  std::filesystem::path sanitize_build = c.BuildDir("sanitize");
  if (!c.target.UsesGoogleTest()) return CheckTestCommandsSanitized(c, sanitize_build);
  c.Step("configuring and building " + build.test_binary + " with ASan and UBSan in " +
         sanitize_build.string());
  BuildOutcome built = ConfigureAndBuild(ProjectBuild(
      build, c.worktree, sanitize_build, build.sanitize_args, {TargetNameOf(build.test_binary)},
      c.options.jobs, c.options.build_timeout_seconds, /*sanitizer=*/true));
  if (!built.ok) return Fail("sanitizer build: " + built.message, built.detail);
  std::string filter = c.target.tests;
  if (!c.target.history_tests.empty()) filter += ":" + c.target.history_tests;
  c.Step("running " + build.test_binary + " under ASan and UBSan");
  TestRunResult run = RunGoogleTests(sanitize_build / build.test_binary, filter, c.verdict.seed,
                                     c.options.test_timeout_seconds * 4, true);
  if (!run.ok) return Fail("under ASan+UBSan: " + run.message, run.detail);
  return Pass(fmt::format("{} tests clean under ASan+UBSan", run.passed));
}

}  // namespace

extern const Gate kSanitizersGate{"sanitizers", "the tests run clean under ASan and UBSan",
                                  CheckSanitizers};

}  // namespace rlvr
