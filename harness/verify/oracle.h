// The differential oracle (rlvr.json target "oracle", OracleConfig): a program of the repository
// prints a kernel's outputs for seeded random inputs; run with the same seeds on HEAD's build and
// on the candidate's, its outputs must agree — exactly, or number by number within a relative
// tolerance. A bug the repository's own tests miss (wrong only past some input size) shows as a
// difference. Part of the `tests` gate.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "harness/base/config.h"

namespace rlvr {

// Where the two outputs first disagree, e.g. "line 3, value 2: HEAD printed 1234, the candidate
// 1235"; empty when they agree. Outputs are compared as whitespace-separated tokens; with
// `tolerance` > 0, two tokens that both parse fully as numbers agree when
// |a - b| <= tolerance * max(|a|, |b|) (NaN agrees with NaN, infinities with themselves); other
// tokens must be equal.
std::string CompareOracleOutputs(const std::string& head, const std::string& candidate,
                                 double tolerance);

struct OracleRun {
  bool ok = false;
  int seeds_compared = 0;
  std::string message;  // one line: what was compared, or the first disagreement / failure
  std::string detail;   // the failing run's output excerpt, if any
};

// Runs `oracle.command` with seeds first_seed, first_seed + 1, ... (oracle.seeds of them) in
// HEAD's tree/build and in the candidate's, under the candidate limits, and compares each pair.
// A run that fails (exit status, crash, timeout) on either side fails the comparison.
OracleRun RunDifferentialOracle(const OracleConfig& oracle, const std::filesystem::path& head_tree,
                                const std::filesystem::path& head_build,
                                const std::filesystem::path& candidate_tree,
                                const std::filesystem::path& candidate_build, uint64_t first_seed,
                                double timeout_seconds);

}  // namespace rlvr
