// portable: code behind `#if` for instruction sets this build does not enable is never compiled
// by the other gates. When the candidate edits such code, each edited line is located by the
// preprocessor under the native build's compile command and under each level of
// verify/isa_levels.h (rlvr.json build.portable_args, e.g. -march=x86-64-v2, and the higher x86-64
// levels derived from it); every level that alone compiles some edited line is built and its tests
// run. A line that no build this machine can run compiles is refused as untestable, by name.
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/candidate/build.h"
#include "harness/candidate/compile_commands.h"
#include "harness/candidate/run.h"
#include "harness/candidate/sources.h"
#include "harness/verify/gates/gate.h"
#include "harness/verify/isa_levels.h"
#include "harness/verify/isa_regions.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

// Edited lines of ISA-conditional code in one version of one file.
struct EditedLines {
  std::string file;      // repository path
  bool removed = false;  // lines of HEAD's version that the candidate removes
  std::string text;      // that version's content
  std::vector<int> lines;
};

// A level's configure arguments, with a compile database to preprocess the edited files with.
std::vector<std::string> LevelArgs(const IsaLevel& level) {
  std::vector<std::string> args = level.configure_args;
  args.push_back("-DCMAKE_EXPORT_COMPILE_COMMANDS=ON");
  return args;
}

std::string LineName(const EditedLines& edit, int line) {
  return fmt::format("{}:{}{}", edit.file, line, edit.removed ? " (removed line of HEAD)" : "");
}

// The compiler a command build would use for `file`: cc for C (.c, and headers of a tree with
// no C++ translation unit edited), c++ otherwise.
std::string CompilerFor(const std::string& file) {
  const std::string ext = fs::path(file).extension().string();
  return ext == ".c" || ext == ".h" ? "cc" : "c++";
}

// Which edited lines each level of a command build compiles. Without a compile database the
// build's own flags are unknown: each file is preprocessed as `cc -march=<level> -I<tree>
// -I<its folder>` would (so a line behind a macro the build's own -D flags set is located as
// without them), and the command's native build counts as compiling no ISA-conditional line.
GateResult LocateInCommandBuild(GateContext& c, const std::vector<IsaLevel>& levels,
                                const std::vector<EditedLines>& edits,
                                std::map<std::string, std::vector<std::set<int>>>* kept) {
  (*kept)["native"] = std::vector<std::set<int>>(edits.size());
  for (const auto& level : levels) {
    auto& per_edit = (*kept)[level.name];
    for (const auto& edit : edits) {
      fs::path file = c.worktree / edit.file;
      std::vector<std::string> words = {CompilerFor(edit.file),
                                        "-march=" + level.march,
                                        "-I" + c.worktree.string(),
                                        "-I" + file.parent_path().string(),
                                        "-c",
                                        file.string()};
      try {
        per_edit.push_back(
            LinesKeptByPreprocessor(edit.text, file, edit.lines, words, file, c.worktree));
      } catch (const std::exception& e) {
        return Fail(fmt::format("cannot tell which levels compile {}: {}", edit.file, e.what()));
      }
    }
  }
  return Pass("");
}

// Which edited lines each build compiles: "native" (the other gates' build) and every level.
// Fills `kept[level][i]` with the edited lines (indexes into `edits`) it keeps.
GateResult Locate(GateContext& c, const std::vector<IsaLevel>& levels,
                  const std::vector<EditedLines>& edits,
                  std::map<std::string, std::vector<std::set<int>>>* kept) {
  const EvaluateOptions& opt = c.options;
  std::vector<std::pair<std::string, fs::path>> builds;
  // The native build's own compile database, or (a repository that exports none) a configure of
  // its arguments that does; the levels' builds always export one.
  std::vector<IsaLevel> configured_levels;
  if (!fs::exists(c.candidate_build / "compile_commands.json"))
    configured_levels.push_back(IsaLevel{"native", {}, "", true});
  else
    builds.emplace_back("native", c.candidate_build);
  configured_levels.insert(configured_levels.end(), levels.begin(), levels.end());
  for (const auto& level : configured_levels) {
    fs::path dir = c.BuildDir(("portable-" + level.name).c_str());
    BuildOutcome configured =
        Configure(ProjectBuild(c.project.build, c.worktree, dir, LevelArgs(level), {}, opt.jobs,
                               opt.build_timeout_seconds));
    if (!configured.ok)
      return Fail(fmt::format("configuring the {} build ({}): {}", level.name,
                              JoinNames(level.configure_args, " "), configured.message),
                  configured.detail);
    builds.emplace_back(level.name, dir);
  }
  for (const auto& [name, dir] : builds) {
    auto& per_edit = (*kept)[name];
    for (const auto& edit : edits) {
      fs::path file = c.worktree / edit.file;
      std::optional<ProbeCommand> command = ProbeCommandFor(dir, file);
      if (!command)
        return Fail(
            fmt::format("cannot tell which builds compile {}: {} has no "
                        "compile_commands.json entry to preprocess it with",
                        edit.file, name));
      try {
        per_edit.push_back(LinesKeptByPreprocessor(edit.text, file, edit.lines, command->words,
                                                   command->source, command->directory));
      } catch (const std::exception& e) {
        return Fail(fmt::format("cannot tell which builds compile {}: {}", edit.file, e.what()));
      }
    }
  }
  return Pass("");
}

