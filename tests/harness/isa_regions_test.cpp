// IsaConditionalLines and friends: which lines sit behind an instruction-set #if, so an edit
// there (never compiled on this machine) is known to be untested.
#include "harness/verify/isa_regions.h"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/patch/diff.h"
#include "tests/harness/patch_test_util.h"

namespace rlvr {
namespace {

// The 1-based numbers of the flagged lines.
std::vector<int> Flagged(std::string_view text) {
  std::vector<bool> flags = IsaConditionalLines(text);
  std::vector<int> out;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (flags[i]) out.push_back(static_cast<int>(i) + 1);
  }
  return out;
}

// The 1-based number of the only line of `text` that contains `needle`.
int LineOf(std::string_view text, std::string_view needle) {
  int found = 0, line = 1;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (text.substr(start, end - start).find(needle) != std::string_view::npos) {
      EXPECT_EQ(found, 0) << "'" << needle << "' is on more than one line";
      found = line;
    }
    start = end + 1;
    ++line;
  }
  EXPECT_NE(found, 0) << "'" << needle << "' is on no line";
  return found;
}

TEST(IsaRegions, RecognisesInstructionSetMacros) {
  for (const char* macro : {"__AVX__",
                            "__AVX2__",
                            "__AVX512F__",
                            "__AVX512VNNI__",
                            "__AVX512BF16__",
                            "__AVXVNNI__",
                            "__SSE__",
                            "__SSE4_1__",
                            "__SSSE3__",
                            "__FMA__",
                            "__F16C__",
                            "__BMI2__",
                            "__POPCNT__",
                            "__ARM_NEON",
                            "__ARM_NEON__",
                            "__ARM_FEATURE_SVE",
                            "__ARM_FEATURE_DOTPROD",
                            "__aarch64__",
                            "__x86_64__",
                            "__riscv_vector",
                            "__AMX_TILE__",
                            "_M_X64"}) {
    EXPECT_TRUE(IsIsaMacro(macro)) << macro;
  }
  for (const char* other : {"__GNUC__", "NDEBUG", "__cplusplus", "AVX2", "__linux__", "_MSC_VER",
                            "RLVR_SANITIZE", "__has_include", "defined"}) {
    EXPECT_FALSE(IsIsaMacro(other)) << other;
  }
}

TEST(IsaRegions, EveryBranchOfAnIsaConditionalButNotItsDirectives) {
  const std::string text =
      "int a;\n"                    // 1
      "#if defined(__AVX512F__)\n"  // 2
      "int fast;\n"                 // 3
      "#elif defined(__AVX2__)\n"   // 4
      "int medium;\n"               // 5
      "#else\n"                     // 6
      "int portable;\n"             // 7
      "#endif\n"                    // 8
      "int b;\n";                   // 9
  EXPECT_EQ(Flagged(text), (std::vector<int>{3, 5, 7}));
  EXPECT_EQ(IsaConditionalLines(text).size(), 9u);
}

TEST(IsaRegions, IfdefIfndefAndPlainConditions) {
  EXPECT_EQ(Flagged("#ifdef __ARM_NEON\nneon();\n#endif\nafter();\n"), std::vector<int>{2});
  EXPECT_EQ(Flagged("#ifndef __AVX2__\nscalar();\n#else\nvector();\n#endif\n"),
            (std::vector<int>{2, 4}));
  EXPECT_EQ(Flagged("#if __riscv_vector && __GNUC__ > 9\nrvv();\n#endif\n"), std::vector<int>{2});
  EXPECT_EQ(Flagged("#ifdef NDEBUG\nquiet();\n#else\nloud();\n#endif\n"), std::vector<int>{});
  EXPECT_EQ(Flagged("#if 0\ndead();\n#endif\n"), std::vector<int>{});
}

TEST(IsaRegions, BranchesBeforeTheFirstIsaConditionAreNotIsaDependent) {
  const std::string text =
      "#if defined(RLVR_FORCE_SCALAR)\n"  // 1
      "scalar();\n"                       // 2: compiled or not by RLVR_FORCE_SCALAR alone
      "#elif defined(__AVX2__)\n"         // 3
      "avx2();\n"                         // 4
      "#else\n"                           // 5
      "portable();\n"                     // 6
      "#endif\n";
  EXPECT_EQ(Flagged(text), (std::vector<int>{4, 6}));
}

