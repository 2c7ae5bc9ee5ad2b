// ApplyReply behaviours beyond the corpus: all-or-nothing writes, symlink and size refusals,
// dry runs, line-end preservation, refusal messages; and `rlvr apply` end to end on a git repo.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "harness/patch/apply.h"
#include "tests/harness/patch_test_util.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

const char* kFile =
    "int add(int a, int b) {\n  return a + b;\n}\n\nint sub(int a, int b) {\n"
    "  return a - b;\n}\n";
const char* kDiff =
    "--- a/src/math.c\n+++ b/src/math.c\n@@ -1,3 +1,3 @@\n int add(int a, int b) {\n"
    "-  return a + b;\n+  return b + a;\n }\n";

TEST(PatchApply, AppliesAndReportsCanonicalDiff) {
  TempDir repo;
  WriteBytes(repo.path() / "src/math.c", kFile);
  ApplyResult result = ApplyReply(repo.path(), kDiff, {});
  ASSERT_TRUE(result.applied) << result.error;
  EXPECT_EQ(result.changed_files, std::vector<std::string>{"src/math.c"});
  EXPECT_NE(result.diff.find("diff --git a/src/math.c b/src/math.c"), std::string::npos);
  EXPECT_NE(result.diff.find("+  return b + a;"), std::string::npos);
  EXPECT_NE(ReadBytes(repo.path() / "src/math.c").find("return b + a;"), std::string::npos);
}

TEST(PatchApply, DryRunWritesNothing) {
  TempDir repo;
  WriteBytes(repo.path() / "src/math.c", kFile);
  ApplyOptions options;
  options.dry_run = true;
  ApplyResult result = ApplyReply(repo.path(), kDiff, options);
  ASSERT_TRUE(result.applied) << result.error;
  EXPECT_FALSE(result.diff.empty());
  EXPECT_EQ(ReadBytes(repo.path() / "src/math.c"), kFile);
}

TEST(PatchApply, KeepsCrlfFileCrlfAndFileMode) {
  TempDir repo;
  std::string crlf = "int add(int a, int b) {\r\n  return a + b;\r\n}\r\n";
  WriteBytes(repo.path() / "src/math.c", crlf);
  fs::permissions(repo.path() / "src/math.c", fs::perms(0755));
  ApplyResult result = ApplyReply(repo.path(), kDiff, {});
  ASSERT_TRUE(result.applied) << result.error;
  EXPECT_EQ(ReadBytes(repo.path() / "src/math.c"),
            "int add(int a, int b) {\r\n  return b + a;\r\n}\r\n");
  EXPECT_EQ(fs::status(repo.path() / "src/math.c").permissions(), fs::perms(0755));
}

