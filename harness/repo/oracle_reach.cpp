#include "harness/repo/oracle_reach.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "harness/candidate/build.h"
#include "harness/git/head_files.h"
#include "harness/git/worktree.h"
#include "harness/repo/check_report.h"
#include "harness/repo/mutants.h"
#include "harness/verify/isa_regions.h"
#include "harness/verify/oracle.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

bool IsMutableSource(const std::string& path) {
  for (const char* ext : {".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".inl"})
    if (path.ends_with(ext)) return true;
  return false;
}

bool WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

OracleReach CheckOracleReach(const Project& project, const Target& target,
                             const fs::path& head_tree, const fs::path& head_build, int jobs,
                             double timeout_seconds, int max_mutants) {
  OracleReach reach;
  HeadFiles head(project.root);
  std::vector<MutantSource> sources;
  std::vector<std::string> files;
  for (const auto& file : head.Matching(target.editable)) {
    if (!IsMutableSource(file)) continue;
    std::optional<std::string> text = head.Text(file);
    if (!text) continue;
    // Lines behind an instruction-set #if may not be compiled in this build: an oracle could not
    // notice a mutant there however well it covers the kernel.
    sources.push_back({file, *text, IsaConditionalLines(*text)});
    files.push_back(file);
  }
  // A sample larger than needed: a mutant that does not build is replaced by the next.
  std::vector<Mutant> mutants =
      SampleMutants(sources, static_cast<size_t>(std::max(1, max_mutants)) * 4, /*seed=*/1);
  if (mutants.empty()) {
    reach.message = fmt::format(
        "could not tell whether the oracle runs the target's code: {} has "
        "no mutation site outside instruction-set #if blocks",
        JoinForCheck(files));
    return reach;
  }
  // Spread over the sample rather than its first files: the sample is in file and text order.
  std::vector<const Mutant*> order;
  for (size_t stride = std::max<size_t>(1, mutants.size() / static_cast<size_t>(max_mutants)),
              start = 0;
       start < stride; ++start)
    for (size_t i = start; i < mutants.size(); i += stride) order.push_back(&mutants[i]);

  const fs::path state_dir = project.root / ".rlvr";
  fs::path tree;
  try {
    EnsureStateDir(state_dir);
    tree = PrepareWorktree(project.root, state_dir, "candidate", HeadCommit(project.root));
  } catch (const std::exception& e) {
    reach.message = fmt::format(
        "could not tell whether the oracle runs the target's code: cannot prepare "
        "a worktree of HEAD ({})",
        e.what());
    return reach;
  }
  const fs::path build_dir = state_dir / "build" / "candidate";
  OracleConfig oracle = target.oracle;
  oracle.seeds = std::min(oracle.seeds, 2);  // a mutant of code the oracle runs shows at once
  int not_built = 0;
  std::string last_build_error;
  for (const Mutant* mutant : order) {
    if (reach.mutants_compared >= max_mutants) break;
    const fs::path path = tree / mutant->path;
    const std::string original = *head.Text(mutant->path);
    std::fprintf(stderr, "rlvr check: oracle of %s against mutant %s\n", target.name.c_str(),
                 mutant->Describe().c_str());
    if (!WriteText(path, mutant->mutated_text)) {
      reach.message = fmt::format(
          "could not tell whether the oracle runs the target's code: "
          "cannot write {}",
          path.string());
      return reach;
    }
    BuildOutcome built = BuildProject(project.build, tree, build_dir, {}, jobs, 1200);
    OracleRun run;
    if (built.ok)
      run =
          RunDifferentialOracle(oracle, head_tree, head_build, tree, build_dir, 1, timeout_seconds);
    WriteText(path, original);  // the next mutant starts from HEAD's text
    if (!built.ok) {
      ++not_built;
      last_build_error = built.message;
      continue;
    }
    ++reach.mutants_compared;
    reach.tried.push_back(mutant->Describe());
    if (!run.ok) {
      reach.outcome = OracleReach::Outcome::kNoticed;
      reach.message =
          fmt::format("runs the target's code: it told mutant {} of at most {} ({}) from HEAD ({})",
                      reach.mutants_compared, max_mutants, mutant->Describe(), run.message);
      break;
    }
  }
  // HEAD's text is back, written after the last build: the next build of this dir (the first
  // evaluation's) recompiles what the mutants touched, by its time stamp.
  if (reach.outcome == OracleReach::Outcome::kNoticed) return reach;
  if (reach.mutants_compared == 0) {
    reach.message = fmt::format(
        "could not tell whether the oracle runs the target's code: none of {} mutant(s) of {} "
        "built (last: {})",
        not_built, JoinForCheck(files), last_build_error);
    return reach;
  }
  reach.outcome = OracleReach::Outcome::kNotNoticed;
  std::set<std::string> mutated_files;
  for (const auto& m : mutants) mutated_files.insert(m.path);
  reach.message = fmt::format(
      "the oracle did not notice any of {} mutant(s) of {}: it does not seem to run the "
      "target's code. Its command must run a program that calls the editable files' functions "
      "(built from the tree being judged, {{build_dir}}) on inputs derived from {{seed}}; "
      "mutants tried: {}",
      reach.mutants_compared,
      JoinForCheck(std::vector<std::string>(mutated_files.begin(), mutated_files.end())),
      JoinForCheck(reach.tried));
  return reach;
}

}  // namespace rlvr
