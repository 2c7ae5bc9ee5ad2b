#include "kernels/tokenizer.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kernels/tokenizer_unicode.h"

namespace rlvr {
namespace {

// ---- Rank file ------------------------------------------------------------------------------

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict standard base64 with '=' padding to a multiple of 4 characters. False if malformed.
bool DecodeBase64(std::string_view text, std::string* out) {
  out->clear();
  if (text.empty() || text.size() % 4 != 0) return false;
  size_t padding = 0;
  if (text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      int value;
      if (c == '=' && last && j >= 4 - padding) {
        value = 0;
      } else {
        value = Base64Value(c);
        if (value < 0) return false;
      }
      group = group << 6 | static_cast<uint32_t>(value);
    }
    out->push_back(static_cast<char>(group >> 16));
    if (!last || padding < 2) out->push_back(static_cast<char>(group >> 8 & 0xff));
    if (!last || padding < 1) out->push_back(static_cast<char>(group & 0xff));
  }
  return true;
}

std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(c);
    } else {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", static_cast<unsigned char>(c));
      out += buffer;
    }
  }
  if (text.size() > 40) out += "...";
  return out;
}

[[noreturn]] void FileError(std::string_view source, size_t line, const std::string& message) {
  std::ostringstream text;
  text << source << ":" << line << ": " << message;
  throw TokenizerFileError(text.str());
}

constexpr uint32_t kMaxRank = (1u << 24) - 1;
constexpr size_t kPresentBits = size_t{1} << 20;  // 128 KB; ~10% false positives for cl100k

// ---- Hashing --------------------------------------------------------------------------------

inline uint64_t Mix(uint64_t h) {
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ULL;
  h ^= h >> 32;
  return h;
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Hash of n >= 1 bytes with fixed-size (overlapping) loads only: tokens are short, and a
// variable-length memcpy for the tail costs more than the hashing itself.
inline uint64_t HashBytes(const uint8_t* p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL * (n + 1);
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 < n; i += 8) h = Mix(h ^ Load64(p + i)) + 0x9e3779b97f4a7c15ULL;
    h ^= Load64(p + n - 8);
  } else if (n >= 4) {
    h ^= static_cast<uint64_t>(Load32(p)) << 32 | Load32(p + n - 4);
  } else {
    h ^= static_cast<uint64_t>(p[0]) << 16 | static_cast<uint64_t>(p[n >> 1]) << 8 | p[n - 1];
  }
  return Mix(h);
}

// The hash's high bits and the length (capped at 255), so most mismatches need no byte compare.
inline uint32_t SlotTag(uint64_t hash, size_t len) {
  return static_cast<uint32_t>(hash >> 40) << 8 | static_cast<uint32_t>(len < 255 ? len : 255);
}

// a[0, n) == b[0, n) for n >= 1, with the same overlapping loads.
inline bool BytesEqual(const uint8_t* a, const uint8_t* b, size_t n) {
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (Load64(a + i) != Load64(b + i)) return false;
    }
    return Load64(a + n - 8) == Load64(b + n - 8);
  }
  if (n >= 4) return Load32(a) == Load32(b) && Load32(a + n - 4) == Load32(b + n - 4);
  return a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1];
}

// ---- Characters -----------------------------------------------------------------------------

constexpr uint32_t kInvalidCodePoint = 0x110000;  // a byte that is not well-formed UTF-8

