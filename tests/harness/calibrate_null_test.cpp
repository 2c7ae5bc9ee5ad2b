// `rlvr calibrate --null-patches` end to end on the fixture repository (tests/fixtures/tiny_repo):
// every trial compares HEAD with HEAD rebuilt under a new random code layout, and the report
// gives the null-patch error rates and each benchmark's layout noise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// `rlvr calibrate --null-patches` with `args` in `repo`.
ProcessResult CalibrateNullPatches(const FixtureRepo& repo, std::vector<std::string> args) {
  RunOptions options;
  options.cwd = repo.path();
  options.limits.wall_seconds = 600;
  args.insert(args.begin(), {RLVR_BINARY, "calibrate", "--null-patches"});
  return RunProcess(args, options);
}

TEST(CalibrateNullPatchTest, ComparesHeadWithReLaidOutHead) {
  FixtureRepo repo = MakeFixtureRepo();
  ProcessResult r =
      CalibrateNullPatches(repo, {"--trials", "2", "--rounds", "6", "--resamples", "0"});
  ASSERT_TRUE(r.ok()) << r.Describe() << "\n" << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("null patches: each trial compares HEAD with HEAD re-laid-out"));
  EXPECT_THAT(r.out, HasSubstr("real null-patch trials (6 rounds each"));
  EXPECT_THAT(r.out, HasSubstr("false-promotion rate: "));
  EXPECT_THAT(r.out, HasSubstr("false rejections (refused for a regression"));
  EXPECT_THAT(r.out,
              HasSubstr("false rejections after the gate's re-measurement under 3 other layouts"));
  EXPECT_THAT(r.out, HasSubstr("layout noise per benchmark"));
  EXPECT_THAT(r.out, HasSubstr("BM_Dot/256"));
  EXPECT_THAT(r.out, HasSubstr("BM_Dot/4096"));
  // Each trial names its layout: a padding of the editable file.
  EXPECT_THAT(r.err, HasSubstr("trial 1/2"));
  EXPECT_THAT(r.err, HasSubstr("(layout: kernel/dot.cpp +"));
  // The user's tree is untouched: the padding lives in a scratch worktree.
  EXPECT_EQ(repo.Git("status --porcelain"), "");
  EXPECT_THAT(ReadFileText(repo.path() / "kernel/dot.cpp"), Not(HasSubstr("code-layout padding")));

  // --bench cannot be re-laid-out: refused with the reason.
  ProcessResult refused = CalibrateNullPatches(repo, {"--bench", "/bin/true", "--trials", "1"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("--null-patches builds HEAD itself"));
}

// A Makefile-built, header-only repository measured by its own benchmark command: HEAD and the
// re-laid-out HEAD are built by build.command and measured by the bench_command.
TEST(CalibrateNullPatchTest, WorksOnACommandBuiltRepository) {
  FixtureRepo repo = MakeCommandRepo();
  ProcessResult r =
      CalibrateNullPatches(repo, {"--trials", "1", "--rounds", "4", "--resamples", "0"});
  ASSERT_TRUE(r.ok()) << r.Describe() << "\n" << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("building the repository at"));
  EXPECT_THAT(r.err, HasSubstr("(layout: include/vsum.h +"));
  EXPECT_THAT(r.out, HasSubstr("vs_dot_f32/65536"));
  EXPECT_EQ(repo.Git("status --porcelain"), "");
}

}  // namespace
}  // namespace rlvr
