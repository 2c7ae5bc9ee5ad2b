// A Makefile build of a kernel repository as `rlvr init` reads it, statically: the programs its
// rules make, the variable naming their output directory, whether an `all` rule exists, CFLAGS'
// default.
#pragma once

#include <filesystem>

#include "harness/repo/inspect.h"

namespace rlvr {

// Reads `root`/Makefile (which must exist) and fills `out`'s test_programs and bench_programs (by
// name: "test" or "bench" in a non-phony rule's target, output_path = its name),
// make_build_variable, make_has_all and make_cflags.
void ReadMakefile(const std::filesystem::path& root, RepoInspection& out);

}  // namespace rlvr
