// The tiktoken-compatible tokenizer (kernels/tokenizer.h) against the real tiktoken (ids in
// tests/fixtures/tokenizer/corpus.json, made by make_fixtures.sh with npm tiktoken) and against
// the plain reference (kernels/reference/tokenizer_ref.h) on random text and random bytes.
#include "kernels/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/reference/tokenizer_ref.h"
#include "kernels/tokenizer_unicode.h"
#include "tests/common/alloc_counter.h"
#include "tests/common/test_seed.h"

namespace rlvr {
namespace {

const std::string kFixtureDir = std::string(RLVR_FIXTURES_DIR) + "/tokenizer";

struct Cl100k {
  std::vector<TokenEntry> ranks;
  std::unique_ptr<Tokenizer> fast;
  std::unique_ptr<TokenizerRef> ref;
};

const Cl100k& Cl100kTokenizers() {
  static const Cl100k* tokenizers = [] {
    auto* t = new Cl100k;
    t->ranks = LoadTiktokenRanks(kFixtureDir + "/cl100k_base.tiktoken");
    t->fast = std::make_unique<Tokenizer>(t->ranks, Cl100kSpecialTokens());
    t->ref = std::make_unique<TokenizerRef>(t->ranks, Cl100kSpecialTokens());
    return t;
  }();
  return *tokenizers;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

SpecialTokenSet ToSet(const nlohmann::json& value) {
  if (value.is_string() && value.get<std::string>() == "all") return SpecialTokenSet::All();
  return SpecialTokenSet(value.get<std::vector<std::string>>());
}

std::string Escaped(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
      out += buffer;
    }
  }
  return out;
}

// "[a|b|c]" for pieces, for failure messages.
template <typename Pieces>
std::string Show(const Pieces& pieces) {
  std::string out = "[";
  for (const auto& piece : pieces) out += Escaped(piece) + "|";
  return out + "]";
}

// ---- Agreement with tiktoken ------------------------------------------------------------------

TEST(TokenizerCorpus, IdsIdenticalToTiktoken) {
  const Cl100k& t = Cl100kTokenizers();
  nlohmann::json corpus = nlohmann::json::parse(ReadFile(kFixtureDir + "/corpus.json"));
  ASSERT_GE(corpus["entries"].size(), 100u);
  size_t cases = 0, ids = 0, bytes = 0, errors = 0;
  for (const auto& entry : corpus["entries"]) {
    std::string name = entry["name"];
    std::string text = entry["text"];
    bytes += text.size();
    for (const auto& c : entry["cases"]) {
      SpecialTokenSet allowed = ToSet(c["allowed"]);
      SpecialTokenSet disallowed = ToSet(c["disallowed"]);
      std::string what =
          name + " allowed=" + c["allowed"].dump() + " disallowed=" + c["disallowed"].dump();
      ++cases;
      if (c.contains("error")) {
        ++errors;
        EXPECT_THROW(t.fast->Encode(text, allowed, disallowed), DisallowedSpecialTokenError)
            << what;
        EXPECT_THROW(t.ref->Encode(text, allowed, disallowed), DisallowedSpecialTokenError) << what;
        continue;
      }
      std::vector<TokenId> want = c["ids"].get<std::vector<TokenId>>();
      ids += want.size();
      std::vector<TokenId> got = t.fast->Encode(text, allowed, disallowed);
      EXPECT_EQ(got, want) << what << "\nfast pieces: " << Show(t.fast->Split(text))
                           << "\nref pieces:  " << Show(t.ref->Split(text));
      EXPECT_EQ(t.ref->Encode(text, allowed, disallowed), want) << what << " (reference)";
      EXPECT_EQ(t.fast->Decode(want), text) << what;
    }
  }
  std::printf("[ tiktoken ] %zu texts (%zu bytes), %zu cases (%zu errors), %zu ids compared\n",
              corpus["entries"].size(), bytes, cases, errors, ids);
}

TEST(TokenizerCorpus, RankFileIsCl100k) {
  const Cl100k& t = Cl100kTokenizers();
  EXPECT_EQ(t.ranks.size(), 100256u);
  EXPECT_EQ(t.fast->vocab_size(), 100277u);
  EXPECT_EQ(t.fast->EncodeOrdinary("hello world"), (std::vector<TokenId>{15339, 1917}));
}

// ---- Special tokens ---------------------------------------------------------------------------

TEST(TokenizerSpecial, DefaultDisallowsEverySpecialToken) {
  const Tokenizer& fast = *Cl100kTokenizers().fast;
  try {
    fast.Encode("abc <|fim_middle|> <|endoftext|>");
    FAIL() << "no error";
  } catch (const DisallowedSpecialTokenError& e) {
    EXPECT_EQ(e.token(), "<|fim_middle|>");
    EXPECT_EQ(e.offset(), 4u);
    EXPECT_NE(std::string(e.what()).find("<|fim_middle|>"), std::string::npos);
  }
  std::vector<TokenId> out = {7};
  EXPECT_THROW(fast.Encode("x<|endoftext|>", &out), DisallowedSpecialTokenError);
  EXPECT_EQ(out, std::vector<TokenId>{7}) << "output changed by a failed call";
}

TEST(TokenizerSpecial, AllowedBecomeIdsOthersAreTextOrErrors) {
  const Tokenizer& fast = *Cl100kTokenizers().fast;
  const TokenId eot = 100257, fim_prefix = 100258;
  EXPECT_EQ(fast.SpecialTokenId("<|endoftext|>"), eot);
  EXPECT_EQ(fast.Encode("<|endoftext|>", {"<|endoftext|>"}), std::vector<TokenId>{eot});
  EXPECT_EQ(fast.Encode("<|endoftext|><|fim_prefix|>", SpecialTokenSet::All()),
            (std::vector<TokenId>{eot, fim_prefix}));
  // Allowed one, the other disallowed by default: error; explicitly not disallowed: text.
  EXPECT_THROW(fast.Encode("<|endoftext|><|fim_prefix|>", {"<|endoftext|>"}),
               DisallowedSpecialTokenError);
  std::vector<TokenId> mixed =
      fast.Encode("<|endoftext|><|fim_prefix|>", {"<|endoftext|>"}, SpecialTokenSet::None());
  ASSERT_GT(mixed.size(), 2u);
  EXPECT_EQ(mixed[0], eot);
  EXPECT_EQ(fast.Decode(mixed), "<|endoftext|><|fim_prefix|>");
  EXPECT_EQ(std::count(mixed.begin(), mixed.end(), fim_prefix), 0);
  // Ordinary encoding never yields special ids.
  std::vector<TokenId> ordinary = fast.EncodeOrdinary("<|endoftext|>");
  EXPECT_EQ(ordinary,
            fast.Encode("<|endoftext|>", SpecialTokenSet::None(), SpecialTokenSet::None()));
  EXPECT_EQ(std::count(ordinary.begin(), ordinary.end(), eot), 0);
  EXPECT_EQ(fast.Decode(ordinary), "<|endoftext|>");
  // A broken special token is text.
  EXPECT_EQ(fast.Encode("<|endoftext|"), fast.EncodeOrdinary("<|endoftext|"));
  // Unknown names are the caller's mistake.
  EXPECT_THROW(fast.Encode("x", {"<|nope|>"}), std::invalid_argument);
  EXPECT_THROW(fast.SpecialTokenId("<|nope|>"), std::invalid_argument);
}

TEST(TokenizerSpecial, DecodeRejectsUnknownIds) {
  const Tokenizer& fast = *Cl100kTokenizers().fast;
  EXPECT_EQ(fast.Decode(std::vector<TokenId>{100257}), "<|endoftext|>");
  EXPECT_THROW(fast.Decode(std::vector<TokenId>{100261}), std::out_of_range);  // a gap
  EXPECT_THROW(fast.Decode(std::vector<TokenId>{100277}), std::out_of_range);
  EXPECT_THROW(fast.Decode(std::vector<TokenId>{0xffffffffu}), std::out_of_range);
}

// ---- Malformed rank files ---------------------------------------------------------------------

// The message of the TokenizerFileError that parsing `contents` throws ("" if none).
std::string ParseError(const std::string& contents) {
  try {
    ParseTiktokenRanks(contents, "test.tiktoken");
  } catch (const TokenizerFileError& e) {
    return e.what();
  }
  return "";
}

TEST(TokenizerRankFile, ErrorsNameTheLine) {
  EXPECT_EQ(ParseTiktokenRanks("IQ== 0\n\nIg== 1\r\nYWI= 2", "x").size(), 3u);
  EXPECT_EQ(ParseTiktokenRanks("YWI= 2", "x")[0].bytes, "ab");
  auto expect_error = [](const std::string& contents, const std::string& where,
                         const std::string& what) {
    std::string message = ParseError(contents);
    EXPECT_NE(message.find(where), std::string::npos)
        << "for '" << Escaped(contents) << "': " << message;
    EXPECT_NE(message.find(what), std::string::npos)
        << "for '" << Escaped(contents) << "': " << message;
  };
  expect_error("IQ== 0\nIg==\n", "test.tiktoken:2:", "base64 rank");
  expect_error("IQ== 0\nIg== 1 2\n", "test.tiktoken:2:", "base64 rank");
  expect_error("IQ== 0\n\nI!== 1\n", "test.tiktoken:3:", "invalid base64");
  expect_error("IQ= 0\n", "test.tiktoken:1:", "invalid base64");
  expect_error("IQ== 0\nIg== x1\n", "test.tiktoken:2:", "not a decimal integer");
  expect_error("IQ== 0\nIg== -1\n", "test.tiktoken:2:", "not a decimal integer");
  expect_error("IQ== 0\nIg== 99999999\n", "test.tiktoken:2:", "above the limit");
  expect_error("IQ== 0\nIg== 1\nIw== 1\n", "test.tiktoken:3:", "duplicate rank 1 (also on line 2)");
  expect_error("IQ== 0\nIg== 1\nIQ== 2\n",
               "test.tiktoken:3:", "duplicate token '!' (also on line 1)");
  EXPECT_THROW(LoadTiktokenRanks(kFixtureDir + "/no_such_file.tiktoken"), TokenizerFileError);
}

TEST(TokenizerRankFile, RanksMustCoverEveryByte) {
  std::vector<TokenEntry> ranks;
  for (int b = 0; b < 255; ++b)
    ranks.push_back({std::string(1, static_cast<char>(b)), static_cast<TokenId>(b)});
  EXPECT_THROW(Tokenizer(ranks, {}), std::invalid_argument);
  ranks.push_back({std::string(1, '\xff'), 255});
  EXPECT_NO_THROW(Tokenizer(ranks, {}));
  EXPECT_THROW(Tokenizer(ranks, {{"<|s|>", 3}}), std::invalid_argument);  // id taken
}

// ---- Merging ----------------------------------------------------------------------------------

// A vocabulary of all bytes (ranks 1000 + b) plus the given merges, for hand-checked merges.
std::vector<TokenEntry> ByteVocabulary(const std::vector<TokenEntry>& merges) {
  std::vector<TokenEntry> ranks;
  for (int b = 0; b < 256; ++b)
    ranks.push_back({std::string(1, static_cast<char>(b)), static_cast<TokenId>(1000 + b)});
  ranks.insert(ranks.end(), merges.begin(), merges.end());
  return ranks;
}

TEST(TokenizerMerge, LowestRankFirstLeftmostOnTies) {
  // "abc": "bc" (rank 1) merges before "ab" (rank 2); then "abc" is not a token.
  Tokenizer t(ByteVocabulary({{"bc", 1}, {"ab", 2}}), {});
  EXPECT_EQ(t.EncodeOrdinary("abc"), (std::vector<TokenId>{1000 + 'a', 1}));
  // "aaa": ties between the two "aa" pairs go to the left one.
  Tokenizer ties(ByteVocabulary({{"aa", 5}}), {});
  EXPECT_EQ(ties.EncodeOrdinary("aaa"), (std::vector<TokenId>{5, 1000 + 'a'}));
  EXPECT_EQ(ties.EncodeOrdinary("aaaaa"), (std::vector<TokenId>{5, 5, 1000 + 'a'}));
  // A piece that is a token is that token even where merging could not reach it.
  Tokenizer whole(ByteVocabulary({{"xyz", 7}}), {});
  EXPECT_EQ(whole.EncodeOrdinary("xyz"), std::vector<TokenId>{7});
  EXPECT_EQ(whole.EncodeOrdinary("xyzxyz"),
            (std::vector<TokenId>{1000 + 'x', 1000 + 'y', 1000 + 'z', 1000 + 'x', 1000 + 'y',
                                  1000 + 'z'}));
}

TEST(TokenizerMerge, LongPiecesMatchTheReference) {
  // Pieces longer than the fast path's stack buffer (256 bytes) take the heap-based merge.
  const Cl100k& t = Cl100kTokenizers();
  std::mt19937_64 rng(TestSeedFor(11));
  for (int n : {255, 256, 257, 300, 1200}) {
    for (const char* alphabet : {"ab", "abcdefghijklmnopqrstuvwxyz", "aaaaaaaab", "!?.,;:"}) {
      std::string text;
      size_t k = std::strlen(alphabet);
      for (int i = 0; i < n; ++i) text.push_back(alphabet[rng() % k]);
      ASSERT_EQ(t.fast->Split(text).size(), 1u);
      EXPECT_EQ(t.fast->EncodeOrdinary(text), t.ref->EncodeOrdinary(text)) << n << " " << alphabet;
    }
  }
  std::string spaces(1200, ' ');
  EXPECT_EQ(t.fast->EncodeOrdinary(spaces), t.ref->EncodeOrdinary(spaces));
  std::string digits(1200, '7');
  EXPECT_EQ(t.fast->EncodeOrdinary(digits), t.ref->EncodeOrdinary(digits));
}

// ---- Random text: fast == reference, and round trips -----------------------------------------

std::string CodePointUtf8(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | cp >> 6));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | cp >> 12));
    out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | cp >> 18));
    out.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
  return out;
}