// Two-level class table over all code points: block_[cp >> 8] picks a 256-entry row.
class ClassTable {
 public:
  ClassTable() {
    std::vector<uint8_t> all(0x110000, static_cast<uint8_t>(CodePointClass::kOther));
    for (const CodePointRange& range : CodePointClassRanges()) {
      for (uint32_t cp = range.first; cp <= range.last; ++cp)
        all[cp] = static_cast<uint8_t>(range.cls);
    }
    for (uint32_t block = 0; block < 0x1100; ++block) {
      const uint8_t* row = all.data() + block * 256;
      size_t found = rows_.size() / 256;
      for (size_t r = 0; r < rows_.size() / 256; ++r) {
        if (std::memcmp(rows_.data() + r * 256, row, 256) == 0) {
          found = r;
          break;
        }
      }
      if (found == rows_.size() / 256) rows_.insert(rows_.end(), row, row + 256);
      block_[block] = static_cast<uint16_t>(found);
    }
  }
  CodePointClass operator()(uint32_t cp) const {
    if (cp >= 0x110000) return CodePointClass::kOther;
    return static_cast<CodePointClass>(
        rows_[static_cast<size_t>(block_[cp >> 8]) * 256 + (cp & 0xff)]);
  }

 private:
  uint16_t block_[0x1100];
  std::vector<uint8_t> rows_;
};

const ClassTable& Classes() {
  static const ClassTable table;
  return table;
}

// ASCII classes, the common case.
struct AsciiClasses {
  CodePointClass cls[128];
  constexpr AsciiClasses() : cls() {
    for (int c = 0; c < 128; ++c) {
      if (c == ' ' || (c >= 9 && c <= 13))
        cls[c] = CodePointClass::kWhiteSpace;
      else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        cls[c] = CodePointClass::kLetter;
      else if (c >= '0' && c <= '9')
        cls[c] = CodePointClass::kNumber;
      else
        cls[c] = CodePointClass::kOther;
    }
  }
};
constexpr AsciiClasses kAscii;

struct Char {
  uint32_t cp;  // kInvalidCodePoint for a stray byte
  uint32_t len;
  CodePointClass cls;
};

// The character at s[0] (avail >= 1 bytes readable): a well-formed UTF-8 sequence (Unicode
// Table 3-7), or one byte of class kOther.
[[gnu::always_inline]] inline Char ReadChar(const uint8_t* s, size_t avail,
                                            const ClassTable& classes) {
  uint32_t b0 = s[0];
  if (b0 < 0x80) return {b0, 1, kAscii.cls[b0]};
  auto cont = [&](size_t i, uint32_t lo = 0x80, uint32_t hi = 0xbf) {
    return i < avail && s[i] >= lo && s[i] <= hi;
  };
  uint32_t cp;
  uint32_t len;
  if (b0 >= 0xc2 && b0 <= 0xdf && cont(1)) {
    cp = (b0 & 0x1f) << 6 | (s[1] & 0x3f);
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef &&
             cont(1, b0 == 0xe0 ? 0xa0 : 0x80, b0 == 0xed ? 0x9f : 0xbf) && cont(2)) {
    cp = (b0 & 0x0f) << 12 | (s[1] & 0x3f) << 6 | (s[2] & 0x3f);
    len = 3;
  } else if (b0 >= 0xf0 && b0 <= 0xf4 &&
             cont(1, b0 == 0xf0 ? 0x90 : 0x80, b0 == 0xf4 ? 0x8f : 0xbf) && cont(2) && cont(3)) {
    cp = (b0 & 0x07) << 18 | (s[1] & 0x3f) << 12 | (s[2] & 0x3f) << 6 | (s[3] & 0x3f);
    len = 4;
  } else {
    return {kInvalidCodePoint, 1, CodePointClass::kOther};
  }
  return {cp, len, classes(cp)};
}

inline bool IsCrLf(uint32_t cp) {
  return cp == '\r' || cp == '\n';
}

// Lower-case ASCII letter that `cp` matches case-insensitively as Rust's regex does (simple case
// folding): 'S', 's' and U+017F LATIN SMALL LETTER LONG S all match 's'.
inline uint32_t FoldContractionLetter(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp == 0x17f) return 's';
  return cp;
}

