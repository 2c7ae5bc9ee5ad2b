// Whether a target's configured differential oracle (rlvr.json "oracle", verify/oracle.h) runs
// the target's code, for `rlvr check`: an oracle that never calls the editable files' functions
// (a wrong program, a stale copy of the kernel, a script that prints the seed) agrees with every
// candidate and so catches nothing, yet passes the check that it repeats its output.
//
// The test: a few single-point mutants of the editable files (repo/mutants.h) are built, one at a
// time, in the evaluator's candidate worktree and build dir (so the first `rlvr evaluate` starts
// warm), and the oracle is run on each against HEAD's build with the same seeds. An oracle that
// tells none of them from HEAD does not seem to run the target's code. Mutants on lines behind an
// instruction-set #if are not used (this build may not compile them), nor mutants that do not
// build.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/base/config.h"

namespace rlvr {

struct OracleReach {
  enum class Outcome {
    kNoticed,     // the oracle told a mutant from HEAD
    kNotNoticed,  // it agreed with HEAD on every mutant built
    kUnknown,     // no mutant could be built or run (`message` says why)
  };
  Outcome outcome = Outcome::kUnknown;
  int mutants_compared = 0;        // mutants built and run through the oracle
  std::vector<std::string> tried;  // Mutant::Describe() of each compared mutant
  std::string message;             // one line for the check report
};

// Builds up to `max_mutants` mutants of `target`'s editable files (a seeded sample, the next one
// taken when one does not build) and runs `target.oracle` on each against HEAD's tree and build
// (`head_tree`, `head_build`: the check's baseline build of HEAD), stopping at the first it
// notices. Preconditions: target.oracle.enabled(); the oracle repeats its output on HEAD (checked
// before); the caller holds the repository lock (the candidate worktree and build dir under
// .rlvr/ are the evaluator's). The user's tree is never touched. Never throws for a build or run
// that fails: that is in the outcome.
OracleReach CheckOracleReach(const Project& project, const Target& target,
                             const std::filesystem::path& head_tree,
                             const std::filesystem::path& head_build, int jobs,
                             double timeout_seconds, int max_mutants = 6);

}  // namespace rlvr
