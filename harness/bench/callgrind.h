// Instruction counts under valgrind's callgrind: an optional, noise-free metric (repeatable for the
// same binary and inputs). Not offered by the gates yet: see the README's notes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/base/process.h"

namespace rlvr {

// Total instructions (Ir) executed by the benchmarks matching `filter` under
// `valgrind --tool=callgrind`, with a tiny min_time so the count is (nearly) fixed. nullopt, with
// `error` set, when valgrind is missing or the run fails.
std::optional<uint64_t> CallgrindInstructions(const std::vector<std::string>& command,
                                              const std::string& filter, const RunOptions& options,
                                              std::string* error);

// Reads the total Ir ("summary:" or "totals:" line) from a callgrind output file's text.
std::optional<uint64_t> ParseCallgrindTotal(const std::string& text);

}  // namespace rlvr