// End of the piece starting at text[pos] (pos < size), by the cl100k_base pattern
//   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3} |
//    ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
// with leftmost-first alternation and backtracking as in tiktoken's regex.
size_t PieceEnd(const uint8_t* text, size_t pos, size_t size, const ClassTable& classes) {
  auto at = [&](size_t p) { return ReadChar(text + p, size - p, classes); };
  auto letters_end = [&](size_t p) {
    while (p < size) {
      if (text[p] < 0x80) {
        if (kAscii.cls[text[p]] != CodePointClass::kLetter) break;
        ++p;
        continue;
      }
      Char c = at(p);
      if (c.cls != CodePointClass::kLetter) break;
      p += c.len;
    }
    return p;
  };
  Char c = at(pos);
  size_t next = pos + c.len;

  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (c.cp == '\'' && next < size) {
    Char d = at(next);
    uint32_t letter = FoldContractionLetter(d.cp);
    size_t after = next + d.len;
    if (letter == 's' || letter == 't' || letter == 'm' || letter == 'd') return after;
    if (after < size && (letter == 'r' || letter == 'v' || letter == 'l')) {
      uint32_t second = FoldContractionLetter(text[after]);
      if ((letter == 'l' && second == 'l') || (letter != 'l' && second == 'e')) return after + 1;
    }
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c.cls == CodePointClass::kLetter) return letters_end(next);
  if (c.cls != CodePointClass::kNumber && !IsCrLf(c.cp) && next < size &&
      at(next).cls == CodePointClass::kLetter) {
    return letters_end(next);
  }
  // \p{N}{1,3}
  if (c.cls == CodePointClass::kNumber) {
    size_t end = next;
    for (int count = 1; count < 3 && end < size; ++count) {
      Char d = at(end);
      if (d.cls != CodePointClass::kNumber) break;
      end += d.len;
    }
    return end;
  }
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  size_t start = pos;
  if (c.cp == ' ' && next < size && at(next).cls == CodePointClass::kOther) start = next;
  if (start != pos || c.cls == CodePointClass::kOther) {
    size_t end = start;
    while (end < size) {
      Char d = at(end);
      if (d.cls != CodePointClass::kOther) break;
      end += d.len;
    }
    while (end < size && (text[end] == '\r' || text[end] == '\n')) ++end;
    return end;
  }
  // Here c is white space. The run of white space [pos, run_end), its last character starting
  // at last_start, and the end of its last \r or \n (0 if none).
  size_t run_end = pos;
  size_t last_start = pos;
  size_t crlf_end = 0;
  while (run_end < size) {
    Char d = at(run_end);
    if (d.cls != CodePointClass::kWhiteSpace) break;
    last_start = run_end;
    run_end += d.len;
    if (IsCrLf(d.cp)) crlf_end = run_end;
  }
  // \s*[\r\n]+ : the greedy \s* gives back characters until one of \r\n follows it.
  if (crlf_end != 0) return crlf_end;
  // \s+(?!\S) : the whole run at the end of the text, else all but its last character.
  if (run_end == size) return run_end;
  if (last_start > pos) return last_start;
  // \s+
  return run_end;
}

}  // namespace

// ---- Rank file ------------------------------------------------------------------------------

