// Single-point mutants of source text (harness/repo/mutants.h): the sites found, what is skipped
// (comments, strings, templates, #include), determinism of the sample, and that each mutant
// changes one token (or drops one contiguous span) of one line.
#include "harness/repo/mutants.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/patch/diff.h"

namespace rlvr {
namespace {

constexpr const char* kAdler = R"(#include "adler.h"

#define BASE 65521u /* largest prime below 65536 */
#define NMAX 5552

// s1 + s2 < BASE is what "the modulo" keeps
uint32_t adler32(uint32_t adler, const unsigned char *buf, size_t len) {
  uint32_t s1 = adler & 0xffff;
  uint32_t s2 = adler >> 16;
  const char* message = "a + b < c";
  char quote = '%';
  while (len > 0) {
    size_t block = len < NMAX ? len : NMAX;
    len -= block;
    for (size_t i = 0; i < block; ++i) {
      s1 += buf[i];
      s2 += s1;
    }
    s1 %= BASE;
    s2 = s2 % BASE;
  }
  std::vector<int> unused;
  return (s2 << 16) | std::min(s1, BASE);
}
)";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> Describe(const std::vector<MutationSite>& sites, std::string_view text) {
  std::vector<std::string> out;
  for (const auto& s : sites)
    out.push_back(std::to_string(s.line) + " " + s.kind + " '" +
                  std::string(text.substr(s.begin, s.end - s.begin)) + "'->'" + s.replacement +
                  "'");
  return out;
}

bool Contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

TEST(Mutants, FindsOperatorBoundConstantDropAndMinMaxSites) {
  std::string text = kAdler;
  auto sites = Describe(FindMutationSites(text), text);
  EXPECT_TRUE(Contains(sites, "4 constant '5552'->'5553'")) << testing::PrintToString(sites);
  EXPECT_TRUE(Contains(sites, "4 constant '5552'->'5551'"));
  EXPECT_TRUE(Contains(sites, "3 constant '65521u'->'65522u'"));
  EXPECT_TRUE(Contains(sites, "8 constant '0xffff'->'0xfffe'"));
  EXPECT_TRUE(Contains(sites, "8 arithmetic '&'->'|'"));
  EXPECT_TRUE(Contains(sites, "13 bound '<'->'<='"));
  EXPECT_TRUE(Contains(sites, "15 bound '<'->'<='"));
  EXPECT_TRUE(Contains(sites, "14 compound '-='->'+='"));
  EXPECT_TRUE(Contains(sites, "14 drop-compound 'len -= block'->''"));
  EXPECT_TRUE(Contains(sites, "17 drop-compound 's2 += s1'->''"));
  EXPECT_TRUE(Contains(sites, "19 drop-compound 's1 %= BASE'->''"));
  EXPECT_TRUE(Contains(sites, "20 drop-modulo ' % BASE'->''"));
  EXPECT_TRUE(Contains(sites, "23 min-max 'min'->'max'"));
  EXPECT_TRUE(Contains(sites, "23 arithmetic '<<'->'>>'"));
}

TEST(Mutants, SkipsCommentsStringsCharsIncludesTemplatesAndPointers) {
  std::string text = kAdler;
  for (const auto& site : FindMutationSites(text)) {
    // Line 1 (#include), 6 (comment), 10 (string), 11 (char literal), 22 (template) have no
    // site; nor does the pointer declaration's '*' on line 7 or the for-header's ++ step.
    EXPECT_NE(site.line, 1);
    EXPECT_NE(site.line, 6);
    EXPECT_NE(site.line, 10);
    EXPECT_NE(site.line, 11);
    EXPECT_NE(site.line, 22);
    if (site.line == 7) ADD_FAILURE() << "site in a declaration: " << site.kind;
    if (site.line == 3) EXPECT_EQ(site.kind, "constant") << "the /* */ comment was mutated";
  }
  std::string block = "/* a < b\n c + 1 */ int x; // d - 2\nauto s = R\"(e * 3)\";\n";
  EXPECT_TRUE(FindMutationSites(block).empty());
  EXPECT_TRUE(FindMutationSites("float* p = q;\nconst T& r = s;\nint a = -b;\n").empty());
}

