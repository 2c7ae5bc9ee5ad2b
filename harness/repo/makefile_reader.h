// A Makefile build of a kernel repository as `rlvr init` reads it, statically: the programs its
// rules make (and those of the Makefiles in its test and benchmark directories), the variable
// naming their output directory, whether an `all` rule exists, CFLAGS' default.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/repo/inspect.h"

namespace rlvr {

// Reads `root`/Makefile (which must exist), and the Makefiles of test and benchmark directories
// among `files` (repository-relative), and fills `out`'s test_programs and bench_programs (by
// name: "test" or "bench" in a non-phony rule's target or in a recipe's `-o NAME`; output_path =
// its name, make_dir = its Makefile's directory, make_goal = what to ask make for),
// make_build_variable, make_has_all and make_cflags (of the root Makefile).
void ReadMakefile(const std::filesystem::path& root, const std::vector<std::string>& files,
                  RepoInspection& out);

}  // namespace rlvr
