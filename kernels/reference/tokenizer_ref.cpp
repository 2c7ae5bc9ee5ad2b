#include "kernels/reference/tokenizer_ref.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "kernels/tokenizer_unicode.h"

namespace rlvr {
namespace {

// One character of the input: a code point and the bytes it came from. Bytes that are not
// well-formed UTF-8 become one character each, with no code point (class "other").
struct Character {
  long cp;               // -1 for a stray byte
  size_t start, length;  // its bytes in the text
};

std::vector<Character> DecodeCharacters(std::string_view text) {
  std::vector<Character> chars;
  size_t i = 0;
  while (i < text.size()) {
    unsigned char b = static_cast<unsigned char>(text[i]);
    size_t length = b < 0x80           ? 1
                    : (b >> 5) == 0x6  ? 2
                    : (b >> 4) == 0xe  ? 3
                    : (b >> 3) == 0x1e ? 4
                                       : 0;
    long cp = -1;
    if (length == 1) {
      cp = b;
    } else if (length > 1 && i + length <= text.size()) {
      long value = b & (0xff >> (length + 1));
      bool ok = true;
      for (size_t k = 1; k < length; ++k) {
        unsigned char c = static_cast<unsigned char>(text[i + k]);
        if ((c & 0xc0) != 0x80) ok = false;
        value = value << 6 | (c & 0x3f);
      }
      static const long kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
      bool overlong = value < kSmallest[length];
      bool surrogate = value >= 0xd800 && value <= 0xdfff;
      if (ok && !overlong && !surrogate && value <= 0x10ffff) cp = value;
    }
    if (cp < 0) length = 1;
    chars.push_back({cp, i, length});
    i += length;
  }
  return chars;
}

bool IsLetter(const Character& c) {
  return c.cp >= 0 && ClassifyCodePoint(static_cast<uint32_t>(c.cp)) == CodePointClass::kLetter;
}
bool IsNumber(const Character& c) {
  return c.cp >= 0 && ClassifyCodePoint(static_cast<uint32_t>(c.cp)) == CodePointClass::kNumber;
}
bool IsSpace(const Character& c) {  // \s
  return c.cp >= 0 && ClassifyCodePoint(static_cast<uint32_t>(c.cp)) == CodePointClass::kWhiteSpace;
}
bool IsCrLf(const Character& c) {
  return c.cp == '\r' || c.cp == '\n';
}

// Case-insensitive match of one character against an ASCII lower-case letter, with Unicode
// simple case folding as Rust's regex applies it (U+017F LONG S folds to 's').
bool MatchesLetter(const Character& c, char lower) {
  if (c.cp == lower || c.cp == lower - 32) return true;
  return lower == 's' && c.cp == 0x17f;
}

// Length in characters of the match of the pattern at chars[i] (always >= 1).
size_t MatchAt(const std::vector<Character>& chars, size_t i) {
  const size_t n = chars.size();
  // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d), in this order.
  if (chars[i].cp == '\'') {
    for (const char* suffix : {"s", "t", "re", "ve", "m", "ll", "d"}) {
      size_t k = 0;
      while (suffix[k] != 0 && i + 1 + k < n && MatchesLetter(chars[i + 1 + k], suffix[k])) ++k;
      if (suffix[k] == 0) return 1 + k;
    }
  }
  // 2. [^\r\n\p{L}\p{N}]?\p{L}+ : first with the optional character, then without.
  for (size_t optional : {1, 0}) {
    if (optional == 1 && (IsCrLf(chars[i]) || IsLetter(chars[i]) || IsNumber(chars[i]))) continue;
    size_t k = i + optional;
    while (k < n && IsLetter(chars[k])) ++k;
    if (k > i + optional) return k - i;
  }
  // 3. \p{N}{1,3}
  {
    size_t k = i;
    while (k < n && k < i + 3 && IsNumber(chars[k])) ++k;
    if (k > i) return k - i;
  }
  // 4. " ?[^\s\p{L}\p{N}]+[\r\n]*" : first with the optional space, then without.
  for (size_t optional : {1, 0}) {
    if (optional == 1 && chars[i].cp != ' ') continue;
    size_t k = i + optional;
    while (k < n && !IsSpace(chars[k]) && !IsLetter(chars[k]) && !IsNumber(chars[k])) ++k;
    if (k == i + optional) continue;
    while (k < n && IsCrLf(chars[k])) ++k;
    return k - i;
  }
  size_t run = 0;  // the longest \s+ here
  while (i + run < n && IsSpace(chars[i + run])) ++run;
  // 5. \s*[\r\n]+ : \s* takes `take` characters, longest first; then [\r\n]+ greedily.
  for (size_t take = run + 1; take-- > 0;) {
    size_t k = i + take;
    while (k < n && IsCrLf(chars[k])) ++k;
    if (k > i + take) return k - i;
  }
  // 6. \s+(?!\S) : \s+ takes `take` >= 1 characters, longest first; then no non-space follows.
  for (size_t take = run; take >= 1; --take) {
    size_t k = i + take;
    if (k == n || IsSpace(chars[k])) return take;
  }
  // 7. \s+
  if (run > 0) return run;
  throw std::logic_error("the cl100k_base pattern matched nothing");  // every class is covered
}

}  // namespace

TokenizerRef::TokenizerRef(const std::vector<TokenEntry>& ranks,
                           const std::vector<TokenEntry>& special_tokens) {
  for (const TokenEntry& e : ranks) {
    ranks_[e.bytes] = e.rank;
    bytes_of_[e.rank] = e.bytes;
  }
  for (const TokenEntry& e : special_tokens) {
    bytes_of_[e.rank] = e.bytes;
    special_names_.push_back(e.bytes);
    special_ids_[e.bytes] = e.rank;
  }
}

std::vector<std::string> TokenizerRef::Split(std::string_view text) const {
  std::vector<Character> chars = DecodeCharacters(text);
  std::vector<std::string> pieces;
  for (size_t i = 0; i < chars.size();) {
    size_t length = MatchAt(chars, i);
    const Character& last = chars[i + length - 1];
    pieces.push_back(
        std::string(text.substr(chars[i].start, last.start + last.length - chars[i].start)));
    i += length;
  }
  return pieces;
}

std::vector<TokenId> TokenizerRef::BytePairEncode(const std::string& piece) const {
  auto whole = ranks_.find(piece);
  if (whole != ranks_.end()) return {whole->second};
  std::vector<std::string> parts;
  for (char c : piece) parts.push_back(std::string(1, c));
  while (parts.size() > 1) {
    size_t best = parts.size();
    TokenId best_rank = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = ranks_.find(parts[i] + parts[i + 1]);
      if (it != ranks_.end() && (best == parts.size() || it->second < best_rank)) {
        best = i;
        best_rank = it->second;
      }
    }
    if (best == parts.size()) break;
    parts[best] += parts[best + 1];
    parts.erase(parts.begin() + static_cast<long>(best) + 1);
  }
  std::vector<TokenId> ids;
  for (const std::string& part : parts) ids.push_back(ranks_.at(part));
  return ids;
}

