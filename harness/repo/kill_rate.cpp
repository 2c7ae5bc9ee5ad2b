#include "harness/repo/kill_rate.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "harness/git/head_files.h"
#include "harness/patch/diff.h"
#include "harness/repo/check_report.h"
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

// Judges the mutants of one target; prints a line per mutant, the kill rate and the survivors.
MutantTally JudgeMutantsOf(const Project& project, const Target& target,
                           const KillRateOptions& args) {
  MutantTally tally;
  HeadFiles head(project.root);
  std::vector<MutantSource> sources;
  int excluded = 0;
  for (const auto& file : head.Matching(target.editable)) {
    if (!IsMutableSource(file)) continue;
    std::optional<std::string> text = head.Text(file);
    if (!text) continue;
    MutantSource source{file, *text, {}};
    if (project.build.portable_args.empty()) {
      source.excluded_lines = IsaConditionalLines(*text);
      excluded += static_cast<int>(
          std::count(source.excluded_lines.begin(), source.excluded_lines.end(), true));
    }
    sources.push_back(std::move(source));
  }
  std::vector<Mutant> mutants =
      SampleMutants(sources, static_cast<size_t>(std::max(0, args.max_mutants)), args.seed);
  std::printf("%s: %zu mutant(s) of %s (seed %llu%s)\n", target.name.c_str(), mutants.size(),
              JoinForCheck(head.Matching(target.editable)).c_str(),
              static_cast<unsigned long long>(args.seed),
              excluded > 0 ? fmt::format("; {} line(s) behind instruction-set #if skipped: "
                                         "this build never compiles them",
                                         excluded)
                                 .c_str()
                           : "");
  std::fflush(stdout);
  EvaluateOptions options;
  options.benchmark = false;
  options.sanitizers = false;
  options.jobs = args.jobs;
  options.seed = args.seed == 0 ? 1 : args.seed;  // the same test inputs for every mutant
  options.test_timeout_seconds = args.test_timeout;
  Evaluator evaluator(project, options);
  std::vector<const Mutant*> survivors;
  for (size_t i = 0; i < mutants.size(); ++i) {
    const Mutant& mutant = mutants[i];
    std::string before = *head.Text(mutant.path);
    std::string diff = GitDiff({{mutant.path, before, mutant.mutated_text}});
    Verdict verdict = evaluator.Evaluate(target, diff);
    ++tally.generated;
    std::string outcome;
    const std::string& gate = verdict.failed_gate;
    if (gate.empty()) {
      ++tally.survived;
      survivors.push_back(&mutant);
      outcome = "SURVIVED";
    } else if (gate == "scope" || gate == "apply" || gate == "format" || gate == "build") {
      ++tally.not_viable;
      outcome = fmt::format("not viable ({})", gate);
    } else {
      ++tally.killed;
      outcome = fmt::format("killed ({})", gate);
    }
    std::printf("  [%zu/%zu] %-22s %s\n", i + 1, mutants.size(), outcome.c_str(),
                mutant.Describe().c_str());
    std::fflush(stdout);
  }
  int viable = tally.killed + tally.survived;
  std::printf("%s: %d mutants: %d killed, %d survived, %d not viable; kill rate %s\n",
              target.name.c_str(), tally.generated, tally.killed, tally.survived, tally.not_viable,
              viable == 0
                  ? "n/a (no viable mutant)"
                  : fmt::format("{}% ({} of {} viable)", (100 * tally.killed + viable / 2) / viable,
                                tally.killed, viable)
                        .c_str());
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
      "\nmutants: single-point changes of the editable files, each judged by the apply, "
      "build and test gates (no sanitizers, no benchmarks)\n");
  std::vector<MutantTally> tallies;
  for (const auto* target : targets) tallies.push_back(JudgeMutantsOf(project, *target, options));
  return tallies;
}

}  // namespace rlvr
