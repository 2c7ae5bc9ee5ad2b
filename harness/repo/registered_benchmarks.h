// The Google Benchmark registrations in a kernel repository's benchmark sources, as `rlvr init`
// reads them: BENCHMARK(BM_X)->Arg(64)->Arg(4096), BENCHMARK_CAPTURE(BM_X, name, ...),
// BENCHMARK_F / BENCHMARK_REGISTER_F(Fixture, Method), BENCHMARK_TEMPLATE(BM_X, T), also when
// written through a macro of the file's own (macro_expander.h), with the last Arg, Range,
// DenseRange or Args of each (constant expressions such as "4096<<10" or a #define'd size
// evaluated).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/repo/inspect.h"

namespace rlvr {

// Reads each of `sources` (repository-relative paths below `root`) and appends to
// `out.benchmarks` each benchmark registered there, once per name, in the order found.
void FindBenchmarks(const std::filesystem::path& root, const std::vector<std::string>& sources,
                    RepoInspection& out);

}  // namespace rlvr
