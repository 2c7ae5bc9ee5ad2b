// ParseReply: how model replies are read into file edits.
#include <string>

#include <gtest/gtest.h>

#include "harness/patch_parse.h"

namespace rlvr {
namespace {

TEST(PatchParse, ReadsHunkNumbersAndLines) {
  ParsedReply parsed = ParseReply(
      "--- a/x.c\n+++ b/x.c\n@@ -3,2 +3,3 @@ int f() {\n a\n-b\n+c\n+d\n\\ No newline at end of "
      "file\n",
      "");
  ASSERT_EQ(parsed.error, "");
  ASSERT_EQ(parsed.changes.size(), 1u);
  const FileChange& change = parsed.changes[0];
  EXPECT_EQ(change.old_path, "a/x.c");
  EXPECT_EQ(change.new_path, "b/x.c");
  ASSERT_EQ(change.hunks.size(), 1u);
  const Hunk& hunk = change.hunks[0];
  EXPECT_EQ(hunk.old_start, 3);
  EXPECT_EQ(hunk.old_count, 2);
  EXPECT_EQ(hunk.new_start, 3);
  EXPECT_EQ(hunk.new_count, 3);
  ASSERT_EQ(hunk.lines.size(), 4u);
  EXPECT_EQ(hunk.lines[1].kind, '-');
  EXPECT_EQ(hunk.lines[3].text, "d");
  EXPECT_TRUE(hunk.new_missing_final_newline);
  EXPECT_FALSE(hunk.old_missing_final_newline);
}

TEST(PatchParse, TrailingBlankLinesAreSeparatorsUnlessCountsWantThem) {
  ParsedReply separator = ParseReply("--- a/x\n+++ b/x\n@@\n a\n-b\n+c\n\nThanks!\n", "");
  ASSERT_EQ(separator.error, "");
  EXPECT_EQ(separator.changes[0].hunks[0].lines.size(), 3u);
  ParsedReply wanted = ParseReply("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n\n", "");
  ASSERT_EQ(wanted.error, "");
  EXPECT_EQ(wanted.changes[0].hunks[0].lines.size(), 4u);
}

TEST(PatchParse, SearchReplacePathFromBacktickedProse) {
  ParsedReply parsed = ParseReply(
      "In `kernels/gemm.cpp` change the tile:\n<<<<<<< SEARCH\nint t = 4;\n=======\nint t = "
      "8;\n>>>>>>> REPLACE\n",
      "");
  ASSERT_EQ(parsed.error, "");
  ASSERT_EQ(parsed.changes.size(), 1u);
  EXPECT_EQ(parsed.changes[0].kind, ChangeKind::kSearchReplace);
  EXPECT_EQ(parsed.changes[0].new_path, "kernels/gemm.cpp");
}

TEST(PatchParse, SearchReplaceWithoutPathIsAnError) {
  ParsedReply parsed =
      ParseReply("<<<<<<< SEARCH\nint t = 4;\n=======\nint t = 8;\n>>>>>>> REPLACE\n", "");
  EXPECT_NE(parsed.error.find("does not say which file"), std::string::npos) << parsed.error;
  ParsedReply unclosed = ParseReply("x.c\n<<<<<<< SEARCH\nint t = 4;\n=======\nint t = 8;\n", "");
  EXPECT_NE(unclosed.error.find("not closed"), std::string::npos) << unclosed.error;
}

TEST(PatchParse, UnlabelledCodeFenceIsNotAnEdit) {
  ParsedReply parsed = ParseReply("Try this:\n```cpp\nint x = 1;\n```\n", "");
  EXPECT_NE(parsed.error.find("no patch found"), std::string::npos) << parsed.error;
}

TEST(PatchParse, WholeFileFromFenceLabelOrPathLine) {
  ParsedReply labelled = ParseReply("```cpp kernels/a.cpp\nint a;\n```\n", "");
  ASSERT_EQ(labelled.error, "");
  EXPECT_EQ(labelled.changes[0].kind, ChangeKind::kWholeFile);
  EXPECT_EQ(labelled.changes[0].new_path, "kernels/a.cpp");
  EXPECT_EQ(labelled.changes[0].content, std::vector<std::string>{"int a;"});
  ParsedReply path_line = ParseReply("kernels/b.cpp\n```cpp\nint b;\n```\n", "");
  ASSERT_EQ(path_line.error, "");
  EXPECT_EQ(path_line.changes[0].new_path, "kernels/b.cpp");
}

TEST(PatchParse, PlusHeaderAloneNamesTheFile) {
  ParsedReply parsed = ParseReply("+++ b/kernels/a.cpp\n@@\n a\n-b\n+c\n", "");
  ASSERT_EQ(parsed.error, "");
  ASSERT_EQ(parsed.changes.size(), 1u);
  EXPECT_EQ(parsed.changes[0].new_path, "b/kernels/a.cpp");
  EXPECT_EQ(parsed.changes[0].old_path, "b/kernels/a.cpp");
  EXPECT_EQ(parsed.changes[0].hunks.size(), 1u);
}

}  // namespace
}  // namespace rlvr