// Runs the target's test commands on the build at `level` in `dir` (`how` says how it was built,
// for the message); a failure names the level.
GateResult RunTestCommandsAt(GateContext& c, const IsaLevel& level, const std::string& how,
                             const fs::path& dir, int* passed) {
  for (const auto& test : c.target.test_commands) {
    TestRunResult run = RunTestCommand(test, c.worktree, dir, c.verdict.seed,
                                       c.options.test_timeout_seconds * 2, false);
    if (!run.ok)
      return Fail(fmt::format("built for {} ({}): {}", level.name, how, run.message), run.detail);
    ++*passed;
  }
  return Pass("");
}

// Builds a command-built tree at `level` with build.isa_command and runs the target's test
// commands on that build; a failure names the level.
GateResult BuildAndTestWithCommand(GateContext& c, const IsaLevel& level, int* passed) {
  std::vector<std::string> command = c.project.build.isa_command;
  for (std::string& word : command) {
    for (size_t at = word.find("{march}"); at != std::string::npos;
         at = word.find("{march}", at + level.march.size()))
      word.replace(at, 7, level.march);
  }
  BuildRequest request;
  request.jobs = c.options.jobs;
  request.timeout_seconds = c.options.build_timeout_seconds;
  request.source_dir = c.worktree;
  request.build_dir = c.BuildDir(("portable-" + level.name).c_str());
  BuildOutcome built = RunBuildCommand(request, command, {});
  const std::string args = JoinNames(command, " ");
  if (!built.ok)
    return Fail(fmt::format("{} build (`{}`): {}", level.name, args, built.message), built.detail);
  return RunTestCommandsAt(c, level, "`" + args + "`", request.build_dir, passed);
}

// Builds the target's tests at `level` and runs them; a failure names the level.
GateResult BuildAndTest(GateContext& c, const IsaLevel& level, int* passed) {
  const BuildConfig& build = c.project.build;
  if (build.UsesBuildCommand()) return BuildAndTestWithCommand(c, level, passed);
  const fs::path dir = c.BuildDir(("portable-" + level.name).c_str());
  std::vector<std::string> targets;
  if (c.target.UsesGoogleTest()) targets.push_back(TargetNameOf(build.test_binary));
  BuildOutcome built =
      ConfigureAndBuild(ProjectBuild(build, c.worktree, dir, LevelArgs(level), targets,
                                     c.options.jobs, c.options.build_timeout_seconds));
  const std::string args = JoinNames(level.configure_args, " ");
  if (!built.ok)
    return Fail(fmt::format("{} build ({}): {}", level.name, args, built.message), built.detail);
  if (!c.target.UsesGoogleTest()) {
    return RunTestCommandsAt(c, level, args, dir, passed);
  }
  std::string filter = c.target.tests;
  if (!c.target.history_tests.empty()) filter += ":" + c.target.history_tests;
  TestRunResult run = RunGoogleTests(dir / build.test_binary, filter, c.verdict.seed,
                                     c.options.test_timeout_seconds * 2, false);
  if (!run.ok)
    return Fail(fmt::format("built for {} ({}): {}", level.name, args, run.message), run.detail);
  *passed += run.passed;
  return Pass("");
}