// Random valid UTF-8 that hits every alternative of the pattern: words, numbers, contractions,
// punctuation, white space of all kinds, special-token text, and code points from everywhere.
std::string RandomText(std::mt19937_64& rng, size_t atoms) {
  static const char* const kAtoms[] = {" ",
                                       "  ",
                                       "\t",
                                       "\n",
                                       "\r\n",
                                       "\r",
                                       "\n\n",
                                       " \n ",
                                       "\xc2\xa0",
                                       "\xe3\x80\x80",
                                       "\xc2\x85",
                                       "\x0b",
                                       "the",
                                       " The",
                                       "word",
                                       "x",
                                       "QUICK",
                                       "caf\xc3\xa9",
                                       "0",
                                       "12",
                                       "345",
                                       "6789",
                                       "'s",
                                       "'T",
                                       "'re",
                                       "'VE",
                                       "'m",
                                       "'ll",
                                       "'D",
                                       "'",
                                       "'\xc5\xbf",
                                       ".",
                                       ",",
                                       "!!",
                                       "...",
                                       "->",
                                       "{",
                                       "}",
                                       "\"",
                                       "#",
                                       "\\",
                                       "\xe4\xbd\xa0\xe5\xa5\xbd",
                                       "\xd9\xa3",
                                       "\xe2\x85\xa2",
                                       "\xc2\xb2",
                                       "\xf0\x9f\x98\x80",
                                       "\xcc\x81",
                                       "\xe2\x80\x8d",
                                       "<|endoftext|>",
                                       "<|fim_prefix|>",
                                       "<|",
                                       "|>"};
  std::string text;
  for (size_t i = 0; i < atoms; ++i) {
    uint64_t r = rng() % 100;
    if (r < 80) {
      text += kAtoms[rng() % std::size(kAtoms)];
    } else {
      uint32_t cp;
      do {
        uint64_t range = rng() % 3;
        cp = static_cast<uint32_t>(range == 0   ? rng() % 0x800
                                   : range == 1 ? rng() % 0x10000
                                                : rng() % 0x110000);
      } while (cp >= 0xd800 && cp <= 0xdfff);
      text += CodePointUtf8(cp);
    }
  }
  return text;
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string text;
  for (size_t i = 0; i < n; ++i) {
    uint64_t r = rng() % 4;
    // Bias towards bytes that start or continue UTF-8 sequences and towards ASCII structure.
    if (r == 0)
      text.push_back(static_cast<char>(0x80 + rng() % 0x80));
    else if (r == 1)
      text.push_back(" \n'a1.<|"[rng() % 8]);
    else
      text.push_back(static_cast<char>(rng() % 256));
  }
  return text;
}