std::vector<TokenEntry> ParseTiktokenRanks(std::string_view contents,
                                           std::string_view source_name) {
  std::vector<TokenEntry> entries;
  std::vector<size_t> entry_line;
  size_t line_number = 0;
  size_t pos = 0;
  std::string bytes;
  while (pos < contents.size()) {
    size_t end = contents.find('\n', pos);
    if (end == std::string_view::npos) end = contents.size();
    std::string_view line = contents.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    size_t space = line.find(' ');
    if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos) {
      FileError(source_name, line_number,
                "expected 'base64 rank' (two fields separated by one space), got '" +
                    Printable(line) + "'");
    }
    std::string_view token = line.substr(0, space);
    std::string_view rank_text = line.substr(space + 1);
    if (!DecodeBase64(token, &bytes)) {
      FileError(source_name, line_number, "invalid base64 token '" + Printable(token) + "'");
    }
    if (bytes.empty()) FileError(source_name, line_number, "empty token");
    if (rank_text.empty() || rank_text.size() > 8 ||
        !std::all_of(rank_text.begin(), rank_text.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; })) {
      FileError(source_name, line_number,
                "rank '" + Printable(rank_text) + "' is not a decimal integer");
    }
    uint32_t rank = static_cast<uint32_t>(std::stoul(std::string(rank_text)));
    if (rank > kMaxRank) {
      FileError(source_name, line_number,
                "rank " + std::to_string(rank) + " is above the limit " + std::to_string(kMaxRank));
    }
    entries.push_back({bytes, rank});
    entry_line.push_back(line_number);
  }
  // Duplicates, reported at the later line.
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto report = [&](size_t first, size_t second, const std::string& what) {
    if (entry_line[first] > entry_line[second]) std::swap(first, second);
    FileError(source_name, entry_line[second],
              what + " (also on line " + std::to_string(entry_line[first]) + ")");
  };
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return entries[a].rank < entries[b].rank; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (entries[order[i]].rank == entries[order[i - 1]].rank) {
      report(order[i - 1], order[i], "duplicate rank " + std::to_string(entries[order[i]].rank));
    }
  }
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return entries[a].bytes < entries[b].bytes; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (entries[order[i]].bytes == entries[order[i - 1]].bytes) {
      report(order[i - 1], order[i],
             "duplicate token '" + Printable(entries[order[i]].bytes) + "'");
    }
  }
  return entries;
}

std::vector<TokenEntry> LoadTiktokenRanks(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw TokenizerFileError(path + ": cannot open the rank file");
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) throw TokenizerFileError(path + ": read error");
  return ParseTiktokenRanks(contents.str(), path);
}

std::vector<TokenEntry> Cl100kSpecialTokens() {
  return {{"<|endoftext|>", 100257},
          {"<|fim_prefix|>", 100258},
          {"<|fim_middle|>", 100259},
          {"<|fim_suffix|>", 100260},
          {"<|endofprompt|>", 100276}};
}

DisallowedSpecialTokenError::DisallowedSpecialTokenError(std::string token, size_t offset)
    : std::runtime_error("the text contains special token '" + token + "' (at byte " +
                         std::to_string(offset) + "), which this call does not allow"),
      token_(std::move(token)),
      offset_(offset) {}

// ---- Tokenizer ------------------------------------------------------------------------------

struct Tokenizer::Impl {
  Impl(const std::vector<TokenEntry>& ranks, const std::vector<TokenEntry>& special_tokens);

  void Encode(std::string_view text, std::vector<TokenId>* out, const SpecialTokenSet& allowed,
              const SpecialTokenSet& disallowed) const;
  std::vector<std::string_view> Split(std::string_view text) const;
  void DecodeTo(std::span<const TokenId> ids, std::string* out) const;
  TokenId SpecialTokenId(std::string_view name) const;

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
  // A bit per token, picked by its hash (kPresentBits of them): a clear bit means "not a token"
  // without touching the big table, and most lookups while merging are of non-tokens.
  std::vector<uint64_t> present_bits_;
  std::vector<uint32_t> token_offset_;  // by id: offset into arena_, kNoRank for unused ids
  std::vector<uint32_t> token_len_;
  TokenId byte_rank_[256];
  std::vector<TokenId> pair_rank_;          // rank of every 2-byte string, by (first << 8 | second)
  uint64_t first_byte_specials_[256] = {};  // by byte: the specials that start with it
  std::vector<Special> specials_;
};

