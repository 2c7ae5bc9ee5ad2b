// Byte-level BPE tokenizer compatible with OpenAI's tiktoken (cl100k_base): loads a rank file in
// tiktoken's text format, splits text with the cl100k_base pattern (written by hand, no regex
// library), merges byte pairs by rank, and handles special tokens (<|endoftext|> ...) the way
// tiktoken's encode() does. The plain reference is kernels/reference/tokenizer_ref.h.
//
// Input is bytes. Valid UTF-8 gives exactly tiktoken's ids; a byte that does not start a
// well-formed UTF-8 sequence (tiktoken only ever sees valid UTF-8) is taken as one character of
// class "other" (like punctuation), so every byte string still encodes and decodes back to
// itself.
#pragma once

#include <cstdint>
#include <initializer_list>
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
  size_t vocab_size() const { return token_offset_.size(); }
  // The id of special token `name`, or throws std::invalid_argument.
  TokenId SpecialTokenId(std::string_view name) const;

 private:
  static constexpr TokenId kNoRank = 0xffffffffu;
  struct Slot {    // open-addressing hash table entry; rank == kNoRank means empty
    uint32_t tag;  // SlotTag(hash, len): compared before the bytes are
    TokenId rank;
    uint32_t offset;  // of the bytes in arena_ (their length is in the tag, or token_len_)
  };
  struct Special {
    std::string text;
    TokenId id;
  };

  // The rank of bytes[0, len) (len >= 1), or kNoRank.
  TokenId Rank(const uint8_t* bytes, size_t len) const {
    return len == 2 ? pair_rank_[bytes[0] << 8 | bytes[1]] : HashRank(bytes, len);
  }
  TokenId HashRank(const uint8_t* bytes, size_t len) const;  // through the hash tables
  TokenId FindInTable(const std::vector<Slot>& table, uint64_t hash, const uint8_t* bytes,
                      size_t len) const;
  uint64_t Resolve(const SpecialTokenSet& set) const;
  // Leftmost occurrence at or after `from` of a special token in `mask`; returns text.size() if
  // none, and its index in specials_ through *which.
  size_t FindSpecial(std::string_view text, size_t from, uint64_t mask, int* which) const;
  void EncodeSegment(const uint8_t* text, size_t size, std::vector<TokenId>* out) const;
  void EncodePiece(const uint8_t* piece, size_t len, std::vector<TokenId>* out) const;
  void MergeLongPiece(const uint8_t* piece, size_t len, std::vector<TokenId>* out) const;

  std::string arena_;  // every token's bytes, back to back
  // Two open-addressing tables, power-of-two sized and at most half full: the lowest ranks
  // (BPE's most frequent tokens) in a small one that stays in cache, the rest in a big one.
  std::vector<Slot> hot_slots_;
  std::vector<Slot> slots_;
  // One bit per hash value (low bits) of every token: a clear bit means "not a token" without
  // touching the big table, which is what most lookups during merging are.
  std::vector<uint64_t> present_bits_;
  std::vector<uint32_t> token_offset_;  // by id: offset into arena_, kNoRank for unused ids
  std::vector<uint32_t> token_len_;
  TokenId byte_rank_[256];
  std::vector<TokenId> pair_rank_;          // rank of every 2-byte string, by (first << 8 | second)
  uint64_t first_byte_specials_[256] = {};  // by byte: the specials that start with it
  std::vector<Special> specials_;
};

}  // namespace rlvr
