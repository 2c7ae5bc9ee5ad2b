// How strong a target's tests are, for `rlvr check --mutants`: a seeded sample of single-point
// mutants (repo/mutants.h) of the target's editable files at HEAD, each judged as a candidate by
// the evaluator without sanitizers and benchmarks. A mutant the scope, apply, format or build gate
// stops is "not viable"; one a test-running gate stops is "killed"; one that passes every gate
// and compiles to the same object code as HEAD (trivial compiler equivalence) is "equivalent": no
// test could tell it apart; any other that passes "survived": a wrong kernel the repository's
// tests cannot see. Lines the build never compiles (found by the preprocessor with the build's own
// compile command: an #ifdef of an option that is off, an instruction set this build lacks when
// rlvr.json has no portable_args) get no mutant, and their number is said. Prints one line per
// mutant, the kill rate over killed and survived mutants per target and each survivor's file:line
// with its line before and after.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "harness/base/config.h"

namespace rlvr {

struct KillRateOptions {
  int max_mutants = 20;      // mutants per target (fewer when there are fewer sites)
  uint64_t seed = 1;         // of the sample and of the test inputs (0 counts as 1 for the inputs)
  int jobs = 2;              // build parallelism of the evaluator
  double test_timeout = 60;  // seconds per test run of a mutant (a mutant that hangs is killed)
};

struct MutantTally {
  int generated = 0, killed = 0, survived = 0, not_viable = 0, equivalent = 0;
  int lines_never_compiled = 0;  // lines of the editable files this build never compiles
};

// Trivial compiler equivalence: objects `a` and `b` are the same once debug information and the
// compiler's version note are dropped (symbols, relocations and code all compared). False when
// either is missing or objcopy fails.
bool SameObjectCode(const std::filesystem::path& a, const std::filesystem::path& b);

// Prints what the mutants are, then judges each of `targets` (of `project`) in turn; returns one
// tally per target, in order. Preconditions: `rlvr check` found nothing to FAIL (HEAD builds and
// its tests pass, else every mutant looks killed); the caller holds the repository lock (the
// evaluator's worktrees and builds are under .rlvr/). The user's tree is never touched.
std::vector<MutantTally> JudgeMutants(const Project& project,
                                      const std::vector<const Target*>& targets,
                                      const KillRateOptions& options);

}  // namespace rlvr
