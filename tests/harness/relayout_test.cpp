// Code-layout padding: inserted where it compiles (after the leading directives, inside include
// guards), in C and C++, and it moves code without changing what the program does.
#include "harness/bench/relayout.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/file_text.h"
#include "harness/base/process.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const LayoutPadding kPadding{"k.cpp", 123, 0xabc};

TEST(RelayoutTest, PaddingGoesAfterTheIncludesInsideTheGuard) {
  std::string header =
      "// A header.\n#ifndef K_H\n#define K_H\n\n#include <stddef.h>\n#include \\\n  <stdint.h>\n"
      "\n/* sums */\nstatic inline int sum(int a) { return a; }\n#endif\n";
  std::string padded = WithLayoutPadding(header, kPadding);
  size_t pad = padded.find("code-layout padding abc");
  ASSERT_NE(pad, std::string::npos);
  EXPECT_GT(pad, padded.find("<stdint.h>"));  // after the continued include
  EXPECT_LT(pad, padded.find("/* sums */"));  // before the first code and its comment
  EXPECT_LT(pad, padded.find("#endif"));      // inside the guard
  EXPECT_THAT(padded, HasSubstr(".skip 123"));
  // Everything else is unchanged.
  std::string without = padded;
  size_t start = without.find("/* rlvr: code-layout");
  size_t end = without.find(".popsection\");\n", start) + 15;
  without.erase(start, end - start);
  EXPECT_EQ(without, header);
}

TEST(RelayoutTest, FileWithoutDirectivesIsPaddedAtTheTop) {
  std::string source = "/* licence\n   text */\nint f(void) { return 1; }\n";
  EXPECT_THAT(WithLayoutPadding(source, kPadding), StartsWith("/* rlvr: code-layout"));
  // Code on the line that ends a leading comment ends the leading block there.
  std::string tricky = "#include <a.h>\n/* x */ int g;\n#include <b.h>\n";
  std::string padded = WithLayoutPadding(tricky, kPadding);
  EXPECT_LT(padded.find("code-layout padding"), padded.find("int g"));
  // A last directive without a newline still gets its own line.
  EXPECT_THAT(WithLayoutPadding("#include <a.h>", kPadding), StartsWith("#include <a.h>\n/*"));
}

TEST(RelayoutTest, RandomPaddingsCoverTheRange) {
  std::mt19937_64 rng(7);
  int smallest = kMaxLayoutPaddingBytes, largest = 0;
  for (int i = 0; i < 200; ++i) {
    auto paddings = RandomLayoutPaddings({"a.c", "b.cpp"}, rng);
    ASSERT_EQ(paddings.size(), 2u);
    EXPECT_NE(paddings[0].tag, paddings[1].tag);
    for (const auto& p : paddings) {
      smallest = std::min(smallest, p.bytes);
      largest = std::max(largest, p.bytes);
    }
  }
  EXPECT_GE(smallest, 1);
  EXPECT_LT(smallest, 200);
  EXPECT_LE(largest, kMaxLayoutPaddingBytes);
  EXPECT_GT(largest, kMaxLayoutPaddingBytes - 200);
  EXPECT_EQ(DescribePaddings({{"a.c", 5, 1}, {"b.cpp", 7, 2}}), "a.c +5 B, b.cpp +7 B");
}

// The padded program compiles as C and C++, behaves the same, and its code moved.
TEST(RelayoutTest, PaddedSourcesCompileAndBehaveTheSame) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rlvr_relayout_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string program =
      "#include <stdio.h>\n#include \"k.h\"\nint twice(int x) { return 2 * x; }\n"
      "int main(void) { printf(\"%d %p\\n\", sum3(twice(20)), (void*)&twice); return 0; }\n";
  const std::string header =
      "#pragma once\n#include <stddef.h>\nstatic inline int sum3(int a) { return a + 3; }\n";
  for (const char* compiler : {"cc", "c++"}) {
    std::string out[2];
    for (int padded = 0; padded < 2; ++padded) {
      std::ofstream(dir / "k.h") << (padded ? WithLayoutPadding(header, {"k.h", 300, 1}) : header);
      std::ofstream(dir / "main.c")
          << (padded ? WithLayoutPadding(program, {"main.c", 4000, 2}) : program);
      std::string language = std::string(compiler) == "cc" ? "c" : "c++";
      ProcessResult built =
          RunProcess({compiler, "-O2", "-Wall", "-Werror", "-no-pie", "-x", language,
                      (dir / "main.c").string(), "-o", (dir / "main").string()});
      ASSERT_TRUE(built.ok()) << compiler << ": " << built.err;
      ProcessResult ran = RunProcess({(dir / "main").string()});
      ASSERT_TRUE(ran.ok()) << ran.err;
      out[padded] = ran.out;
    }
    EXPECT_EQ(out[0].substr(0, 3), "43 ");
    EXPECT_EQ(out[1].substr(0, 3), "43 ");
    EXPECT_NE(out[0], out[1]) << compiler << ": the function did not move";
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rlvr
