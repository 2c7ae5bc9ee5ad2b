// Encode throughput of the tiktoken-compatible tokenizer (kernels/tokenizer.h) with cl100k_base.
// BM_TokenizerEncode/N rotates through kInputSets texts of N bytes, one per genre (English prose,
// source code, multilingual text with emoji, and numbers/white space/punctuation), each with a
// few <|endoftext|> document boundaries (allowed). Each use perturbs a letter of the text (fresh
// regime: regenerates it); after timing every set's ids are checked against the plain reference.
// Counter "MB/s": text bytes encoded per second (1e6 bytes).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kernels/reference/tokenizer_ref.h"
#include "kernels/splitmix64.h"
#include "kernels/tokenizer.h"
#include "tests/bench/bench_util.h"

namespace rlvr {
namespace {

// tests/fixtures/tokenizer/cl100k_base.tiktoken, found from this file's own path (rlvr_bench has
// no fixture-directory definition).
std::string RankFilePath() {
  std::string path = __FILE__;
  size_t bench = path.rfind("tests/bench/");
  return path.substr(0, bench) + "tests/fixtures/tokenizer/cl100k_base.tiktoken";
}

struct Tokenizers {
  std::unique_ptr<Tokenizer> fast;
  std::unique_ptr<TokenizerRef> ref;
};

// Loaded once per process; nullptr fast if the rank file cannot be read (reported by the
// benchmark).
const Tokenizers& Cl100k(std::string* error) {
  static Tokenizers tokenizers;
  static std::string load_error;
  static bool loaded = false;
  if (!loaded) {
    loaded = true;
    try {
      std::vector<TokenEntry> ranks = LoadTiktokenRanks(RankFilePath());
      tokenizers.fast = std::make_unique<Tokenizer>(ranks, Cl100kSpecialTokens());
      tokenizers.ref = std::make_unique<TokenizerRef>(ranks, Cl100kSpecialTokens());
    } catch (const std::exception& e) {
      load_error = e.what();
    }
  }
  *error = load_error;
  return tokenizers;
}

// Building blocks of each genre; texts are random sequences of them.
const char* const kProse[] = {" the",
                              " of",
                              " and",
                              " to",
                              " in",
                              " a",
                              " is",
                              " that",
                              " for",
                              " it",
                              " was",
                              " on",
                              " with",
                              " he",
                              " as",
                              " I",
                              " his",
                              " they",
                              " be",
                              " at",
                              " one",
                              " have",
                              " this",
                              " from",
                              " or",
                              " had",
                              " by",
                              " word",
                              " but",
                              " what",
                              " some",
                              " we",
                              " can",
                              " out",
                              " other",
                              " were",
                              " all",
                              " there",
                              " when",
                              " up",
                              " use",
                              " your",
                              " how",
                              " said",
                              " an",
                              " each",
                              " which",
                              " she",
                              " do",
                              " their",
                              " time",
                              " if",
                              " will",
                              " way",
                              " about",
                              " many",
                              " then",
                              " them",
                              " would",
                              " write",
                              " like",
                              " so",
                              " these",
                              " her",
                              " long",
                              " make",
                              " thing",
                              " see",
                              " him",
                              " two",
                              " has",
                              " look",
                              " more",
                              " day",
                              " could",
                              " go",
                              " come",
                              " did",
                              " number",
                              " sound",
                              " no",
                              " most",
                              " people",
                              " my",
                              " over",
                              " know",
                              " water",
                              " than",
                              " call",
                              " first",
                              " who",
                              " may",
                              " down",
                              " side",
                              " been",
                              " now",
                              " find",
                              " extraordinary",
                              " tokenization",
                              " Pneumonia",
                              " don't",
                              " it's",
                              " we'll",
                              " they've",
                              ".",
                              ",",
                              ".",
                              ",",
                              ";",
                              "!",
                              "?",
                              " \"",
                              "\"",
                              " (",
                              ")",
                              "\n\n",
                              "\n",
                              " -",
                              " 1984",
                              " 3.5"};
const char* const kCode[] = {"int",      " x",        " =",      " 0",       ";\n",
                             "  ",       "    ",      "for",     " (",       "size_t",
                             " i",       " <",        " n",      "; ++i)",   " {\n",
                             "}\n",      "return",    " result", ";",        "std::vector<float>",
                             " const",   "auto&",     " value",  "->",       "::",
                             "if",       " (!",       "ok",      ")",        " &&",
                             " ||",      "//",        " TODO:",  " fix",     "\n",
                             "#include", " <string>", "def",     " main",    "():",
                             "\n\t",     "self",      ".",       "append",   "(",
                             "[]",       "{}",        "0x1f",    "\"text\"", "'c'",
                             " +=",      " *",        " /",      " %",       "nullptr",
                             "true",     "false",     "None",    "==",       "!="};
const char* const kMultilingual[] = {
    " Привет", " мир",  ",",        " это",      " тест",    " 你好",    "世界",
    "。",      "我们",  "今天",     " 日本語",   "の",       "テキスト", " 한국어",
    " 텍스트", " Γειά", " σου",     " κόσμε",    " مرحبا",   " بالعالم", " नमस्ते",
    " दुनिया",  " café", " naïve",   " Straße",   " 😀",       "🎉",        " 👍🏽",
    " ❤️", "\n",    " e\u0301", " ελληνικά", " ภาษาไทย", " עברית"};
const char* const kNumbersSpace[] = {
    " 0",   " 1",   " 42",    " 1234567", " 3.14159", " -273.15", " 1e-10", " 2024-11-26",
    "   ",  "\t\t", "\n\n\n", "  \n",     " ",        "....",     "!!!",    "---",
    "===",  " ***", " #",     " $100",    " 50%",     " (1)",     " [2]",   " {3}",
    " <x>", " a+b", " @user", " #tag",    " ©",       " ½",       " ²",     " ①"};

struct Genre {
  const char* const* atoms;
  size_t count;
};
constexpr Genre kGenres[kInputSets] = {{kProse, std::size(kProse)},
                                       {kCode, std::size(kCode)},
                                       {kMultilingual, std::size(kMultilingual)},
                                       {kNumbersSpace, std::size(kNumbersSpace)}};
constexpr char kBoundary[] = "<|endoftext|>";

struct EncodeSet {
  const Tokenizer* tokenizer;
  Genre genre;
  std::string text;  // fixed size; Refill and Perturb rewrite it in place
  std::vector<TokenId> ids;
  uint64_t perturb_state;
  size_t perturb_position = 0;

