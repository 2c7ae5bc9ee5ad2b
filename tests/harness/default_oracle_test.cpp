// The default oracle (verify/default_oracle.h) on tests/fixtures/oracle_repo: HEAD built once by
// CMake (and once by its Makefile, compile commands recorded), each candidate a replacement file
// in a copy of the tree. Bugs beyond the repository's small tests must be refused with no oracle
// configured; honest rewrites pass; undrivable signatures are named with their reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "harness/candidate/compile_recorder.h"
#include "harness/verify/default_oracle.h"
#include "harness/verify/drivable_functions.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using fixture_detail::RunShell;
using fixture_detail::ShellQuote;

fs::path Fixture() {
  return fs::path(RLVR_FIXTURES_DIR) / "oracle_repo";
}

class DefaultOracleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("rlvr_default_oracle_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    fs::copy(Fixture(), root_ / "head", fs::copy_options::recursive);
    RunShell("cmake -S " + ShellQuote((root_ / "head").string()) + " -B " +
             ShellQuote((root_ / "head_build").string()) +
             " -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build " +
             ShellQuote((root_ / "head_build").string()) + " > /dev/null");
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  // A copy of HEAD's tree with `file` replaced by candidates/`replacement`.
  static fs::path Candidate(const std::string& file, const std::string& replacement) {
    const fs::path tree = root_ / ("candidate_" + replacement);
    fs::remove_all(tree);
    fs::copy(Fixture(), tree, fs::copy_options::recursive);
    fs::copy_file(Fixture() / "candidates" / replacement, tree / file,
                  fs::copy_options::overwrite_existing);
    return tree;
  }

  static DefaultOracleRun Run(const std::string& file, const std::string& replacement) {
    DefaultOracleInputs in;
    in.head_tree = root_ / "head";
    in.candidate_tree = Candidate(file, replacement);
    in.compile_db_dir = root_ / "head_build";
    in.compile_db_tree = root_ / "head";
    in.object_roots = {root_ / "head_build"};
    in.edited_files = {file};
    in.work_dir = root_ / ("work_" + replacement);
    in.seed = 12345;
    in.seconds_per_function = 4;
    return RunDefaultOracle(in);
  }

  static inline fs::path root_;
};

TEST_F(DefaultOracleTest, RefusesAdlerWithoutItsModulo) {
  DefaultOracleRun run = Run("kern/checksum.c", "no_modulo.c");
  EXPECT_FALSE(run.ok) << run.message;
  EXPECT_NE(run.message.find("kern_adler32 differs from HEAD's"), std::string::npos) << run.message;
}

// The first differing length must be past 1 MiB: the oracle reaches sizes far beyond the tests'.
TEST_F(DefaultOracleTest, RefusesABugOnlyPastOneMebibyte) {
  DefaultOracleRun run = Run("kern/checksum.c", "wrong_past_1mib.c");
  ASSERT_FALSE(run.ok) << run.message;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.message, m, std::regex("length (\\d+)"))) << run.message;
  EXPECT_GT(std::stoull(m[1]), 1u << 20) << run.message;
}

// A dodge: right at the round sizes a fixed test list would use, wrong at any other large one.
TEST_F(DefaultOracleTest, RefusesABugOnlyAtLargeLengthsThatAreNoPowerOfTwo) {
  DefaultOracleRun run = Run("kern/checksum.c", "wrong_odd_large.c");
  EXPECT_FALSE(run.ok) << run.message;
  EXPECT_NE(run.message.find("kern_adler32"), std::string::npos) << run.message;
}

TEST_F(DefaultOracleTest, PassesAnHonestRewriteThroughItsPublicCaller) {
  DefaultOracleRun run = Run("kern/checksum.c", "honest.c");
  EXPECT_TRUE(run.ok) << run.message << "\n" << run.detail;
  EXPECT_EQ(run.driven, 1) << run.message;
  // The static helper changed; the external function reaching it is what was driven, to 32 MiB.
  EXPECT_NE(run.message.find("kern_adler32 on "), std::string::npos) << run.message;
  EXPECT_NE(run.message.find("(32 MiB)"), std::string::npos) << run.message;
}

// Its start is a parameter named like a running value: 0, 1 and valid random starts, never
// 0xFFFFFFFF, where this rewrite (no reduction of the start) and HEAD legitimately differ.
TEST_F(DefaultOracleTest, PassesARewriteThatAssumesAValidStartingValue) {
  DefaultOracleRun run = Run("kern/checksum.c", "assumes_valid_start.c");
  EXPECT_TRUE(run.ok) << run.message << "\n" << run.detail;
  EXPECT_EQ(run.driven, 1) << run.message;
}