TEST(Mutants, EachMutantChangesOneTokenOrDropsOneSpanOfOneLine) {
  std::string text = kAdler;
  std::vector<std::string> before_lines = Lines(text);
  auto sites = FindMutationSites(text);
  ASSERT_GT(sites.size(), 20u);
  for (const auto& site : sites) {
    std::string after = ApplyMutation(text, site);
    ASSERT_NE(after, text);
    std::vector<std::string> after_lines = Lines(after);
    ASSERT_EQ(after_lines.size(), before_lines.size());
    int changed = 0;
    for (size_t i = 0; i < before_lines.size(); ++i) {
      if (before_lines[i] == after_lines[i]) continue;
      ++changed;
      EXPECT_EQ(static_cast<int>(i) + 1, site.line);
    }
    EXPECT_EQ(changed, 1);
    std::vector<std::string> a = SourceTokens(text), b = SourceTokens(after);
    size_t prefix = 0;
    while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
    size_t suffix = 0;
    while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
           a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
      ++suffix;
    if (site.replacement.empty()) {
      EXPECT_EQ(b.size() - prefix - suffix, 0u) << site.kind;  // a pure deletion
      EXPECT_GE(a.size() - prefix - suffix, 2u) << site.kind;
    } else {
      EXPECT_EQ(a.size(), b.size()) << site.kind << " " << site.replacement;
      EXPECT_EQ(a.size() - prefix - suffix, 1u) << site.kind << " " << site.replacement;
    }
  }
}

TEST(Mutants, SampleIsDeterministicBoundedAndSpreadOverLines) {
  std::vector<MutantSource> sources = {{"c/adler.c", kAdler, {}}};
  auto first = SampleMutants(sources, 6, 42);
  auto again = SampleMutants(sources, 6, 42);
  ASSERT_EQ(first.size(), 6u);
  ASSERT_EQ(again.size(), first.size());
  std::set<int> lines;
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].Describe(), again[i].Describe());
    EXPECT_EQ(first[i].mutated_text, again[i].mutated_text);
    lines.insert(first[i].site.line);
  }
  EXPECT_EQ(lines.size(), first.size()) << "two mutants on one line while others were free";
  std::set<std::string> other_sample;
  for (uint64_t seed = 1; seed < 6; ++seed) {
    std::string joined;
    for (const auto& m : SampleMutants(sources, 6, seed)) joined += m.Describe() + "\n";
    other_sample.insert(joined);
  }
  EXPECT_GT(other_sample.size(), 1u) << "the seed changes nothing";
  size_t all = FindMutationSites(kAdler).size();
  EXPECT_EQ(SampleMutants(sources, 1000, 1).size(), all);
}

TEST(Mutants, ExcludedLinesGetNoMutant) {
  std::vector<bool> excluded(30, true);
  excluded[12] = false;  // line 13 only
  auto sample = SampleMutants({{"c/adler.c", kAdler, excluded}}, 100, 7);
  ASSERT_FALSE(sample.empty());
  for (const auto& m : sample) EXPECT_EQ(m.site.line, 13) << m.Describe();
}

// Assertions and optimizer assumptions state preconditions: xxHash's survivor
// XXH_ASSERT(4 <= len && len <= 8) -> (... len <= 9) changed no result, so no mutant goes there.
TEST(Mutants, AssertionLinesGetNoMutant) {
  const std::string text =
      "static int f(const unsigned char* p, int len) {\n"
      "  XXH_ASSERT(4 <= len && len <= 8);\n"
      "  assert(p != 0 && len > 1);\n"
      "  static_assert(sizeof(int) == 4, \"int\");\n"
      "  __builtin_assume(len < 100);\n"
      "  return p[0] + len * 3;\n"
      "}\n";
  EXPECT_TRUE(IsAssertionLine("  XXH_ASSERT(4 <= len && len <= 8);"));
  EXPECT_TRUE(IsAssertionLine("assert (x);"));
  EXPECT_FALSE(IsAssertionLine("  return assert_count + 1;"));
  EXPECT_FALSE(IsAssertionLine("  x = ASSERT;"));
  auto sample = SampleMutants({{"f.c", text, {}}}, 100, 1);
  ASSERT_FALSE(sample.empty());
  for (const auto& m : sample) EXPECT_EQ(m.site.line, 6) << m.Describe();
}

TEST(Mutants, MutantLinesAndDiffApply) {
  std::string text = kAdler;
  auto sample = SampleMutants({{"c/adler.c", text, {}}}, 8, 3);
  ASSERT_FALSE(sample.empty());
  for (const auto& m : sample) {
    EXPECT_EQ(m.original_line, Lines(text)[m.site.line - 1]);
    EXPECT_EQ(m.mutated_line, Lines(m.mutated_text)[m.site.line - 1]);
    EXPECT_NE(m.original_line, m.mutated_line);
    std::string diff = GitDiff({{m.path, text, m.mutated_text}});
    EXPECT_NE(diff.find("-" + m.original_line + "\n"), std::string::npos) << diff;
    EXPECT_NE(diff.find("+" + m.mutated_line + "\n"), std::string::npos) << diff;
    EXPECT_NE(m.Describe().find("c/adler.c:" + std::to_string(m.site.line) + ": "),
              std::string::npos);
  }
}

}  // namespace
}  // namespace rlvr