  EncodeSet(const Tokenizer* tokenizer, Genre genre, size_t bytes, uint64_t seed)
      : tokenizer(tokenizer), genre(genre), text(bytes, ' '), perturb_state(seed ^ 0x5bd1e995) {
    ids.reserve(bytes + 16);
    Refill(seed);
  }

  // Random atoms of the genre (70%) and of the other genres, a document boundary every ~8 KB;
  // the tail that no atom fits is filled with 'x'.
  void Refill(uint64_t seed) {
    size_t pos = 0;
    size_t next_boundary = 8192;
    while (true) {
      const char* atom;
      uint64_t r = SplitMix64(seed);
      if (pos >= next_boundary) {
        atom = kBoundary;
        next_boundary += 8192;
      } else {
        const Genre& g = (r % 10 < 7) ? genre : kGenres[(r >> 8) % kInputSets];
        atom = g.atoms[(r >> 16) % g.count];
      }
      size_t length = std::char_traits<char>::length(atom);
      if (pos + length > text.size()) break;
      text.replace(pos, length, atom);
      pos += length;
    }
    for (; pos < text.size(); ++pos) text[pos] = 'x';
  }

  // Changes the next ASCII letter after a walking position into another letter: the text stays
  // valid UTF-8, and some piece (and so some ids) changes.
  void Perturb() {
    for (size_t step = 0; step < text.size(); ++step) {
      perturb_position = (perturb_position + 97) % text.size();
      char& c = text[perturb_position];
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        c = static_cast<char>('a' + SplitMix64(perturb_state) % 26);
        return;
      }
    }
  }

  void Run() {
    ids.clear();
    tokenizer->Encode(text, &ids, SpecialTokenSet::All());
  }
};

void BM_TokenizerEncode(benchmark::State& state) {
  std::string error;
  const Tokenizers& tokenizers = Cl100k(&error);
  if (!tokenizers.fast) {
    state.SkipWithError(("cannot load the cl100k_base ranks: " + error).c_str());
    return;
  }
  const size_t bytes = static_cast<size_t>(state.range(0));
  int genre = 0;
  RotatingSets<EncodeSet> sets(
      state,
      [&](uint64_t seed) {
        return EncodeSet(tokenizers.fast.get(), kGenres[genre++], bytes, seed);
      },
      /*base_seed=*/13);
  sets.ForEach([](EncodeSet& s) { s.Run(); });
  LoopAllocations allocations(state);
  for (auto _ : state) {
    EncodeSet& set = sets.Next();
    set.Run();
    benchmark::DoNotOptimize(set.ids.data());
    benchmark::ClobberMemory();
  }
  allocations.Report();
  sets.All([&](EncodeSet& s) {
    std::vector<TokenId> want = tokenizers.ref->Encode(s.text, SpecialTokenSet::All());
    if (want == s.ids) return true;
    size_t at = 0;
    while (at < want.size() && at < s.ids.size() && want[at] == s.ids[at]) ++at;
    char message[200];
    std::snprintf(message, sizeof message,
                  "ids differ from the reference at index %zu (%zu ids, reference %zu)", at,
                  s.ids.size(), want.size());
    state.SkipWithError(message);
    return false;
  });
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(bytes) * 1e-6,
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TokenizerEncode)->Arg(1 << 16);

}  // namespace
}  // namespace rlvr