Tokenizer::Impl::Impl(const std::vector<TokenEntry>& ranks,
                      const std::vector<TokenEntry>& special_tokens) {
  if (special_tokens.size() > 64) throw std::invalid_argument("more than 64 special tokens");
  TokenId max_id = 0;
  size_t total_bytes = 0;
  for (const TokenEntry& e : ranks) {
    if (e.bytes.empty()) throw std::invalid_argument("a rank entry has no bytes");
    if (e.rank > kMaxRank)
      throw std::invalid_argument("rank " + std::to_string(e.rank) + " too large");
    max_id = std::max(max_id, e.rank);
    total_bytes += e.bytes.size();
  }
  for (const TokenEntry& e : special_tokens) {
    if (e.bytes.empty()) throw std::invalid_argument("a special token has no text");
    if (e.rank > kMaxRank) throw std::invalid_argument("special token id too large");
    max_id = std::max(max_id, e.rank);
    total_bytes += e.bytes.size();
  }
  token_offset_.assign(static_cast<size_t>(max_id) + 1, kNoRank);
  token_len_.assign(static_cast<size_t>(max_id) + 1, 0);
  arena_.reserve(total_bytes);
  // Hot: the kHotTokens lowest ranks; sized to stay in L2 (16384 slots of 12 bytes).
  constexpr size_t kHotTokens = 8192;
  TokenId hot_limit = 0;
  if (!ranks.empty()) {
    std::vector<TokenId> sorted;
    sorted.reserve(ranks.size());
    for (const TokenEntry& e : ranks) sorted.push_back(e.rank);
    size_t nth = std::min(kHotTokens, sorted.size()) - 1;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(nth), sorted.end());
    hot_limit = sorted[nth];
  }
  auto table_size = [](size_t entries) {
    size_t capacity = 16;
    while (capacity < entries * 2) capacity *= 2;
    return capacity;
  };
  hot_slots_.assign(table_size(std::min(kHotTokens, ranks.size())), Slot{0, kNoRank, 0});
  slots_.assign(table_size(ranks.size()), Slot{0, kNoRank, 0});
  present_bits_.assign(kPresentBits / 64, 0);
  for (const TokenEntry& e : ranks) {
    if (token_offset_[e.rank] != kNoRank)
      throw std::invalid_argument("duplicate rank " + std::to_string(e.rank));
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(e.bytes.data());
    if (HashRank(bytes, e.bytes.size()) != kNoRank)
      throw std::invalid_argument("duplicate token bytes in ranks");
    uint32_t offset = static_cast<uint32_t>(arena_.size());
    arena_ += e.bytes;
    token_offset_[e.rank] = offset;
    token_len_[e.rank] = static_cast<uint32_t>(e.bytes.size());
    uint64_t hash = HashBytes(bytes, e.bytes.size());
    present_bits_[(hash >> 20) % kPresentBits / 64] |= 1ULL << ((hash >> 20) % 64);
    std::vector<Slot>& table = e.rank <= hot_limit ? hot_slots_ : slots_;
    size_t mask = table.size() - 1;
    size_t i = hash & mask;
    while (table[i].rank != kNoRank) i = (i + 1) & mask;
    table[i] = Slot{SlotTag(hash, e.bytes.size()), e.rank, offset};
  }
  pair_rank_.assign(65536, kNoRank);
  for (const TokenEntry& e : ranks) {
    if (e.bytes.size() == 2) {
      pair_rank_[static_cast<uint8_t>(e.bytes[0]) << 8 | static_cast<uint8_t>(e.bytes[1])] = e.rank;
    }
  }
  for (int b = 0; b < 256; ++b) {
    uint8_t byte = static_cast<uint8_t>(b);
    byte_rank_[b] = Rank(&byte, 1);
    if (byte_rank_[b] == kNoRank) {
      throw std::invalid_argument("the ranks lack the single byte " + std::to_string(b) +
                                  ", so not every text can be encoded");
    }
  }
  for (const TokenEntry& e : special_tokens) {
    if (token_offset_[e.rank] != kNoRank) {
      throw std::invalid_argument("special token '" + e.bytes + "' has id " +
                                  std::to_string(e.rank) + ", already used");
    }
    for (const Special& s : specials_) {
      if (s.text == e.bytes)
        throw std::invalid_argument("special token '" + e.bytes + "' listed twice");
    }
    token_offset_[e.rank] = static_cast<uint32_t>(arena_.size());
    token_len_[e.rank] = static_cast<uint32_t>(e.bytes.size());
    arena_ += e.bytes;
    first_byte_specials_[static_cast<uint8_t>(e.bytes[0])] |= 1ULL << specials_.size();
    specials_.push_back({e.bytes, e.rank});
  }
  Classes();  // build the class table now rather than inside the first Encode
}