TEST_F(DefaultOracleTest, PassesAReorderedFloatSumWithinTolerance) {
  DefaultOracleRun run = Run("kern/fsum.c", "fsum_reordered.c");
  EXPECT_TRUE(run.ok) << run.message << "\n" << run.detail;
  EXPECT_NE(run.message.find("kern_fsum on "), std::string::npos) << run.message;
  // n = 2^23 floats, where a sequential float sum drifts furthest from a blocked one.
  EXPECT_NE(run.message.find("(32 MiB)"), std::string::npos) << run.message;
  // kern_scale did not change: not driven.
  EXPECT_EQ(run.message.find("kern_scale"), std::string::npos) << run.message;
}

TEST_F(DefaultOracleTest, RefusesAFloatSumThatDropsItsTail) {
  DefaultOracleRun run = Run("kern/fsum.c", "fsum_drops_tail.c");
  EXPECT_FALSE(run.ok) << run.message;
  EXPECT_NE(run.message.find("kern_fsum differs from HEAD's"), std::string::npos) << run.message;
  EXPECT_NE(run.message.find(": returned "), std::string::npos) << run.message;
}

TEST_F(DefaultOracleTest, NamesAStructPointerParameterAsTheReasonItCannotDrive) {
  DefaultOracleRun run = Run("kern/stream.c", "stream_faster.c");
  EXPECT_TRUE(run.ok) << run.message;
  EXPECT_EQ(run.driven, 0);
  EXPECT_NE(run.message.find("no default oracle: kern_stream_update: parameter `struct "
                             "kern_stream* s` is a struct pointer"),
            std::string::npos)
      << run.message;
}

// `rlvr check`'s list: the external functions of the editable files, drivable or not and why;
// never the inline functions of system headers (atoi, intrinsics).
TEST_F(DefaultOracleTest, ListsWhatItCouldDriveInHeadsFiles) {
  DrivableFunctions list =
      ListDrivableFunctions(root_ / "head_build", root_ / "head",
                            {"kern/checksum.c", "kern/fsum.c", "kern/stream.c"}, 60);
  const std::string text = DescribeDrivable(list);
  EXPECT_EQ(list.driven, (std::vector<std::string>{"kern_adler32", "kern_fsum", "kern_scale"}))
      << text;
  ASSERT_EQ(list.not_driven.size(), 1u) << text;
  EXPECT_EQ(list.not_driven[0],
            "kern_stream_update: parameter `struct kern_stream* s` is a struct pointer");
  EXPECT_NE(text.find("drives 3 (kern_adler32, kern_fsum, kern_scale)"), std::string::npos) << text;
}

// A Makefile build: its compile commands recorded (candidate/compile_recorder.h), HEAD's objects
// from that recorded build.
TEST_F(DefaultOracleTest, RefusesAdlerWithoutItsModuloInAMakefileBuild) {
  const fs::path tree = root_ / "make_tree", build = root_ / "make_build";
  fs::remove_all(tree);
  fs::copy(Fixture(), tree, fs::copy_options::recursive);
  BuildConfig config;
  config.command = {"make", "BUILD={build_dir}"};
  RecordedCompiles recorded = RecordCompileCommands(config, tree, build, 2, 120);
  ASSERT_TRUE(recorded.ok) << recorded.message;
  DefaultOracleInputs in;
  in.head_tree = tree;
  in.candidate_tree = Candidate("kern/checksum.c", "no_modulo.c");
  in.compile_db_dir = build;
  in.compile_db_tree = tree;
  in.object_roots = {build, tree};
  in.edited_files = {"kern/checksum.c"};
  in.work_dir = root_ / "work_make";
  in.seed = 7;
  in.seconds_per_function = 4;
  DefaultOracleRun run = RunDefaultOracle(in);
  EXPECT_FALSE(run.ok) << run.message;
  EXPECT_NE(run.message.find("kern_adler32 differs from HEAD's"), std::string::npos) << run.message;
  in.candidate_tree = Candidate("kern/checksum.c", "honest.c");
  run = RunDefaultOracle(in);
  EXPECT_TRUE(run.ok) << run.message << "\n" << run.detail;
  EXPECT_EQ(run.driven, 1) << run.message;
}

}  // namespace
}  // namespace rlvr
