// Which lines of a C/C++ file sit behind a preprocessor conditional that depends on the
// instruction set (`#if defined(__AVX512F__)`, `#ifdef __ARM_NEON`, their #elif/#else branches,
// and conditionals on macros the file derives from such macros). Code in a branch the build
// machine does not enable is never compiled or run here, so an edit there passes every gate
// untested; callers use this to tell the model or the reviewer so. Pure text analysis: nothing
// is compiled and no macro's value is known, so every branch of such a conditional counts,
// whichever one this machine takes.
#pragma once

#include <string_view>
#include <vector>

namespace rlvr {

// True for the predefined macros that name an instruction set, an extension or an architecture:
// __AVX__, __AVX2__, __AVX512*__, __AVXVNNI__, __SSE*__, __SSSE3__, __FMA__, __F16C__, __BMI*__,
// __POPCNT__, __AMX*__, __ARM_NEON(__), __ARM_FEATURE_*, __aarch64__, __x86_64__, __i386__,
// __riscv*, _M_X64, ... (see the list in verify/isa_regions.cpp).
bool IsIsaMacro(std::string_view identifier);

// One entry per line of `file_text` (lines end at '\n'; a final line without one counts, a final
// '\n' starts no extra line; so an empty text has no lines): entry i is true when line i + 1
// lies inside a conditional group whose inclusion depends on an instruction-set macro:
//   - a group of `#if`/`#ifdef`/`#ifndef`/`#elif`/`#elifdef`/`#elifndef` ... `#else` ...
//     `#endif` is ISA-dependent when its own condition or an earlier condition of the same
//     chain mentions an ISA macro (so the #else of `#if __AVX2__` is too, but the first group of
//     `#if FOO ... #elif __AVX2__` is not);
//   - nesting: a line inside any ISA-dependent group is flagged, however deep;
//   - derived macros (best effort, in file order): a macro #defined inside an ISA-dependent
//     group, or whose #define body mentions an ISA or derived macro, counts as an ISA macro in
//     later conditions (`#if defined(__AVX512F__)` / `#define HAS_512 1` / `#endif` /
//     `#if HAS_512`). #undef does not clear it.
// The directive lines of a conditional (#if, #elif, #else, #endif and their continuation lines)
// belong to the region around the conditional, not to it: this machine's preprocessor reads them.
// Backslash-newline continuations, /* */ and // comments (also where they span lines inside a
// directive), string, character and raw string literals (a "#if" inside one is no directive)
// are handled. An unterminated conditional extends to the end of the file; a stray #endif or
// #else is ignored.
std::vector<bool> IsaConditionalLines(std::string_view file_text);

// The 1-based line numbers, in `file_text_after`, of the lines that `unified_diff` adds ('+'
// lines) and that lie in an ISA-dependent region of `file_text_after` (IsaConditionalLines).
// `unified_diff` is a diff with correct hunk line numbers (as GitDiff / ApplyResult::diff make);
// when `path` is empty it must hold exactly one file's changes, otherwise only the changes of
// the file `path` (repo-relative, with or without the a/ b/ prefixes) are used and none is no
// error. Throws std::invalid_argument when the diff cannot be read, a hunk has no line numbers,
// or a '+' line differs from the text at its line of `file_text_after` (the diff is not of
// that text).
std::vector<int> IsaConditionalChangedLines(std::string_view file_text_after,
                                            std::string_view unified_diff,
                                            std::string_view path = {});

// The same for deletions: the 1-based line numbers, in `file_text_before`, of the lines that
// `unified_diff` removes ('-' lines) from an ISA-dependent region of `file_text_before`. A
// deletion there is as untested as an addition. Same contract and errors as above, with '-'
// lines checked against `file_text_before`.
std::vector<int> IsaConditionalDeletedLines(std::string_view file_text_before,
                                            std::string_view unified_diff,
                                            std::string_view path = {});

}  // namespace rlvr