// ---- Tokenizer: the public face of Impl -------------------------------------------------------

Tokenizer::Tokenizer(const std::vector<TokenEntry>& ranks,
                     const std::vector<TokenEntry>& special_tokens)
    : impl_(std::make_shared<const Impl>(ranks, special_tokens)) {}

void Tokenizer::Encode(std::string_view text, std::vector<TokenId>* out,
                       const SpecialTokenSet& allowed, const SpecialTokenSet& disallowed) const {
  impl_->Encode(text, out, allowed, disallowed);
}

void Tokenizer::EncodeOrdinary(std::string_view text, std::vector<TokenId>* out) const {
  impl_->EncodeSegment(reinterpret_cast<const uint8_t*>(text.data()), text.size(), out);
}

std::vector<std::string_view> Tokenizer::Split(std::string_view text) const {
  return impl_->Split(text);
}

void Tokenizer::DecodeTo(std::span<const TokenId> ids, std::string* out) const {
  impl_->DecodeTo(ids, out);
}

TokenId Tokenizer::SpecialTokenId(std::string_view name) const {
  return impl_->SpecialTokenId(name);
}

size_t Tokenizer::vocab_size() const {
  return impl_->token_offset_.size();
}

Tokenizer Tokenizer::LoadCl100k(const std::string& path) {
  return Tokenizer(LoadTiktokenRanks(path), Cl100kSpecialTokens());
}

TokenId Tokenizer::Impl::HashRank(const uint8_t* bytes, size_t len) const {
  uint64_t hash = HashBytes(bytes, len);
  if ((present_bits_[(hash >> 20) % kPresentBits / 64] >> ((hash >> 20) % 64) & 1) == 0) {
    return kNoRank;
  }
  TokenId rank = FindInTable(hot_slots_, hash, bytes, len);
  return rank != kNoRank ? rank : FindInTable(slots_, hash, bytes, len);
}

TokenId Tokenizer::Impl::FindInTable(const std::vector<Slot>& table, uint64_t hash,
                                     const uint8_t* bytes, size_t len) const {
  uint32_t tag = SlotTag(hash, len);
  size_t mask = table.size() - 1;
  const uint8_t* arena = reinterpret_cast<const uint8_t*>(arena_.data());
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = table[i];
    if (slot.rank == kNoRank) return kNoRank;
    if (slot.tag == tag && (len < 255 || token_len_[slot.rank] == len) &&
        BytesEqual(arena + slot.offset, bytes, len)) {
      return slot.rank;
    }
  }
}

TokenId Tokenizer::Impl::SpecialTokenId(std::string_view name) const {
  for (const Special& s : specials_) {
    if (s.text == name) return s.id;
  }
  throw std::invalid_argument("'" + std::string(name) +
                              "' is not a special token of this tokenizer");
}

uint64_t Tokenizer::Impl::Resolve(const SpecialTokenSet& set) const {
  if (set.all()) return specials_.size() == 64 ? ~0ULL : (1ULL << specials_.size()) - 1;
  uint64_t mask = 0;
  for (const std::string& name : set.names()) {
    size_t i = 0;
    while (i < specials_.size() && specials_[i].text != name) ++i;
    if (i == specials_.size()) {
      throw std::invalid_argument("'" + name + "' is not a special token of this tokenizer");
    }
    mask |= 1ULL << i;
  }
  return mask;
}