TEST(PatchApply, RefusalNamesFileHunkAndClosestText) {
  TempDir repo;
  WriteBytes(repo.path() / "src/math.c", kFile);
  std::string reply =
      "--- a/src/math.c\n+++ b/src/math.c\n@@ -5,3 +5,3 @@\n int sub(int a, int b) {\n"
      "-  return a - c;\n+  return a - b - 0;\n }\n";
  ApplyResult result = ApplyReply(repo.path(), reply, {});
  EXPECT_FALSE(result.applied);
  EXPECT_NE(result.error.find("src/math.c: hunk 1 of 1"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("'  return a - c;' differs from line 6 '  return a - b;'"),
            std::string::npos)
      << result.error;
  EXPECT_NE(result.error.find("5 | int sub(int a, int b) {"), std::string::npos) << result.error;
}

TEST(PatchApply, RefusesSymlinkTarget) {
  TempDir repo;
  WriteBytes(repo.path() / "real.c", kFile);
  fs::create_directories(repo.path() / "src");
  fs::create_symlink(repo.path() / "real.c", repo.path() / "src/math.c");
  ApplyResult result = ApplyReply(repo.path(), kDiff, {});
  EXPECT_FALSE(result.applied);
  EXPECT_NE(result.error.find("symlink"), std::string::npos) << result.error;
  EXPECT_EQ(ReadBytes(repo.path() / "real.c"), kFile);
}

TEST(PatchApply, RefusesOversizedReply) {
  TempDir repo;
  WriteBytes(repo.path() / "src/math.c", kFile);
  ApplyOptions options;
  options.max_reply_bytes = 16;
  ApplyResult result = ApplyReply(repo.path(), kDiff, options);
  EXPECT_FALSE(result.applied);
  EXPECT_NE(result.error.find("over the limit"), std::string::npos) << result.error;
}

TEST(PatchApply, RollsBackWhenAWriteFails) {
  TempDir repo;
  WriteBytes(repo.path() / "src/math.c", kFile);
  // The second file's name is legal (250 bytes) but its temporary sibling's name is over
  // NAME_MAX, so its write fails after src/math.c was written -- even for root.
  std::string long_name = "newdir/" + std::string(248, 'n') + ".c";
  std::string reply =
      std::string(kDiff) + "--- /dev/null\n+++ b/" + long_name + "\n@@ -0,0 +1 @@\n+int y;\n";
  ApplyResult result = ApplyReply(repo.path(), reply, {});
  EXPECT_FALSE(result.applied);
  EXPECT_NE(result.error.find("restored"), std::string::npos) << result.error;
  EXPECT_EQ(ReadBytes(repo.path() / "src/math.c"), kFile);
  EXPECT_FALSE(fs::exists(repo.path() / "newdir")) << "created directory left behind";
  EXPECT_EQ(SnapshotTree(repo.path()).size(), 1u);
}

TEST(PatchApply, EditsTheSameFileTwiceInOneReply) {
  TempDir repo;
  WriteBytes(repo.path() / "src/math.c", kFile);
  std::string reply =
      "src/math.c\n<<<<<<< SEARCH\n  return a + b;\n=======\n  return b + a;\n>>>>>>> REPLACE\n"
      "\nsrc/math.c\n<<<<<<< SEARCH\n  return b + a;\n=======\n  return (b + a);\n"
      ">>>>>>> REPLACE\n";
  ApplyResult result = ApplyReply(repo.path(), reply, {});
  ASSERT_TRUE(result.applied) << result.error;
  EXPECT_NE(ReadBytes(repo.path() / "src/math.c").find("return (b + a);"), std::string::npos);
}

// A whole-file reply full of C/C++ ellipses is applied; one with a placeholder is refused
// naming the line, and the tree stays as it was.
TEST(PatchApply, WholeFileWithVariadicsAppliesAndPlaceholderIsRefused) {
  TempDir repo;
  const std::string old_file = "#include <cstdio>\nint Old();\n";
  WriteBytes(repo.path() / "src/log.h", old_file);
  const std::string variadic =
      "#include <cstdarg>\n"
      "#include <cstdio>\n"
      "#include <utility>\n"
      "#define LOG(fmt, ...) std::fprintf(stderr, fmt, __VA_ARGS__)\n"
      "int Printf(const char* fmt, ...);\n"
      "template <typename... Ts>\n"
      "int Sum(Ts... args) {\n"
      "  static_assert(sizeof...(Ts) > 0);\n"
      "  try {\n"
      "    return (args + ...);\n"
      "  } catch (...) {\n"
      "    return 0;\n"
      "  }\n"
      "}\n"
      "inline int Vsum(int n, ...) {\n"
      "  va_list ap;\n"
      "  va_start(ap, n);\n"
      "  int s = 0;\n"
      "  for (int i = 0; i < n; ++i) s += va_arg(ap, int);\n"
      "  va_end(ap);\n"
      "  return s;\n"
      "}\n";
  ApplyResult applied = ApplyReply(repo.path(), "```cpp src/log.h\n" + variadic + "```\n", {});
  ASSERT_TRUE(applied.applied) << applied.error;
  EXPECT_EQ(ReadBytes(repo.path() / "src/log.h"), variadic);

  std::string elided = variadic;
  elided.replace(elided.find("  va_list ap;\n"), 14,
                 "  // ... rest of the function unchanged ...\n");
  ApplyResult refused = ApplyReply(repo.path(), "```cpp src/log.h\n" + elided + "```\n", {});
  EXPECT_FALSE(refused.applied);
  EXPECT_NE(refused.error.find("src/log.h: the fenced file src/log.h looks elided: its line 16 "
                               "(reply line 17) '// ... rest of the function unchanged ...'"),
            std::string::npos)
      << refused.error;
  EXPECT_EQ(ReadBytes(repo.path() / "src/log.h"), variadic);
}

// ---- rlvr apply, end to end ----

std::string RunShell(const std::string& command, int* status) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int raw = pclose(pipe);
  *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return output;
}

TEST(RlvrApplyCommand, AppliesInGitRepoAndRefusesWithStatus) {
  TempDir repo;
  WriteBytes(repo.path() / "src/math.c", kFile);
  WriteBytes(repo.path() / "reply.txt", std::string("Sure:\n```diff\n") + kDiff + "```\n");
  int status = 0;
  std::string git = "git -C '" + repo.path().string() + "' ";
  RunShell(git + "init -q && " + git + "add src && " + git +
               "-c user.name=t -c user.email=t@t commit -qm init",
           &status);
  ASSERT_EQ(status, 0);
  std::string rlvr =
      std::string(RLVR_BINARY) + " apply -C '" + (repo.path() / "src").string() + "' ";

  std::string out =
      RunShell(rlvr + "--allow 'src/*' '" + (repo.path() / "reply.txt").string() + "'", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("+  return b + a;"), std::string::npos) << out;
  // git agrees about what changed.
  std::string git_diff = RunShell(git + "diff", &status);
  EXPECT_NE(git_diff.find("+  return b + a;"), std::string::npos) << git_diff;

  // The same reply again no longer matches: refused, exit 1, file untouched.
  std::string before = ReadBytes(repo.path() / "src/math.c");
  out = RunShell(rlvr + "'" + (repo.path() / "reply.txt").string() + "'", &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("src/math.c: hunk 1 of 1"), std::string::npos) << out;
  EXPECT_EQ(ReadBytes(repo.path() / "src/math.c"), before);

  // Outside --allow: refused.
  RunShell(git + "checkout -q src", &status);
  out = RunShell(rlvr + "--allow 'lib/**' '" + (repo.path() / "reply.txt").string() + "'", &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("outside the files"), std::string::npos) << out;

  // Not a git repository: usage error.
  TempDir elsewhere;
  out = RunShell(std::string(RLVR_BINARY) + " apply -C '" + elsewhere.path().string() + "' x",
                 &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("not inside a git repository"), std::string::npos) << out;
}

}  // namespace
}  // namespace rlvr
