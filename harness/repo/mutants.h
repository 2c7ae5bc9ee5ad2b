// Single-point mutants of C/C++ source text, for `rlvr check --mutants`: how strong are a
// repository's own tests? Each mutant changes one place of one line (an operator flipped, a loop
// bound moved by one, an integer constant moved by one, a `%` or a compound assignment dropped,
// min and max swapped); a mutant the tests do not kill shows where a wrong kernel passes them.
//
// Pure text: a small lexer finds the sites, skipping comments, string and character literals
// (raw strings too) and preprocessor lines other than #define bodies. Nothing is compiled, so
// some mutants do not build; the caller counts those as "not viable", never as killed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rlvr {

// One place in a text where a mutation applies. `begin`/`end` delimit the bytes replaced by
// `replacement` (a single token for a replacement; for a drop, the span removed, with an empty
// or shorter replacement).
struct MutationSite {
  size_t begin = 0;
  size_t end = 0;
  std::string replacement;
  std::string original;  // the text replaced (leading spaces trimmed), for messages
  std::string kind;      // "arithmetic", "comparison", "logical", "bound", "constant", "compound",
                         // "drop-modulo", "drop-compound", "min-max"
  int line = 0;          // 1-based line of `begin`
};

// Every mutation site of `text`, in text order (a byte offset may carry several, e.g. a constant
// +1 and -1). Deterministic.
std::vector<MutationSite> FindMutationSites(std::string_view text);

// `text` with one site applied.
std::string ApplyMutation(std::string_view text, const MutationSite& site);

struct Mutant {
  std::string path;  // repository-relative file
  MutationSite site;
  std::string original_line;  // the line as it was (no newline)
  std::string mutated_line;   // the same line mutated
  std::string mutated_text;   // the whole file mutated
  // "kernel/dot.cpp:8: comparison '<' -> '<='"
  std::string Describe() const;
};

struct MutantSource {
  std::string path;
  std::string text;
  // Lines (1-based index - 1) where no mutant may be placed, e.g. code behind an instruction-set
  // #if the build never compiles. Shorter than the text's line count: the rest are allowed.
  std::vector<bool> excluded_lines;
};

// Whether a line is an assertion or an optimizer assumption: its first token is a name holding
// ASSERT or ASSUME (any case: assert, static_assert, XXH_ASSERT, __builtin_assume) followed by
// '('. Such a line states a precondition; a mutant of it changes no result for valid inputs (a
// disabled assert is caught by the screen as equivalent, an assumption such as xxHash's
// XXH_ASSERT(4 <= len && len <= 8) -> XXH_ASSUME is not), so SampleMutants places none there.
bool IsAssertionLine(std::string_view line);

// A sample of at most `max_count` mutants over all sites of `sources` (never on an assertion
// line), chosen by a seeded
// Fisher-Yates shuffle (std::mt19937_64, so the same seed gives the same sample on every
// platform), returned in file and text order. No two mutants share a line when the sites allow
// it (a sample spread over the code says more than five mutants of one line).
std::vector<Mutant> SampleMutants(const std::vector<MutantSource>& sources, size_t max_count,
                                  uint64_t seed);

// The significant tokens of `text` (comments and whitespace dropped; string and character
// literals kept as single tokens), for tests that check a mutant changes one token.
std::vector<std::string> SourceTokens(std::string_view text);

}  // namespace rlvr
