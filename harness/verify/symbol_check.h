// Anti-tampering checks of a candidate beyond its tests, part of the `build` gate.
//
// Source check (on the lines the candidate ADDS, so existing code never trips it): rejects the
// few constructs a kernel has no business using and that could defeat the gates —
//   * inline assembly            can make system calls or read timers unseen (use intrinsics);
//   * #include of anything but the C++/C standard library, compiler intrinsics headers, or
//     files of the repository itself (no "..", no absolute paths) — system headers such as
//     <unistd.h>, <dlfcn.h>, <sys/...> or benchmark/gtest internals open the door to the rest;
//   * environment reads (getenv, environ), process/thread creation (fork, system, popen,
//     std::thread, pthread_create, std::async), file access (fopen, std::ofstream...), dynamic
//     loading (dlopen, dlsym), raw syscall(), naming the calling program or its caller
//     (program_invocation_name, getauxval, __builtin_return_address: a kernel could tell the
//     default oracle's driver from the real program) — a kernel computes on its arguments;
//   * weak-symbol attributes, which could override library functions at link time.
//
// Symbol check (on the compiled object of each edited file, via `nm --defined-only`): every
// global symbol the object defines must have internal linkage, be in the target's namespace or
// carry its prefix (rlvr.json "symbols", SymbolRules; default namespace rlvr), or be a weak
// instantiation of a standard library template. A candidate defining clock_gettime, malloc,
// operator new, benchmark:: or testing:: symbols (to fake timing or allocation counts) fails.
// Symbols the baseline's object already defines are accepted.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/base/config.h"

namespace rlvr {

// Problems in the '+' lines of a unified diff (one message each, "file:line: reason");
// `repo_root` resolves quoted includes. Empty = clean.
std::vector<std::string> CheckAddedSource(const std::string& diff,
                                          const std::filesystem::path& repo_root);

struct DefinedSymbol {
  std::string mangled;
  std::string demangled;
  char type = '?';  // nm type letter
};

// Defined symbols of an object file (nm). Throws std::runtime_error if nm fails.
std::vector<DefinedSymbol> DefinedSymbols(const std::filesystem::path& object_file);

// Whether a candidate object may define this symbol (see the header comment).
bool IsAllowedSymbol(const DefinedSymbol& symbol, const SymbolRules& rules = {});

// What new global names `rules` allow, e.g. "namespace rlvr" or "namespace xxh or the prefix
// \"xxh_\"".
std::string DescribeSymbolRules(const SymbolRules& rules);

// How to fix a new global symbol defined by `source` (repository path): for C (a .c file or an
// unmangled name) that `static` (internal linkage) is the fix; for C++ the namespace or an
// anonymous namespace; and the rlvr.json "symbols" key when the name is the library's own.
std::string SymbolAdvice(const std::string& source, const std::string& mangled,
                         const SymbolRules& rules);

// Symbols of `candidate_object` that are not allowed and that `baseline_object` (may be empty =
// none) does not define either, formatted "name (nm type X)".
std::vector<std::string> ForbiddenSymbols(const std::filesystem::path& candidate_object,
                                          const std::filesystem::path& baseline_object,
                                          const SymbolRules& rules = {});

}  // namespace rlvr
