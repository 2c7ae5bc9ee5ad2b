// How strong a target's tests are, for `rlvr check --mutants`: a seeded sample of single-point
// mutants (repo/mutants.h) of the target's editable files at HEAD. Each is first screened by the
// build's own compiler (repo/mutant_screen.h): one on a line no translation unit of this build
// keeps is "not compiled" (an #ifdef of an option that is off), one whose object code is HEAD's in
// every unit that compiles it is "equivalent" (trivial compiler equivalence); neither is tested,
// since no test could kill it. The others are judged as candidates by the evaluator without
// sanitizers and benchmarks: stopped by the scope, apply, format or build gate, "not viable"; by a
// test-running gate, "killed"; passing every gate, "survived": a wrong kernel the repository's
// tests cannot see. Lines the build never compiles get no mutant at all when the screen can tell
// (their number is said). Prints one line per mutant, the kill rate over killed and survived
// mutants per target, each survivor's file:line with its line before and after, and the
// equivalent and not-compiled mutants apart; a mutant the screen could not judge is tested, and
// why it could not is said.
#pragma once

#include <cstdint>
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
  int generated = 0, killed = 0, survived = 0, not_viable = 0;
  int equivalent = 0;            // same object code as HEAD: not tested
  int not_compiled = 0;          // on a line this build never compiles: not tested
  int unscreened = 0;            // the screen could not tell (and said why): tested like the others
  int lines_never_compiled = 0;  // lines of the editable files this build never compiles
};

// Prints what the mutants are, then judges each of `targets` (of `project`) in turn; returns one
// tally per target, in order. Preconditions: `rlvr check` found nothing to FAIL (HEAD builds and
// its tests pass, else every mutant looks killed); the caller holds the repository lock (the
// evaluator's worktrees and builds are under .rlvr/). The user's tree is never touched.
std::vector<MutantTally> JudgeMutants(const Project& project,
                                      const std::vector<const Target*>& targets,
                                      const KillRateOptions& options);

}  // namespace rlvr
