// Byte-level BPE tokenizer compatible with OpenAI's tiktoken (cl100k_base): loads a rank file in
// tiktoken's text format, splits text with the cl100k_base pattern (written by hand, no regex
// library), merges byte pairs by rank, and handles special tokens (<|endoftext|> ...) the way
// tiktoken's encode() does. The plain reference is kernels/reference/tokenizer_ref.h.
//
// Input is bytes. Valid UTF-8 gives exactly tiktoken's ids; a byte that does not start a
// well-formed UTF-8 sequence (tiktoken only ever sees valid UTF-8) is taken as one character of
// class "other" (like punctuation), so every byte string still encodes and decodes back to
// itself.
//
// A Tokenizer is immutable once built: its calls are safe from several threads at once, and
// copies share its tables.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rlvr {

using TokenId = uint32_t;

// One vocabulary entry: the token's bytes and its rank (= its id).
struct TokenEntry {
  std::string bytes;
  TokenId rank;
};

// A malformed rank file; what() names the source and line: "cl100k_base.tiktoken:17: ...".
class TokenizerFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses rank-file contents: lines "base64(token bytes) rank" (standard alphabet, '=' padding,
// rank a decimal integer below 2^24), empty lines ignored, '\n' or "\r\n" line ends. Errors
// (bad base64, missing or non-numeric rank, duplicate bytes or rank) throw TokenizerFileError
// naming `source_name` and the line.
std::vector<TokenEntry> ParseTiktokenRanks(std::string_view contents, std::string_view source_name);

// Reads and parses a rank file (cl100k_base.tiktoken); a missing file is a TokenizerFileError.
std::vector<TokenEntry> LoadTiktokenRanks(const std::string& path);

// cl100k_base's special tokens: <|endoftext|> 100257, <|fim_prefix|> 100258, <|fim_middle|>
// 100259, <|fim_suffix|> 100260, <|endofprompt|> 100276.
std::vector<TokenEntry> Cl100kSpecialTokens();

// A set of special tokens by name, or all of them: the allowed_special / disallowed_special
// arguments of tiktoken's encode().
class SpecialTokenSet {
 public:
  static SpecialTokenSet All() { return SpecialTokenSet(true); }
  static SpecialTokenSet None() { return SpecialTokenSet(false); }
  SpecialTokenSet(std::initializer_list<std::string_view> names)
      : names_(names.begin(), names.end()) {}
  explicit SpecialTokenSet(std::vector<std::string> names) : names_(std::move(names)) {}

  bool all() const { return all_; }
  const std::vector<std::string>& names() const { return names_; }

 private:
  explicit SpecialTokenSet(bool all) : all_(all) {}
  bool all_ = false;
  std::vector<std::string> names_;
};

// The text holds a special token that the call disallows (tiktoken's ValueError).
class DisallowedSpecialTokenError : public std::runtime_error {
 public:
  DisallowedSpecialTokenError(std::string token, size_t offset);
  const std::string& token() const { return token_; }
  size_t offset() const { return offset_; }  // byte offset of its first occurrence

 private:
  std::string token_;
  size_t offset_;
};

class Tokenizer {
 public:
  // `ranks` must hold every single byte (0..255) so any input can be encoded; special tokens'
  // ids must differ from every rank, and there may be at most 64 of them. Violations throw
  // std::invalid_argument.
  Tokenizer(const std::vector<TokenEntry>& ranks, const std::vector<TokenEntry>& special_tokens);

  // LoadTiktokenRanks(path) with Cl100kSpecialTokens().
  static Tokenizer LoadCl100k(const std::string& path);

  // tiktoken's encode(text, allowed_special, disallowed_special): occurrences of allowed special
  // tokens become their ids (leftmost first); if the text contains any disallowed special token
  // (All() = every special token not allowed) DisallowedSpecialTokenError is thrown and `out` is
  // unchanged; special tokens neither allowed nor disallowed are encoded as ordinary text.
  // Appends to *out; allocates nothing but out's growth (pieces longer than 256 bytes use a
  // per-thread workspace that is kept between calls). A name that is not one of this
  // tokenizer's special tokens throws std::invalid_argument.
  void Encode(std::string_view text, std::vector<TokenId>* out,
              const SpecialTokenSet& allowed = SpecialTokenSet::None(),
              const SpecialTokenSet& disallowed = SpecialTokenSet::All()) const;
  std::vector<TokenId> Encode(std::string_view text,
                              const SpecialTokenSet& allowed = SpecialTokenSet::None(),
                              const SpecialTokenSet& disallowed = SpecialTokenSet::All()) const;

  // tiktoken's encode_ordinary: special tokens are plain text.
  void EncodeOrdinary(std::string_view text, std::vector<TokenId>* out) const;
  std::vector<TokenId> EncodeOrdinary(std::string_view text) const;

  // The concatenated bytes of the tokens (special tokens give their text). An id that is
  // neither a rank nor a special token throws std::out_of_range naming it.
  std::string Decode(std::span<const TokenId> ids) const;
  void DecodeTo(std::span<const TokenId> ids, std::string* out) const;

  // The pieces the cl100k_base pattern splits `text` into (no special-token handling); for
  // tests and diagnostics.
  std::vector<std::string_view> Split(std::string_view text) const;

  // One past the largest id (ranks and special tokens).
  size_t vocab_size() const;
  // The id of special token `name`, or throws std::invalid_argument.
  TokenId SpecialTokenId(std::string_view name) const;

 private:
  // Everything else (tables, special tokens, the merge) lives in tokenizer.cpp, so the data
  // structures can change without touching this header.
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace rlvr
