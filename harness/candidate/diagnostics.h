// Build output reduced to what may reach a verdict, a ledger row or a repair prompt: diagnostics
// located in the repository's sources, its build dir or the system's headers. A candidate can make
// the compiler open any file the user can read (an #include of a macro-computed path) and its
// diagnostics would quote that file's lines; so every diagnostic located elsewhere is dropped,
// with its quoted source lines, and replaced by one line saying that it was.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rlvr {

// `output` (a compiler's, ninja's or make's) with the diagnostics outside `allowed_dirs` and the
// system header directories (/usr/include, /usr/lib/gcc, /usr/local/include, /usr/lib/llvm-*)
// omitted. A relative path is allowed when, taken relative to any of `allowed_dirs` (a build runs
// in one of them), it lands inside one of them. Precondition: `allowed_dirs` are absolute.
std::string KeepRepositoryDiagnostics(const std::string& output,
                                      const std::vector<std::filesystem::path>& allowed_dirs);

}  // namespace rlvr