std::vector<TokenId> TokenizerRef::EncodeOrdinary(std::string_view text) const {
  std::vector<TokenId> ids;
  for (const std::string& piece : Split(text)) {
    for (TokenId id : BytePairEncode(piece)) ids.push_back(id);
  }
  return ids;
}

std::vector<TokenId> TokenizerRef::Encode(std::string_view text, const SpecialTokenSet& allowed_set,
                                          const SpecialTokenSet& disallowed_set) const {
  auto resolve = [&](const SpecialTokenSet& set) {
    std::set<std::string> names;
    if (set.all()) return std::set<std::string>(special_names_.begin(), special_names_.end());
    for (const std::string& name : set.names()) {
      if (std::find(special_names_.begin(), special_names_.end(), name) == special_names_.end()) {
        throw std::invalid_argument("'" + name + "' is not a special token of this tokenizer");
      }
      names.insert(name);
    }
    return names;
  };
  std::set<std::string> allowed = resolve(allowed_set);
  std::set<std::string> disallowed = resolve(disallowed_set);
  if (disallowed_set.all()) {
    for (const std::string& name : allowed) disallowed.erase(name);
  }
  // The special token of `names` starting at `pos`, longest first; empty if none.
  auto special_at = [&](size_t pos, const std::set<std::string>& names) {
    std::string found;
    for (const std::string& name : names) {
      if (text.substr(pos, name.size()) == name && name.size() > found.size()) found = name;
    }
    return found;
  };
  for (size_t pos = 0; pos < text.size(); ++pos) {
    std::string found = special_at(pos, disallowed);
    if (!found.empty()) throw DisallowedSpecialTokenError(found, pos);
  }
  std::vector<TokenId> ids;
  size_t segment_start = 0;
  for (size_t pos = 0; pos <= text.size(); ++pos) {
    std::string found = pos < text.size() ? special_at(pos, allowed) : std::string();
    if (found.empty() && pos < text.size()) continue;
    for (TokenId id : EncodeOrdinary(text.substr(segment_start, pos - segment_start)))
      ids.push_back(id);
    if (found.empty()) break;
    ids.push_back(special_ids_.at(found));
    pos += found.size();
    segment_start = pos;
    --pos;  // the loop's ++pos brings it back to the token's end
  }
  return ids;
}

std::string TokenizerRef::Decode(const std::vector<TokenId>& ids) const {
  std::string text;
  for (TokenId id : ids) {
    auto it = bytes_of_.find(id);
    if (it == bytes_of_.end())
      throw std::out_of_range("token id " + std::to_string(id) + " is not in the vocabulary");
    text += it->second;
  }
  return text;
}

}  // namespace rlvr