TEST(TokenizerRandom, FastEqualsReferenceAndRoundTripsOnRandomUtf8) {
  const Cl100k& t = Cl100kTokenizers();
  std::mt19937_64 rng(TestSeedFor(21));
  for (int trial = 0; trial < 300; ++trial) {
    std::string text = RandomText(rng, 1 + rng() % 60);
    std::vector<TokenId> ids = t.fast->EncodeOrdinary(text);
    ASSERT_EQ(ids, t.ref->EncodeOrdinary(text))
        << "'" << Escaped(text) << "'\nfast " << Show(t.fast->Split(text)) << "\nref  "
        << Show(t.ref->Split(text));
    ASSERT_EQ(t.fast->Decode(ids), text);
    ASSERT_EQ(t.fast->Encode(text, SpecialTokenSet::All()),
              t.ref->Encode(text, SpecialTokenSet::All()))
        << "'" << Escaped(text) << "'";
    std::vector<TokenId> with_specials = t.fast->Encode(text, SpecialTokenSet::All());
    ASSERT_EQ(t.fast->Decode(with_specials), text);
  }
}

TEST(TokenizerRandom, FastEqualsReferenceAndRoundTripsOnRandomBytes) {
  const Cl100k& t = Cl100kTokenizers();
  std::mt19937_64 rng(TestSeedFor(22));
  for (int trial = 0; trial < 300; ++trial) {
    std::string text = RandomBytes(rng, rng() % 200);
    std::vector<TokenId> ids = t.fast->EncodeOrdinary(text);
    ASSERT_EQ(t.fast->Split(text).size(), t.ref->Split(text).size()) << "'" << Escaped(text) << "'";
    ASSERT_EQ(ids, t.ref->EncodeOrdinary(text)) << "'" << Escaped(text) << "'";
    ASSERT_EQ(t.fast->Decode(ids), text);
    ASSERT_EQ(t.ref->Decode(ids), text);
  }
}