size_t Tokenizer::Impl::FindSpecial(std::string_view text, size_t from, uint64_t mask,
                                    int* which) const {
  if (mask == 0) return text.size();
  for (size_t pos = from; pos < text.size(); ++pos) {
    if ((first_byte_specials_[static_cast<uint8_t>(text[pos])] & mask) == 0) continue;
    int best = -1;
    for (size_t i = 0; i < specials_.size(); ++i) {
      if (!(mask >> i & 1)) continue;
      const std::string& s = specials_[i].text;
      if (text.compare(pos, s.size(), s) == 0 &&
          (best < 0 || s.size() > specials_[static_cast<size_t>(best)].text.size())) {
        best = static_cast<int>(i);
      }
    }
    if (best >= 0) {
      *which = best;
      return pos;
    }
  }
  return text.size();
}

void Tokenizer::Impl::Encode(std::string_view text, std::vector<TokenId>* out,
                             const SpecialTokenSet& allowed,
                             const SpecialTokenSet& disallowed) const {
  uint64_t allowed_mask = Resolve(allowed);
  uint64_t disallowed_mask =
      disallowed.all() ? Resolve(disallowed) & ~allowed_mask : Resolve(disallowed);
  int which = -1;
  if (disallowed_mask != 0) {
    size_t at = FindSpecial(text, 0, disallowed_mask, &which);
    if (at != text.size())
      throw DisallowedSpecialTokenError(specials_[static_cast<size_t>(which)].text, at);
  }
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(text.data());
  size_t pos = 0;
  while (true) {
    size_t at = FindSpecial(text, pos, allowed_mask, &which);
    EncodeSegment(bytes + pos, at - pos, out);
    if (at == text.size()) break;
    const Special& special = specials_[static_cast<size_t>(which)];
    out->push_back(special.id);
    pos = at + special.text.size();
  }
}

std::vector<TokenId> Tokenizer::Encode(std::string_view text, const SpecialTokenSet& allowed,
                                       const SpecialTokenSet& disallowed) const {
  std::vector<TokenId> out;
  Encode(text, &out, allowed, disallowed);
  return out;
}

std::vector<TokenId> Tokenizer::EncodeOrdinary(std::string_view text) const {
  std::vector<TokenId> out;
  EncodeOrdinary(text, &out);
  return out;
}

std::vector<std::string_view> Tokenizer::Impl::Split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const ClassTable& classes = Classes();
  for (size_t pos = 0; pos < text.size();) {
    size_t end = PieceEnd(bytes, pos, text.size(), classes);
    pieces.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return pieces;
}

void Tokenizer::Impl::EncodeSegment(const uint8_t* text, size_t size,
                                    std::vector<TokenId>* out) const {
  const ClassTable& classes = Classes();
  for (size_t pos = 0; pos < size;) {
    size_t end = PieceEnd(text, pos, size, classes);
    EncodePiece(text + pos, end - pos, out);
    pos = end;
  }
}

// tiktoken's byte_pair_encode: a piece that is itself a token is that token; otherwise merge
// the adjacent pair of lowest rank (the leftmost of equal ones) until no pair is a token.
void Tokenizer::Impl::EncodePiece(const uint8_t* piece, size_t len,
                                  std::vector<TokenId>* out) const {
  if (len == 1) {
    out->push_back(byte_rank_[piece[0]]);
    return;
  }
  TokenId whole = Rank(piece, len);
  if (whole != kNoRank) {
    out->push_back(whole);
    return;
  }
  constexpr size_t kMaxShort = 256;
  if (len > kMaxShort) {
    MergeLongPiece(piece, len, out);
    return;
  }
  // parts[i].start: where part i begins; parts[i].rank: rank of parts i and i+1 joined.
  struct Part {
    uint32_t start;
    TokenId rank;
  };
  Part parts[kMaxShort + 1];
  size_t count = len + 1;
  for (size_t i = 0; i + 1 < len; ++i) parts[i] = {static_cast<uint32_t>(i), Rank(piece + i, 2)};
  parts[len - 1] = {static_cast<uint32_t>(len - 1), kNoRank};
  parts[len] = {static_cast<uint32_t>(len), kNoRank};
  auto joined_rank = [&](size_t i) {  // rank of parts i, i+1, i+2 joined (before a removal)
    if (i + 3 < count) return Rank(piece + parts[i].start, parts[i + 3].start - parts[i].start);
    return kNoRank;
  };
  while (true) {
    TokenId best = kNoRank;
    size_t at = 0;
    for (size_t i = 0; i + 1 < count; ++i) {
      if (parts[i].rank < best) {
        best = parts[i].rank;
        at = i;
      }
    }
    if (best == kNoRank) break;
    if (at > 0) parts[at - 1].rank = joined_rank(at - 1);
    parts[at].rank = joined_rank(at);
    std::memmove(parts + at + 1, parts + at + 2, (count - at - 2) * sizeof(Part));
    --count;
  }
  for (size_t i = 0; i + 1 < count; ++i) {
    out->push_back(Rank(piece + parts[i].start, parts[i + 1].start - parts[i].start));
  }
}

