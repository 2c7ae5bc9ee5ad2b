// Which instruction-set levels the portable gate builds at (harness/verify/isa_levels.h), and the
// preprocessor's answer to which of them compile an edited line.
#include "harness/verify/isa_levels.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(IsaLevels, HigherX86LevelsAreDerivedFromPortableArgs) {
  BuildConfig build;
  EXPECT_THAT(IsaLevelsOf(build), IsEmpty());
  build.portable_args = {"-DRLVR_NATIVE=OFF", "-DCMAKE_CXX_FLAGS=-O2 -march=x86-64-v2"};
  std::vector<IsaLevel> levels = IsaLevelsOf(build);
  ASSERT_EQ(levels.size(), 3u);
  EXPECT_EQ(levels[0].name, "x86-64-v2");
  EXPECT_EQ(levels[1].name, "x86-64-v3");
  EXPECT_EQ(levels[2].name, "x86-64-v4");
  EXPECT_THAT(levels[1].configure_args,
              ElementsAre("-DRLVR_NATIVE=OFF", "-DCMAKE_CXX_FLAGS=-O2 -march=x86-64-v3"));
  EXPECT_EQ(levels[2].march, "x86-64-v4");
  // Arguments that name no x86-64 level are one level, as given.
  build.portable_args = {"-DPORTABLE=ON"};
  levels = IsaLevelsOf(build);
  ASSERT_EQ(levels.size(), 1u);
  EXPECT_EQ(levels[0].name, "portable");
  EXPECT_TRUE(levels[0].runnable);
}

TEST(IsaLevels, TheBaselineLevelsRunEverywhere) {
  EXPECT_TRUE(MachineRuns("x86-64"));
#if defined(__AVX2__)
  EXPECT_TRUE(MachineRuns("x86-64-v3"));  // this test binary itself uses AVX2
#endif
}

TEST(IsaLevels, LinesWithCodeSkipCommentsAndBlanks) {
  EXPECT_THAT(LinesWithCode("int a;\n\n// note\n/* a\n b */ int c;\n  x(); /* y */\n"),
              ElementsAre(true, false, false, false, false, true));
}

class PreprocessorProbe : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rlvr-isa-probe-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    file_ = dir_ / "k.c";
    std::ofstream(file_) << text_;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::set<int> Kept(const std::string& march) {
    return LinesKeptByPreprocessor(text_, file_, {3, 5, 7, 9, 10}, Words(march), file_, dir_);
  }
  std::vector<std::string> Words(const std::string& march) {
    return {"cc", "-O2", "-march=" + march, "-o", "k.o", "-c", file_.string()};
  }
  const std::string text_ =
      "int f(int x) {\n"             // 1
      "#if defined(__AVX512F__)\n"   // 2
      "  return x + 512;\n"          // 3
      "#elif defined(__AVX2__)\n"    // 4
      "  return x + 2;\n"            // 5
      "#elif defined(__ARM_NEON)\n"  // 6
      "  return x + 1;\n"            // 7
      "#else\n"                      // 8
      "  return x\n"                 // 9
      "      + 0;\n"                 // 10
      "#endif\n"                     // 11
      "}\n";
  fs::path dir_, file_;
};

TEST_F(PreprocessorProbe, EachLevelKeepsItsOwnBranch) {
  EXPECT_EQ(Kept("x86-64-v2"), (std::set<int>{9, 10}));
  EXPECT_EQ(Kept("x86-64-v3"), (std::set<int>{5}));
  EXPECT_EQ(Kept("x86-64-v4"), (std::set<int>{3}));
  // No probe is left beside the file.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST_F(PreprocessorProbe, APreprocessorFailureThrows) {
  std::vector<std::string> words = Words("x86-64-v2");
  words.push_back("-include");
  words.push_back("no-such-header.h");
  EXPECT_THROW(LinesKeptByPreprocessor(text_, file_, {3}, words, file_, dir_), std::runtime_error);
}

}  // namespace
}  // namespace rlvr
