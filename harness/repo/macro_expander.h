// A source file's own #define macros expanded, textually, as `rlvr init` needs to read the Google
// Benchmark registrations a repository writes through macros (zlib-ng's
// BENCHMARK_ADLER32(c, adler32_c, 1) expands to BENCHMARK_REGISTER_F(adler32, c)->Arg(...)), and
// small integer constant expressions evaluated ("4096<<10", "(1024 * 1024 * sizeof(uint32_t))").
//
// Not a preprocessor: no #include is read and every #if branch is kept (a registration inside
// `#ifdef ARM_NEON` is read too; `rlvr check` lists what the built program really registers), so
// it needs no include path and no configured build. Function-like macros (with #, ## and
// __VA_ARGS__) and object-like ones are expanded with the rescanning rule that a macro is not
// expanded inside its own expansion.
#pragma once

#include <optional>
#include <string>

namespace rlvr {

// `text` with comments removed, every preprocessor directive line dropped, and the macros its
// #define lines define expanded wherever they are used.
std::string ExpandOwnMacros(const std::string& text);

// The value of an integer constant expression: decimal, hex and octal literals (with u/l
// suffixes), parentheses, unary + - ~, * / % + - << >> & ^ |, and sizeof of the fixed-width and
// basic arithmetic types. Nothing when `text` is anything else (a name, a call, a division by 0).
std::optional<long long> EvaluateIntegerExpression(const std::string& text);

}  // namespace rlvr
