// portable: code behind `#if` for instruction sets this build does not enable is never compiled
// by the other gates. When the candidate edits such code, the target is built again without the
// machine's extensions (rlvr.json build.portable_args, e.g. -march=x86-64-v2) and its tests run
// there; without portable_args the edit is refused as untestable.
#include <filesystem>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/candidate/build.h"
#include "harness/candidate/run.h"
#include "harness/candidate/sources.h"
#include "harness/verify/gates/gate.h"
#include "harness/verify/isa_regions.h"

namespace rlvr {

namespace {

GateResult CheckPortable(GateContext& c) {
  std::vector<std::string> edited;  // "file:line" of edits inside ISA-conditional code
  for (const auto& file : c.verdict.changed_files) {
    if (!IsCxxSource(file)) continue;
    if (std::filesystem::exists(c.worktree / file)) {
      std::string after = ReadFileText(c.worktree / file);
      for (int line : IsaConditionalChangedLines(after, c.verdict.patch, file))
        edited.push_back(fmt::format("{}:{}", file, line));
    }
    if (std::filesystem::exists(c.baseline_tree / file)) {
      std::string before = ReadFileText(c.baseline_tree / file);
      for (int line : IsaConditionalDeletedLines(before, c.verdict.patch, file))
        edited.push_back(fmt::format("{}:{} (removed line of HEAD)", file, line));
    }
  }
  if (edited.empty())
    return Pass("not needed: no edited line is inside instruction-set-conditional code");
  std::string where =
      edited.front() +
      (edited.size() > 1 ? fmt::format(" and {} more line(s)", edited.size() - 1) : std::string());
  const BuildConfig& build = c.project.build;
  if (build.portable_args.empty())
    return Fail(
        fmt::format("edits code inside an instruction-set #if ({}) that this build never "
                    "compiles, and rlvr.json has no build.portable_args to build it "
                    "without those extensions{}: untestable",
                    where,
                    build.UsesBuildCommand() ? " (a build command has no portable build)" : ""),
        JoinNames(edited, "\n"));
  std::vector<std::string> targets;
  if (c.target.UsesGoogleTest()) targets.push_back(TargetNameOf(build.test_binary));
  BuildOutcome built =
      ConfigureAndBuild(ProjectBuild(build, c.worktree, c.BuildDir("portable"), build.portable_args,
                                     targets, c.options.jobs, c.options.build_timeout_seconds));
  if (!built.ok)
    return Fail(
        fmt::format("portable build ({}): {}", JoinNames(build.portable_args, " "), built.message),
        built.detail);
  if (!c.target.UsesGoogleTest()) {
    for (const auto& test : c.target.test_commands) {
      TestRunResult run = RunTestCommand(test, c.worktree, c.BuildDir("portable"), c.verdict.seed,
                                         c.options.test_timeout_seconds * 2, false);
      if (!run.ok)
        return Fail(fmt::format("without the ISA extensions ({}): {}",
                                JoinNames(build.portable_args, " "), run.message),
                    run.detail);
    }
    return Pass(
        fmt::format("edits ISA-conditional code ({}): rebuilt with {} and {} test "
                    "command(s) passed",
                    where, JoinNames(build.portable_args, " "), c.target.test_commands.size()));
  }
  std::string filter = c.target.tests;
  if (!c.target.history_tests.empty()) filter += ":" + c.target.history_tests;
  TestRunResult run = RunGoogleTests(c.BuildDir("portable") / build.test_binary, filter,
                                     c.verdict.seed, c.options.test_timeout_seconds * 2, false);
  if (!run.ok)
    return Fail(fmt::format("without the ISA extensions ({}): {}",
                            JoinNames(build.portable_args, " "), run.message),
                run.detail);
  return Pass(fmt::format("edits ISA-conditional code ({}): rebuilt with {} and {} tests passed",
                          where, JoinNames(build.portable_args, " "), run.passed));
}

}  // namespace

extern const Gate kPortableGate{
    "portable", "edits inside instruction-set #if blocks are built and tested without them",
    CheckPortable};

}  // namespace rlvr
