// Candidate processes write only in their own trees (base/write_confinement.h): the attack is a
// test or benchmark that rewrites HEAD's benchmark program (so HEAD looks slower), the ledger or
// .git. Where the kernel has no Landlock the tests say so and check the status line instead.
#include "harness/base/write_confinement.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/process.h"
#include "harness/candidate/run.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct TempTree {
  fs::path root;
  TempTree() {
    std::string pattern = (fs::temp_directory_path() / "rlvr-confine-XXXXXX").string();
    root = mkdtemp(pattern.data());
    fs::create_directories(root / "candidate" / "build");
    fs::create_directories(root / "baseline" / "build");
    std::ofstream(root / "baseline" / "build" / "bench") << "HEAD's program\n";
  }
  ~TempTree() { fs::remove_all(root); }
};

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

ProcessResult RunConfined(const TempTree& tree, const std::string& script) {
  RunOptions options;
  options.cwd = tree.root / "candidate";
  options.limits = CandidateLimits(30, false);
  return RunProcess({"/bin/sh", "-c", script}, options);
}

TEST(WriteConfinement, StatusSaysWhetherWritesAreConfined) {
  const std::string status = WriteConfinementStatus();
  if (WriteConfinementAvailable()) {
    EXPECT_THAT(status, HasSubstr("confined to their own trees (Landlock ABI"));
  } else {
    EXPECT_THAT(status, HasSubstr("NOT confined"));
  }
}

TEST(WriteConfinement, ACandidateCannotRewriteHeadsBuild) {
  if (!WriteConfinementAvailable()) GTEST_SKIP() << WriteConfinementStatus();
  TempTree tree;
  const fs::path head_program = tree.root / "baseline" / "build" / "bench";
  ProcessResult run =
      RunConfined(tree, "echo 'sleep 1' > '" + head_program.string() + "'; echo status=$?; " +
                            "rm -f '" + head_program.string() + "'; mv '" + head_program.string() +
                            "' ./stolen; ln -s /x '" + (tree.root / "baseline" / "link").string() +
                            "'; exit 0");
  EXPECT_TRUE(run.ok()) << run.Describe() << run.err;
  EXPECT_THAT(run.out, HasSubstr("status=")) << "the script ran";
  EXPECT_THAT(run.out, ::testing::Not(HasSubstr("status=0")));
  EXPECT_EQ(ReadAll(head_program), "HEAD's program\n");
  EXPECT_FALSE(fs::exists(tree.root / "candidate" / "stolen"));
  EXPECT_FALSE(fs::is_symlink(tree.root / "baseline" / "link"));
}

TEST(WriteConfinement, ItsOwnTreeAndAPrivateTmpdirStayWritable) {
  if (!WriteConfinementAvailable()) GTEST_SKIP() << WriteConfinementStatus();
  TempTree tree;
  ProcessResult run =
      RunConfined(tree,
                  "set -e; echo a > out.txt; mkdir -p sub && mv out.txt sub/moved.txt; "
                  "echo b > \"$TMPDIR/t\"; cat \"$TMPDIR/t\"; echo $TMPDIR; echo x > /dev/null");
  ASSERT_TRUE(run.ok()) << run.Describe() << run.err;
  EXPECT_EQ(ReadAll(tree.root / "candidate" / "sub" / "moved.txt"), "a\n");
  // The private TMPDIR is gone after the run, and was not the shared /tmp.
  const std::string tmpdir = run.out.substr(run.out.find('\n') + 1);
  const fs::path used = tmpdir.substr(0, tmpdir.find('\n'));
  EXPECT_THAT(used.filename().string(), HasSubstr("rlvr-run-"));
  EXPECT_FALSE(fs::exists(used));
}

TEST(WriteConfinement, TheSharedTmpIsOffLimits) {
  if (!WriteConfinementAvailable()) GTEST_SKIP() << WriteConfinementStatus();
  TempTree tree;
  const fs::path outside =
      fs::temp_directory_path() / ("rlvr-confine-probe-" + std::to_string(getpid()));
  ProcessResult run = RunConfined(tree, "echo x > '" + outside.string() + "'");
  EXPECT_FALSE(run.ok());
  EXPECT_FALSE(fs::exists(outside));
  fs::remove(outside);
}

TEST(WriteConfinement, TestCommandsMayWriteTheirBuildDirectory) {
  if (!WriteConfinementAvailable()) GTEST_SKIP() << WriteConfinementStatus();
  TempTree tree;
  TestCommand test;
  test.name = "writes";
  test.command = {"/bin/sh", "-c", "echo ok > {build_dir}/result"};
  TestRunResult run = RunTestCommand(test, tree.root / "candidate",
                                     tree.root / "candidate" / "build", std::nullopt, 30, false);
  EXPECT_TRUE(run.ok) << run.message << run.detail;
  EXPECT_EQ(ReadAll(tree.root / "candidate" / "build" / "result"), "ok\n");
  TestCommand escape = test;
  escape.command = {"/bin/sh", "-c",
                    "echo bad > " + (tree.root / "baseline" / "build" / "bench").string()};
  TestRunResult refused = RunTestCommand(
      escape, tree.root / "candidate", tree.root / "candidate" / "build", std::nullopt, 30, false);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(ReadAll(tree.root / "baseline" / "build" / "bench"), "HEAD's program\n");
}

// Landlock checks writes when a file is opened: a descriptor rlvr holds open (the ledger's
// database, the guard's socket) would bypass it if the child inherited it.
TEST(WriteConfinement, TheChildInheritsNoDescriptorButItsStreams) {
  TempTree tree;
  ProcessResult run = RunConfined(tree, "cd /proc/self/fd && echo *");
  ASSERT_TRUE(run.ok()) << run.Describe() << run.err;
  // The shell's own directory descriptor for the glob may show as one more number.
  std::istringstream words(run.out);
  std::vector<int> fds;
  for (std::string word; words >> word;) fds.push_back(std::stoi(word));
  for (int fd : fds) EXPECT_LE(fd, 3) << run.out;
}

}  // namespace
}  // namespace rlvr