// The same merge order for long pieces in O(n log n): parts in a linked list, candidate pairs in
// a min-heap keyed by (rank, start), entries checked against the current list when popped.
void Tokenizer::Impl::MergeLongPiece(const uint8_t* piece, size_t len,
                                     std::vector<TokenId>* out) const {
  struct Workspace {
    std::vector<uint32_t> next, prev;
    std::vector<TokenId> rank;
    std::vector<uint64_t> heap;  // rank << 32 | start, as a min-heap
  };
  thread_local Workspace w;
  w.next.resize(len + 1);
  w.prev.resize(len + 1);
  w.rank.resize(len + 1);
  w.heap.clear();
  constexpr uint32_t kDead = 0xffffffffu;
  auto pair_rank = [&](uint32_t start) {  // rank of the part at start joined with its successor
    uint32_t second = w.next[start];
    if (second >= len) return kNoRank;
    return Rank(piece + start, w.next[second] - start);
  };
  for (uint32_t i = 0; i <= len; ++i) {
    w.next[i] = i + 1;
    w.prev[i] = i == 0 ? kDead : i - 1;
  }
  auto greater = [](uint64_t a, uint64_t b) { return a > b; };
  auto push = [&](uint32_t start) {
    w.rank[start] = pair_rank(start);
    if (w.rank[start] != kNoRank) {
      w.heap.push_back(static_cast<uint64_t>(w.rank[start]) << 32 | start);
      std::push_heap(w.heap.begin(), w.heap.end(), greater);
    }
  };
  for (uint32_t i = 0; i < len; ++i) push(i);
  while (!w.heap.empty()) {
    std::pop_heap(w.heap.begin(), w.heap.end(), greater);
    uint64_t top = w.heap.back();
    w.heap.pop_back();
    uint32_t start = static_cast<uint32_t>(top);
    TokenId rank = static_cast<TokenId>(top >> 32);
    if (w.prev[start] == kDead && start != 0) continue;  // merged into its predecessor
    if (w.rank[start] != rank) continue;                 // stale
    uint32_t second = w.next[start];
    uint32_t third = w.next[second];
    w.next[start] = third;
    if (third <= len) w.prev[third] = start;
    w.prev[second] = kDead;
    w.rank[second] = kNoRank;
    push(start);
    if (start != 0) push(w.prev[start]);
  }
  for (uint32_t start = 0; start < len; start = w.next[start]) {
    out->push_back(Rank(piece + start, w.next[start] - start));
  }
}

void Tokenizer::Impl::DecodeTo(std::span<const TokenId> ids, std::string* out) const {
  for (TokenId id : ids) {
    if (id >= token_offset_.size() || token_offset_[id] == kNoRank) {
      throw std::out_of_range("token id " + std::to_string(id) + " is not in the vocabulary");
    }
    out->append(arena_, token_offset_[id], token_len_[id]);
  }
}

std::string Tokenizer::Decode(std::span<const TokenId> ids) const {
  std::string out;
  DecodeTo(ids, &out);
  return out;
}

}  // namespace rlvr