TEST(IsaRegions, NestingInsideAndAroundIsaConditionals) {
  const std::string text =
      "#ifndef KERNEL_H\n"                                      // 1
      "#define KERNEL_H\n"                                      // 2
      "#if defined(__AVX2__)\n"                                 // 3
      "#if defined(__AVX512VNNI__) && defined(__AVX512VL__)\n"  // 4
      "vnni();\n"                                               // 5
      "#else\n"                                                 // 6
      "madd();\n"                                               // 7
      "#endif\n"                                                // 8
      "#ifdef NDEBUG\n"                                         // 9
      "release();\n"                                            // 10
      "#endif\n"                                                // 11
      "#endif\n"                                                // 12
      "common();\n"                                             // 13
      "#endif\n";                                               // 14
  // The inner conditionals' own directives (4, 6, 8, 9, 11) are inside the AVX2 region.
  EXPECT_EQ(Flagged(text), (std::vector<int>{4, 5, 6, 7, 8, 9, 10, 11}));
}

TEST(IsaRegions, MacrosDerivedFromIsaMacros) {
  const std::string text =
      "#if defined(__AVX512F__)\n"          // 1
      "#define HAS_512 1\n"                 // 2
      "#endif\n"                            // 3
      "#define WIDTH (__AVX2__ ? 8 : 1)\n"  // 4: its body names an ISA macro
      "#define LANES WIDTH\n"               // 5: derived from a derived macro
      "#define PLAIN 4\n"                   // 6
      "#if HAS_512\n"                       // 7
      "wide();\n"                           // 8
      "#endif\n"                            // 9
      "#ifdef HAS_512\n"                    // 10
      "wide2();\n"                          // 11
      "#endif\n"                            // 12
      "#if LANES > 4\n"                     // 13
      "lanes();\n"                          // 14
      "#endif\n"                            // 15
      "#if PLAIN > 2\n"                     // 16
      "plain();\n"                          // 17
      "#endif\n";                           // 18
  EXPECT_EQ(Flagged(text), (std::vector<int>{2, 8, 11, 14}));
}

TEST(IsaRegions, ContinuationLinesAndCommentsInDirectives) {
  const std::string text =
      "#if defined(RLVR_X) || \\\n"               // 1
      "    defined(__AVX2__)\n"                   // 2
      "a();\n"                                    // 3
      "#endif\n"                                  // 4
      "#if defined(RLVR_Y) /* not __AVX2__ */\n"  // 5: the ISA macro is only in a comment
      "b();\n"                                    // 6
      "#endif\n"                                  // 7
      "#if defined(RLVR_Z) /* a comment that\n"   // 8
      "   goes on */ && defined(__FMA__)\n"       // 9: still the #if's condition
      "c();\n"                                    // 10
      "#endif // __FMA__\n"                       // 11
      "#if 1 // __SSE2__\n"                       // 12
      "d();\n"                                    // 13
      "#endif\n";                                 // 14
  EXPECT_EQ(Flagged(text), (std::vector<int>{3, 10}));
}

TEST(IsaRegions, DirectivesInCommentsAndLiteralsAreNotDirectives) {
  const std::string text =
      "/*\n"                                 // 1
      "#if defined(__AVX2__)\n"              // 2: inside a comment
      "*/\n"                                 // 3
      "const char* s = \"#if __AVX2__\";\n"  // 4
      "const char* r = R\"x(\n"              // 5
      "#ifdef __AVX2__\n"                    // 6: inside a raw string
      ")x\";\n"                              // 7
      "int n = 1'000'000; char q = '\"';\n"  // 8: digit separators, a quote in a char
      "#ifdef __SSE2__\n"                    // 9
      "sse();\n"                             // 10
      "#endif\n"                             // 11
      "done();\n";                           // 12
  EXPECT_EQ(Flagged(text), std::vector<int>{10});
}

TEST(IsaRegions, CrlfUnterminatedAndStrayDirectives) {
  EXPECT_EQ(Flagged("#ifdef __AVX2__\r\nx();\r\n#endif\r\ny();\r\n"), std::vector<int>{2});
  EXPECT_EQ(Flagged("#endif\n#else\nz();\n#ifdef __AVX2__\nx();\ny();"), (std::vector<int>{5, 6}));
  EXPECT_TRUE(IsaConditionalLines("").empty());
  EXPECT_EQ(IsaConditionalLines("a\nb").size(), 2u);
  EXPECT_EQ(IsaConditionalLines("a\nb\n").size(), 2u);
}