GateResult CheckPortable(GateContext& c) {
  std::vector<EditedLines> edits;
  for (const auto& file : c.verdict.changed_files) {
    if (!IsCxxSource(file)) continue;
    if (fs::exists(c.worktree / file)) {
      EditedLines edit{file, false, ReadFileText(c.worktree / file), {}};
      edit.lines = IsaConditionalChangedLines(edit.text, c.verdict.patch, file);
      if (!edit.lines.empty()) edits.push_back(std::move(edit));
    }
    if (fs::exists(c.baseline_tree / file)) {
      EditedLines edit{file, true, ReadFileText(c.baseline_tree / file), {}};
      edit.lines = IsaConditionalDeletedLines(edit.text, c.verdict.patch, file);
      if (!edit.lines.empty()) edits.push_back(std::move(edit));
    }
  }
  if (edits.empty())
    return Pass("not needed: no edited line is inside instruction-set-conditional code");
  std::vector<std::string> all_lines;
  for (const auto& edit : edits)
    for (int line : edit.lines) all_lines.push_back(LineName(edit, line));
  const std::string where =
      all_lines.front() + (all_lines.size() > 1
                               ? fmt::format(" and {} more line(s)", all_lines.size() - 1)
                               : std::string());
  const BuildConfig& build = c.project.build;
  const bool command_build = build.UsesBuildCommand();
  const std::vector<IsaLevel> levels =
      command_build ? CommandIsaLevelsOf(build) : IsaLevelsOf(build);
  if (levels.empty())
    return Fail(fmt::format("edits code inside an instruction-set #if ({}) that this build never "
                            "compiles, and {}: untestable",
                            where,
                            command_build
                                ? "rlvr.json has no build.isa_command (the build command with "
                                  "{march} where the -march= value goes) to build it at other "
                                  "instruction-set levels"
                                : "rlvr.json has no build.portable_args to build it without those "
                                  "extensions"),
                JoinNames(all_lines, "\n"));

  std::map<std::string, std::vector<std::set<int>>> kept;
  GateResult located = command_build ? LocateInCommandBuild(c, levels, edits, &kept)
                                     : Locate(c, levels, edits, &kept);
  if (located.status == GateStatus::kFail) return located;

  // Every edited line with code must be compiled by the native build or by a runnable level;
  // levels are chosen greedily, the one covering most uncovered lines first.
  std::vector<std::string> level_names;
  for (const auto& level : levels) level_names.push_back(level.name);
  std::set<std::pair<size_t, int>> uncovered;
  for (size_t e = 0; e < edits.size(); ++e) {
    const std::vector<bool> code = LinesWithCode(edits[e].text);
    for (int line : edits[e].lines) {
      bool any = false;
      for (const auto& [name, per_edit] : kept) any = any || per_edit[e].count(line);
      if (!any && code[line - 1]) {
        return Fail(fmt::format("{} is compiled by no build rlvr can make here (native, {}): "
                                "untestable",
                                LineName(edits[e], line), JoinNames(level_names)),
                    JoinNames(all_lines, "\n"));
      }
      if (!kept["native"][e].count(line) && any) uncovered.insert({e, line});
    }
  }
  std::vector<const IsaLevel*> chosen;
  while (!uncovered.empty()) {
    const IsaLevel* best = nullptr;
    size_t best_count = 0;
    for (const auto& level : levels) {
      if (!level.runnable) continue;
      size_t count = 0;
      for (const auto& [e, line] : uncovered) count += kept[level.name][e].count(line);
      if (count > best_count) {
        best = &level;
        best_count = count;
      }
    }
    if (best == nullptr) {
      const auto& [e, line] = *uncovered.begin();
      std::vector<std::string> only;
      for (const auto& level : levels)
        if (kept[level.name][e].count(line)) only.push_back(level.name);
      return Fail(fmt::format("{} is compiled only for {}, which this machine cannot run: "
                              "untestable here",
                              LineName(edits[e], line), JoinNames(only)),
                  JoinNames(all_lines, "\n"));
    }
    chosen.push_back(best);
    for (auto it = uncovered.begin(); it != uncovered.end();) {
      if (kept[best->name][it->first].count(it->second)) {
        it = uncovered.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (chosen.empty())
    return Pass(
        fmt::format("edits ISA-conditional code ({}): every edited line is compiled by "
                    "the native build, whose tests ran (levels checked: {})",
                    where, JoinNames(level_names)));
  std::vector<std::string> built;
  int passed = 0;
  for (const IsaLevel* level : chosen) {
    c.Log(fmt::format("portable: building and testing for {}", level->name));
    c.Step(fmt::format("building and testing for {}", level->name));
    if (GateResult result = BuildAndTest(c, *level, &passed); result.status == GateStatus::kFail)
      return result;
    built.push_back(
        command_build ? level->name
                      : fmt::format("{} ({})", level->name, JoinNames(level->configure_args, " ")));
  }
  return Pass(fmt::format("edits ISA-conditional code ({}): rebuilt for {} and {} {} passed", where,
                          JoinNames(built), passed,
                          c.target.UsesGoogleTest() ? "tests" : "test command(s)"));
}

}  // namespace

extern const Gate kPortableGate{
    "portable", "edited instruction-set #if code is built and tested at every level compiling it",
    CheckPortable};

}  // namespace rlvr
