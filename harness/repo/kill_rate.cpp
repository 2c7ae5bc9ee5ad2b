#include "harness/repo/kill_rate.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/candidate/compile_commands.h"
#include "harness/git/head_files.h"
#include "harness/patch/diff.h"
#include "harness/repo/check_report.h"
#include "harness/repo/mutants.h"
#include "harness/verify/evaluate.h"
#include "harness/verify/isa_levels.h"
#include "harness/verify/isa_regions.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

// The object `build_dir`'s compile database compiles from the repository file `relative` (in
// whichever worktree it was built from); empty when there is none (a header, a command build).
fs::path ObjectOf(const fs::path& build_dir, const std::string& relative) {
  try {
    for (const auto& entry : ReadCompileCommands(build_dir)) {
      std::string file = entry.value("file", "");
      if (file == relative || file.ends_with("/" + relative)) return CommandOutput(entry);
    }
  } catch (const std::exception&) {
  }
  return {};
}

// Lines of `text` (the repository file `relative` at HEAD) the baseline build never compiles,
// asked of the preprocessor with the build's own command; when `isa_tested` (rlvr.json has
// portable_args, so the portable gate builds other instruction sets), instruction-set-conditional
// lines stay allowed. Empty when the build has no compile database to ask.
std::vector<bool> NeverCompiledLines(const Project& project, const std::string& relative,
                                     const std::string& text, bool isa_tested) {
  const fs::path state = project.root / ".rlvr";
  const fs::path build_dir = state / "build" / "baseline";
  const fs::path file = state / "worktrees" / "baseline" / relative;
  std::optional<ProbeCommand> command = ProbeCommandFor(build_dir, file);
  if (!command || !fs::exists(file)) return {};
  std::vector<bool> code = LinesWithCode(text);
  std::vector<int> lines;
  for (size_t i = 0; i < code.size(); ++i)
    if (code[i]) lines.push_back(static_cast<int>(i) + 1);
  std::set<int> kept;
  try {
    kept = LinesKeptByPreprocessor(text, file, lines, command->words, command->source,
                                   command->directory);
  } catch (const std::exception&) {
    return {};
  }
  std::vector<bool> isa = isa_tested ? IsaConditionalLines(text) : std::vector<bool>{};
  std::vector<bool> never(code.size(), false);
  for (int line : lines) {
    bool isa_line = static_cast<size_t>(line) <= isa.size() && isa[line - 1];
    never[line - 1] = !kept.count(line) && !isa_line;
  }
  return never;
}

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
    const bool isa_tested =
        !project.build.portable_args.empty() || !project.build.isa_command.empty();
    source.excluded_lines = NeverCompiledLines(project, file, *text, isa_tested);
    if (source.excluded_lines.empty() && !isa_tested)
      source.excluded_lines = IsaConditionalLines(*text);
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
  std::vector<const Mutant*> survivors;
  for (size_t i = 0; i < mutants.size(); ++i) {
    const Mutant& mutant = mutants[i];
    std::string before = *head.Text(mutant.path);
    std::string diff = GitDiff({{mutant.path, before, mutant.mutated_text}});
    Verdict verdict = evaluator.Evaluate(target, diff);
    ++tally.generated;
    std::string outcome;
    const std::string& gate = verdict.failed_gate;
    if (gate.empty() &&
        SameObjectCode(ObjectOf(project.root / ".rlvr" / "build" / "candidate", mutant.path),
                       ObjectOf(project.root / ".rlvr" / "build" / "baseline", mutant.path))) {
      ++tally.equivalent;
      outcome = "equivalent";
    } else if (gate.empty()) {
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
  std::printf(
      "%s: %d mutants: %d killed, %d survived, %d not viable, %d equivalent (same object "
      "code as HEAD); kill rate %s\n",
      target.name.c_str(), tally.generated, tally.killed, tally.survived, tally.not_viable,
      tally.equivalent,
      viable == 0 ? "n/a (no viable mutant)"
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

bool SameObjectCode(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (a.empty() || b.empty() || !fs::exists(a, ec) || !fs::exists(b, ec)) return false;
  std::vector<std::string> stripped;
  for (const fs::path& object : {a, b}) {
    fs::path out = object.string() + ".rlvr-tce";
    RunOptions options;
    options.limits.wall_seconds = 60;
    ProcessResult result = RunProcess(
        {"objcopy", "--strip-debug", "--remove-section=.comment", object.string(), out.string()},
        options);
    if (!result.ok()) return false;
    stripped.push_back(ReadFileText(out));
    fs::remove(out, ec);
  }
  return stripped[0] == stripped[1];
}

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
