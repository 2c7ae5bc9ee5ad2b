// The CMake build of a kernel repository as `rlvr init` reads it, statically (nothing is
// configured): project, add_subdirectory, set, list(APPEND/PREPEND), option, if/elseif/else/endif
// (every branch is read; the options a branch needs on are remembered for the programs it adds),
// foreach (the body once per item), macro and function (the body run where called, with its
// parameters, ARGN and ARGC bound), file(GLOB), add_library, add_executable, target_sources,
// target_link_libraries, set_target_properties and set_property(TARGET) for
// RUNTIME_OUTPUT_DIRECTORY and OUTPUT_NAME (where the program lands), add_test (also through
// $<TARGET_FILE:...>), gtest_discover_tests and gtest_add_tests, with ${VAR} expansion. Anything
// cleverer is missed; the starting config says what to check.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/repo/inspect.h"

namespace rlvr {

// Reads the CMakeLists.txt in `top_dir` (repository-relative, "" for the root; it must exist)
// and the subdirectories it adds, and fills `out`'s test_programs and bench_programs (with their
// sources, links, output paths relative to the build dir and the off-by-default options they need),
// library_sources (the committed non-test sources of its libraries, or their headers when none),
// options, sanitize_option and exports_compile_commands, and a finding per program name it could
// not resolve. A program links Google Benchmark only through a library that is not one of the
// repository's own targets. `files` are the repository's files (repository-relative), which
// file(GLOB) matches against.
void ReadCMakeBuild(const std::filesystem::path& root, const std::vector<std::string>& files,
                    const std::string& top_dir, RepoInspection& out);

}  // namespace rlvr
