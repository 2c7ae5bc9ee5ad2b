#include "harness/git/worktree.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(WorktreeTest, CreatesResetsAndLeavesTheUserTreeAlone) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string head = HeadCommit(repo.path());
  EXPECT_EQ(head, repo.Head());
  fs::path state = repo.path() / ".rlvr";
  fs::path tree = PrepareWorktree(repo.path(), state, "candidate", head);
  EXPECT_EQ(tree, fs::absolute(state / "worktrees" / "candidate"));
  EXPECT_EQ(Read(tree / "kernel/dot.cpp"), Read(repo.path() / "kernel/dot.cpp"));
  EXPECT_EQ(Read(state / ".gitignore"), "*\n");

  // A candidate's leftovers: an edit, a new file, a new directory.
  std::string original = Read(tree / "kernel/dot.cpp");
  Write(tree / "kernel/dot.cpp", "garbage");
  Write(tree / "kernel/extra.cpp", "new");
  Write(tree / "junk/deep/file.txt", "x");
  fs::path again = PrepareWorktree(repo.path(), state, "candidate", head);
  EXPECT_EQ(again, tree);
  EXPECT_EQ(Read(tree / "kernel/dot.cpp"), original);
  EXPECT_FALSE(fs::exists(tree / "kernel/extra.cpp"));
  EXPECT_FALSE(fs::exists(tree / "junk/deep/file.txt"));

  // The user's repository: same branch list, clean status, HEAD unchanged.
  EXPECT_EQ(repo.Git("branch --format='%(refname:short)'"), "main\n");
  EXPECT_EQ(repo.Git("status --porcelain"), "");
  EXPECT_EQ(repo.Head(), head);
}

TEST(WorktreeTest, FollowsANewCommitAndSurvivesDeletion) {
  FixtureRepo repo = MakeFixtureRepo();
  fs::path state = repo.path() / ".rlvr";
  PrepareWorktree(repo.path(), state, "candidate", repo.Head());
  Write(repo.path() / "kernel/dot.cpp", "// changed\n");
  repo.Git("commit -q -am change");
  fs::path tree = PrepareWorktree(repo.path(), state, "candidate", repo.Head());
  EXPECT_EQ(Read(tree / "kernel/dot.cpp"), "// changed\n");
  // Deleted by hand: recreated (the stale registration is pruned).
  fs::remove_all(tree);
  tree = PrepareWorktree(repo.path(), state, "candidate", repo.Head());
  EXPECT_EQ(Read(tree / "kernel/dot.cpp"), "// changed\n");
  EXPECT_EQ(repo.Git("branch --format='%(refname:short)'"), "main\n");
}

// A loop SIGKILLed while libgit2 rewrote the worktree's index leaves index.lock behind (seen in
// CI: every later loop stopped with "the index is locked", a machine fault for ever).
TEST(WorktreeTest, ALockLeftByAKilledProcessDoesNotBlockTheNextReset) {
  FixtureRepo repo = MakeFixtureRepo();
  fs::path state = repo.path() / ".rlvr";
  fs::path tree = PrepareWorktree(repo.path(), state, "baseline", repo.Head());
  fs::path gitdir = repo.path() / ".git" / "worktrees" / "rlvr-baseline";
  ASSERT_TRUE(fs::is_directory(gitdir));
  Write(gitdir / "index.lock", "");
  Write(gitdir / "HEAD.lock", "");
  Write(repo.path() / ".git" / "index.lock", "");  // the user's own: not rlvr's to remove
  Write(tree / "kernel/dot.cpp", "garbage");
  tree = PrepareWorktree(repo.path(), state, "baseline", repo.Head());
  EXPECT_EQ(Read(tree / "kernel/dot.cpp"), Read(repo.path() / "kernel/dot.cpp"));
  EXPECT_FALSE(fs::exists(gitdir / "index.lock"));
  EXPECT_FALSE(fs::exists(gitdir / "HEAD.lock"));
  EXPECT_TRUE(fs::exists(repo.path() / ".git" / "index.lock"));
}

TEST(WorktreeTest, DirtyPathsSeesModifiedStagedAndUntracked) {
  FixtureRepo repo = MakeFixtureRepo();
  EXPECT_THAT(DirtyPaths(repo.path(), {"kernel/dot.cpp", "baselines/dot.json"}), IsEmpty());
  Write(repo.path() / "kernel/dot.cpp", "// edited\n");
  Write(repo.path() / "baselines/dot.json", "{}");
  EXPECT_THAT(DirtyPaths(repo.path(), {"kernel/dot.cpp", "baselines/dot.json", "kernel/dot.h"}),
              ElementsAre("kernel/dot.cpp", "baselines/dot.json"));
  repo.Git("add kernel/dot.cpp");
  EXPECT_THAT(DirtyPaths(repo.path(), {"kernel/dot.cpp"}), ElementsAre("kernel/dot.cpp"));
}

TEST(WorktreeTest, NotARepositoryIsAClearError) {
  EXPECT_THROW(HeadCommit("/nonexistent-rlvr-dir"), GitError);
}

}  // namespace
}  // namespace rlvr
