#include "harness/repo/kill_rate.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "harness/git/head_files.h"
#include "harness/patch/diff.h"
#include "harness/repo/check_report.h"
#include "harness/repo/mutant_screen.h"
#include "harness/repo/mutants.h"
#include "harness/verify/evaluate.h"
#include "harness/verify/isa_regions.h"

namespace rlvr {

namespace {

bool IsMutableSource(const std::string& path) {
  for (const char* ext : {".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".inl"})
    if (path.ends_with(ext)) return true;
  return false;
}

std::string KillRate(const MutantTally& tally) {
  int viable = tally.killed + tally.survived;
  if (viable == 0) return "n/a (no mutant killed or survived)";
  return fmt::format("{}% ({} of {} viable)", (100 * tally.killed + viable / 2) / viable,
                     tally.killed, viable);
}

// Prints `title` and one line per mutant of `mutants` (nothing when there is none).
void PrintMutants(const char* title, const std::vector<const Mutant*>& mutants) {
  if (mutants.empty()) return;
  std::printf("%s\n", title);
  for (const Mutant* m : mutants) std::printf("  %s\n", m->Describe().c_str());
}

// Judges the mutants of one target; prints a line per mutant, the kill rate and the survivors.
MutantTally JudgeMutantsOf(const Project& project, const Target& target,
                           const KillRateOptions& args, MutantScreen& screen) {
  MutantTally tally;
  HeadFiles head(project.root);
  const bool isa_tested =
      !project.build.portable_args.empty() || !project.build.isa_command.empty();
  std::vector<MutantSource> sources;
  std::map<std::string, std::vector<bool>> isa_lines;  // the lines another ISA level may compile
  int excluded = 0;
  for (const auto& file : head.Matching(target.editable)) {
    if (!IsMutableSource(file)) continue;
    std::optional<std::string> text = head.Text(file);
    if (!text) continue;
    MutantSource source{file, *text, {}};
    std::vector<bool> isa = IsaConditionalLines(*text);
    source.excluded_lines = screen.NeverCompiledLines(file, *text);
    if (isa_tested) {
      // The portable gate builds and tests the other levels: their lines stay mutable.
      for (size_t i = 0; i < source.excluded_lines.size() && i < isa.size(); ++i)
        if (isa[i]) source.excluded_lines[i] = false;
      isa_lines[file] = isa;
    } else if (source.excluded_lines.empty()) {
      source.excluded_lines = isa;  // no level tests them: never mutants the tests could see
    }
    excluded += static_cast<int>(
        std::count(source.excluded_lines.begin(), source.excluded_lines.end(), true));
    sources.push_back(std::move(source));
  }
  std::vector<Mutant> mutants =
      SampleMutants(sources, static_cast<size_t>(std::max(0, args.max_mutants)), args.seed);
  std::printf("%s: %zu mutant(s) of %s (seed %llu%s)\n", target.name.c_str(), mutants.size(),
              JoinForCheck(head.Matching(target.editable)).c_str(),
              static_cast<unsigned long long>(args.seed),
              excluded > 0 ? fmt::format("; {} line(s) this build never compiles skipped (an "
                                         "#if that is off here, by the preprocessor)",
                                         excluded)
                                 .c_str()
                           : "");
  tally.lines_never_compiled = excluded;
  std::fflush(stdout);
  EvaluateOptions options;
  options.benchmark = false;
  options.sanitizers = false;
  options.jobs = args.jobs;
  options.seed = args.seed == 0 ? 1 : args.seed;  // the same test inputs for every mutant
  options.test_timeout_seconds = args.test_timeout;
  Evaluator evaluator(project, options);
  std::vector<const Mutant*> survivors, equivalent, not_compiled;
  std::map<std::string, int> unscreened_reasons;
  for (size_t i = 0; i < mutants.size(); ++i) {
    const Mutant& mutant = mutants[i];
    ++tally.generated;
    std::string outcome, reason;
    // Screened first: a mutant no test could kill costs a compile, not a build and test run.
    ScreenResult screened = screen.Screen(mutant, isa_lines[mutant.path]);
    if (screened.outcome == ScreenOutcome::kNotCompiled) {
      ++tally.not_compiled;
      not_compiled.push_back(&mutant);
      outcome = "not compiled";
    } else if (screened.outcome == ScreenOutcome::kEquivalent) {
      ++tally.equivalent;
      equivalent.push_back(&mutant);
      outcome = "equivalent";
    } else {
      if (screened.outcome == ScreenOutcome::kUnscreened) {
        ++tally.unscreened;
        if (screen.Unavailable().empty()) ++unscreened_reasons[screened.reason];
      }
      std::string before = *head.Text(mutant.path);
      std::string diff = GitDiff({{mutant.path, before, mutant.mutated_text}});
      Verdict verdict = evaluator.Evaluate(target, diff);
      const std::string& gate = verdict.failed_gate;
      if (gate.empty()) {
        ++tally.survived;
        survivors.push_back(&mutant);
        outcome = "SURVIVED";
      } else if (gate == "scope" || gate == "apply" || gate == "format" || gate == "build") {
        ++tally.not_viable;
        outcome = fmt::format("not viable ({})", gate);
        // Why, so a gate refusing every mutant (a check HEAD itself fails) shows at once.
        reason = verdict.message.substr(0, 200);
      } else {
        ++tally.killed;
        outcome = fmt::format("killed ({})", gate);
      }
    }
    std::printf("  [%zu/%zu] %-22s %s\n", i + 1, mutants.size(), outcome.c_str(),
                mutant.Describe().c_str());
    if (!reason.empty()) std::printf("        %s\n", reason.c_str());
    std::fflush(stdout);
  }
  for (const auto& [reason, count] : unscreened_reasons)
    std::printf("  %d mutant(s) tested without the screen: %s\n", count, reason.c_str());
  std::printf(
      "%s: %d mutants: %d killed, %d survived, %d not viable, %d equivalent (same object code as "
      "HEAD), %d not compiled in this build; kill rate %s\n",
      target.name.c_str(), tally.generated, tally.killed, tally.survived, tally.not_viable,
      tally.equivalent, tally.not_compiled, KillRate(tally).c_str());
  PrintMutants("equivalent mutants (the same object code as HEAD: no test can kill them):",
               equivalent);
  PrintMutants("mutants not compiled in this build (no translation unit keeps their line):",
               not_compiled);
  if (!survivors.empty()) {
    std::printf("surviving mutants (wrong kernels the tests of %s do not catch):\n",
                target.name.c_str());
    for (const Mutant* m : survivors) {
      std::printf("  %s:%d\n    - %s\n    + %s\n", m->path.c_str(), m->site.line,
                  m->original_line.c_str(), m->mutated_line.c_str());
    }
  }
  std::fflush(stdout);
  return tally;
}

}  // namespace

std::vector<MutantTally> JudgeMutants(const Project& project,
                                      const std::vector<const Target*>& targets,
                                      const KillRateOptions& options) {
  std::printf(
      "\nmutants: single-point changes of the editable files, each screened by the build's own "
      "compiler (lines it never compiles, object code equal to HEAD's) and then judged by the "
      "apply, build and test gates (no sanitizers, no benchmarks)\n");
  std::fflush(stdout);
  EvaluateOptions defaults;
  MutantScreen screen(project, options.jobs, defaults.build_timeout_seconds);
  if (screen.Unavailable().empty())
    std::printf("screen: compile commands from %s\n", screen.DatabaseSource().c_str());
  else
    std::printf(
        "screen: NOT RUN, every mutant is tested and equivalent or never-compiled ones may count "
        "as survivors: %s\n",
        screen.Unavailable().c_str());
  std::fflush(stdout);
  std::vector<MutantTally> tallies;
  for (const auto* target : targets)
    tallies.push_back(JudgeMutantsOf(project, *target, options, screen));
  return tallies;
}

}  // namespace rlvr