TEST(TokenizerRandom, SplitAgreesOnEveryCodePoint) {
  // Every code point in contexts that exercise each class (letter, number, white space, other),
  // so the fast path's class table is checked against the plain one across the whole range.
  const Cl100k& t = Cl100kTokenizers();
  std::string text;
  size_t chunks = 0;
  // Every code point up to the last letter or number (CJK extension H ends at U+323AF),
  // then a sample of the unassigned and private-use planes.
  for (uint32_t cp = 0; cp < 0x110000; cp += cp < 0x32400 ? 1 : 61) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    std::string c = CodePointUtf8(cp);
    text += "a" + c + "1" + c + c + " " + c + "\n";
    if (text.size() > 60000 || cp + 61 >= 0x110000) {
      std::vector<std::string_view> fast = t.fast->Split(text);
      std::vector<std::string> ref = t.ref->Split(text);
      ASSERT_EQ(fast.size(), ref.size()) << "around U+" << std::hex << cp;
      for (size_t i = 0; i < fast.size(); ++i)
        ASSERT_EQ(std::string(fast[i]), ref[i]) << "around U+" << std::hex << cp;
      text.clear();
      ++chunks;
    }
  }
  EXPECT_GT(chunks, 60u);
}

TEST(TokenizerUnicode, ClassesOfKnownCodePoints) {
  EXPECT_EQ(ClassifyCodePoint('A'), CodePointClass::kLetter);
  EXPECT_EQ(ClassifyCodePoint('_'), CodePointClass::kOther);
  EXPECT_EQ(ClassifyCodePoint('7'), CodePointClass::kNumber);
  EXPECT_EQ(ClassifyCodePoint(0x00aa), CodePointClass::kLetter);  // FEMININE ORDINAL (Lo)
  EXPECT_EQ(ClassifyCodePoint(0x00b2), CodePointClass::kNumber);  // SUPERSCRIPT TWO (No)
  EXPECT_EQ(ClassifyCodePoint(0x2162), CodePointClass::kNumber);  // ROMAN NUMERAL THREE (Nl)
  EXPECT_EQ(ClassifyCodePoint(0x0661), CodePointClass::kNumber);  // ARABIC-INDIC ONE (Nd)
  EXPECT_EQ(ClassifyCodePoint(0x4e00), CodePointClass::kLetter);  // CJK (Lo, a range entry)
  EXPECT_EQ(ClassifyCodePoint(0x9fff), CodePointClass::kLetter);
  EXPECT_EQ(ClassifyCodePoint(0xac00), CodePointClass::kLetter);      // Hangul syllable
  EXPECT_EQ(ClassifyCodePoint(0x0301), CodePointClass::kOther);       // combining acute (Mn)
  EXPECT_EQ(ClassifyCodePoint(0x0085), CodePointClass::kWhiteSpace);  // NEL: White_Space
  EXPECT_EQ(ClassifyCodePoint(0x3000), CodePointClass::kWhiteSpace);
  EXPECT_EQ(ClassifyCodePoint(0xfeff), CodePointClass::kOther);  // BOM is not White_Space
  EXPECT_EQ(ClassifyCodePoint(0x1f600), CodePointClass::kOther);
  EXPECT_EQ(ClassifyCodePoint(0x20000), CodePointClass::kLetter);  // CJK extension B
  EXPECT_EQ(ClassifyCodePoint(0x110000), CodePointClass::kOther);
  // Unicode 16.0, as tiktoken's regex: a letter added in 16.0 is a letter, one of 17.0 is not.
  EXPECT_EQ(ClassifyCodePoint(0x1c89), CodePointClass::kLetter);  // CYRILLIC CAPITAL TJE
  EXPECT_EQ(ClassifyCodePoint(0x323b0), CodePointClass::kOther);  // CJK extension J (17.0)
}

