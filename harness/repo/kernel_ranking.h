// Which library files `rlvr init` proposes as kernel targets, and why. A kernel is where the hot
// loops are and what the repository's tests and benchmarks exercise: files are ranked by their
// loops (more loops, denser loops) and by how many test and benchmark sources call the functions
// they define or a registered benchmark names them. Build plumbing is never a kernel: CPU-feature
// detection, dispatchers, utilities, program helpers, configuration, and wrappers (a file with
// no loop, such as a .c that only includes the header holding the implementation: that header is
// ranked instead).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/repo/inspect.h"

namespace rlvr {

// Whether a file name says it is build plumbing rather than a kernel: cpu_features, cpu detection,
// dispatch, util(s), prog_util, config, getopt, platform, compat, version, main, or a private
// wrapper header "*_p.h".
bool IsPlumbingName(const std::string& path);

// Ranks `candidates` (repository-relative library sources and headers below `root`), best first,
// each with a one-line reason. `consumers` are the test and benchmark sources whose calls count;
// `benchmarks` the registered benchmarks whose names may name a file. Files that are plumbing or
// have no loop are left out. Only the best tier is returned: files a benchmark source calls or a
// registered benchmark names, else files a test source calls, else all.
std::vector<KernelGuess> RankKernels(const std::filesystem::path& root,
                                     const std::vector<std::string>& candidates,
                                     const std::vector<std::string>& consumers,
                                     const std::vector<RegisteredBenchmark>& benchmarks);

}  // namespace rlvr