// The repository's own quantized mat-vec: DotRow exists twice, an AVX2+F16C one and a portable
// one in the #else; each is compiled on only some machines.
TEST(IsaRegions, QuantKernelOfThisRepository) {
  std::string text = ReadBytes(std::filesystem::path(RLVR_SOURCE_DIR) / "kernels/quant.cpp");
  ASSERT_FALSE(text.empty());
  std::vector<bool> flags = IsaConditionalLines(text);
  int vector_line = LineOf(text, "acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(products), acc)");
  int portable_line =
      LineOf(text, "sum += HalfToFloat(w[b].d) * HalfToFloat(x[b].d) * static_cast<float>(");
  int portable_block =
      LineOf(text, "for (int j = 0; j < kQuantBlock; ++j) sum += w.qs[j] * x.qs[j]");
  int outside = LineOf(text, "uint32_t bits = std::bit_cast<uint32_t>(f);");
  int job = LineOf(text, "struct MatVecJob {");
  EXPECT_TRUE(flags[vector_line - 1]);
  EXPECT_TRUE(flags[portable_line - 1]);
  EXPECT_TRUE(flags[portable_block - 1]);
  EXPECT_FALSE(flags[outside - 1]);
  EXPECT_FALSE(flags[job - 1]);
}

const char* kBefore =
    "int a;\n"
    "#if defined(__AVX2__)\n"
    "int v = 8;\n"
    "int w = 8;\n"
    "#else\n"
    "int v = 1;\n"
    "#endif\n"
    "int b;\n";
const char* kAfter =
    "int a2;\n"
    "#if defined(__AVX2__)\n"
    "int v = 16;\n"
    "#else\n"
    "int v = 1;\n"
    "int extra = 0;\n"
    "#endif\n"
    "int b;\n";

TEST(IsaRegions, ChangedAndDeletedLinesOfADiff) {
  std::string diff = GitDiff({{"k/x.cpp", kBefore, kAfter}});
  // Added: "int a2;" (1, outside), "int v = 16;" (3), "int extra = 0;" (6).
  EXPECT_EQ(IsaConditionalChangedLines(kAfter, diff), (std::vector<int>{3, 6}));
  // Removed: "int a;" (1, outside), "int v = 8;" (3) and "int w = 8;" (4).
  EXPECT_EQ(IsaConditionalDeletedLines(kBefore, diff), (std::vector<int>{3, 4}));
  EXPECT_EQ(IsaConditionalChangedLines(kAfter, diff, "k/x.cpp"), (std::vector<int>{3, 6}));
  EXPECT_EQ(IsaConditionalChangedLines(kAfter, diff, "b/k/x.cpp"), (std::vector<int>{3, 6}));
  EXPECT_TRUE(IsaConditionalChangedLines(kAfter, diff, "k/other.cpp").empty());
  EXPECT_TRUE(IsaConditionalChangedLines(kAfter, "").empty());
}

TEST(IsaRegions, DiffOfSeveralFilesNeedsAPath) {
  std::string diff = GitDiff({{"k/x.cpp", kBefore, kAfter}, {"k/y.cpp", "int y;\n", "int z;\n"}});
  EXPECT_THROW(IsaConditionalChangedLines(kAfter, diff), std::invalid_argument);
  EXPECT_EQ(IsaConditionalChangedLines(kAfter, diff, "k/x.cpp"), (std::vector<int>{3, 6}));
  EXPECT_TRUE(IsaConditionalChangedLines("int z;\n", diff, "k/y.cpp").empty());
}

TEST(IsaRegions, DiffThatIsNotOfTheTextIsAnError) {
  std::string diff = GitDiff({{"k/x.cpp", kBefore, kAfter}});
  EXPECT_THROW(IsaConditionalChangedLines(kBefore, diff), std::invalid_argument);
  EXPECT_THROW(IsaConditionalDeletedLines(kAfter, diff), std::invalid_argument);
  EXPECT_THROW(IsaConditionalChangedLines(kAfter, "--- a/x\n+++ b/x\n@@\n a\n-b\n+c\n"),
               std::invalid_argument);  // no line numbers
  EXPECT_THROW(IsaConditionalChangedLines(kAfter, "just prose"), std::invalid_argument);
}

TEST(IsaRegions, NewFileDiff) {
  std::string diff = GitDiff({{"k/n.cpp", std::nullopt, kAfter}});
  EXPECT_EQ(IsaConditionalChangedLines(kAfter, diff), (std::vector<int>{3, 5, 6}));
  EXPECT_TRUE(IsaConditionalDeletedLines("", diff).empty());
}

}  // namespace
}  // namespace rlvr