// ---- Allocation and history -------------------------------------------------------------------

TEST(AllocTokenizer, EncodeAllocatesNothingButItsOutput) {
  const Tokenizer& fast = *Cl100kTokenizers().fast;
  std::mt19937_64 rng(TestSeedFor(31));
  std::string text =
      RandomText(rng, 3000) + std::string(2000, 'q') + "<|endoftext|>" + std::string(1000, '!');
  std::vector<TokenId> out;
  out.reserve(2 * text.size() + 16);                // two encodes append to it below
  fast.Encode(text, &out, SpecialTokenSet::All());  // warm-up: the long-piece workspace
  out.clear();
  const SpecialTokenSet end_of_text = {"<|endoftext|>"};  // its vector of names allocates
  AllocationScope scope;
  fast.Encode(text, &out, SpecialTokenSet::All());
  fast.Encode(text, &out, end_of_text, SpecialTokenSet::None());
  out.clear();
  fast.EncodeOrdinary(text, &out);
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_FALSE(out.empty());
}

// The result depends on the text only: not on where it lives, nor on earlier calls; appending
// leaves what `out` held untouched.
TEST(History, TokenizerEncode) {
  const Cl100k& t = Cl100kTokenizers();
  std::mt19937_64 rng(TestSeedFor(41));
  std::string x = RandomText(rng, 400), y = RandomText(rng, 400), z = RandomText(rng, 50);
  const std::vector<TokenId> sentinel = {123, 456};
  auto check = [&](const std::string& text, const char* step) {
    std::vector<TokenId> out = sentinel;
    t.fast->Encode(text, &out, SpecialTokenSet::All());
    std::vector<TokenId> want = t.ref->Encode(text, SpecialTokenSet::All());
    ASSERT_EQ(out.size(), want.size() + 2) << step;
    EXPECT_TRUE(std::equal(sentinel.begin(), sentinel.end(), out.begin())) << step;
    EXPECT_TRUE(std::equal(want.begin(), want.end(), out.begin() + 2)) << step;
  };
  check(x, "X");
  check(y, "Y");
  check(z, "Z");
  std::string copy = x;
  check(copy, "X in fresh buffer");
  check(x, "X again");
  check(x, "X twice");
  for (size_t i : {x.size() / 2, size_t{0}, x.size() - 1}) {
    x[i] = x[i] == 'a' ? 'b' : 'a';  // stays valid UTF-8 only sometimes: fine, bytes are bytes
    check(x, "X changed in place");
  }
}

}  // namespace
}  // namespace rlvr
