// The format gate's work: only the lines a candidate changed are formatted, only with the
// repository's own .clang-format, includes left in their order unless the style asks; no
// .clang-format means no formatting, said so.
#include "harness/verify/changed_lines_format.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "harness/base/file_text.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using Status = FileFormatResult::Status;
using ::testing::HasSubstr;
using ::testing::Not;

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TEST(ChangedRangesTest, OneRangePerAddingHunkMergedWhenAdjacent) {
  const std::string diff =
      "diff --git a/k.c b/k.c\n"
      "--- a/k.c\n+++ b/k.c\n"
      "@@ -3 +3 @@ int a;\n-x\n+y\n"
      "@@ -10,2 +10,3 @@\n-p\n-q\n+r\n+s\n+t\n"
      "@@ -20,2 +21,0 @@\n-gone\n-gone\n"  // a pure deletion: nothing to format
      "@@ -30 +30,2 @@\n-u\n+v\n+w\n"
      "@@ -31,0 +32,1 @@\n+z\n";  // adjacent to the previous hunk
  std::vector<LineRange> ranges = ParseChangedRanges(diff);
  EXPECT_EQ(ranges, (std::vector<LineRange>{{3, 3}, {10, 12}, {30, 32}}));
  EXPECT_EQ(DescribeRanges(ranges), "3, 10-12, 30-32");
  EXPECT_TRUE(ParseChangedRanges("").empty());
}

TEST(StyleTest, IncludeSortingOnlyWhenTheStyleSaysSo) {
  EXPECT_FALSE(StyleEnablesIncludeSorting("BasedOnStyle: Google\n"));
  EXPECT_FALSE(StyleEnablesIncludeSorting("SortIncludes: false\n"));
  EXPECT_FALSE(StyleEnablesIncludeSorting("SortIncludes: Never\n"));
  EXPECT_TRUE(StyleEnablesIncludeSorting("BasedOnStyle: LLVM\nSortIncludes: true\n"));
  EXPECT_TRUE(StyleEnablesIncludeSorting("  SortIncludes:   CaseSensitive  # yes\n"));
  EXPECT_TRUE(StyleEnablesIncludeSorting("SortIncludes: CaseInsensitive\n"));
  EXPECT_FALSE(StyleEnablesIncludeSorting("SortIncludesX: true\n"));
}

class ChangedLinesFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rlvr-format-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    outer_ = pattern;
    // The repository sits one level down so a .clang-format above it can be planted.
    fs::create_directories(outer_ / "repo");
    repo_ = FixtureRepo(outer_ / "repo");
    repo_.Git("init -q -b main");
  }
  void TearDown() override {
    repo_ = FixtureRepo();
    std::error_code ec;
    fs::remove_all(outer_, ec);
  }
  const fs::path& root() const { return repo_.path(); }
  void Commit(const std::string& file, const std::string& text) {
    WriteText(root() / file, text);
    repo_.Git("add -A");
    repo_.Git("commit -q -m 'c'");
  }
  std::string Read(const std::string& file) const { return ReadFileText(root() / file); }

  fs::path outer_;
  FixtureRepo repo_;
};

// Unformatted old code, includes out of order: none of it is the candidate's to fix.
constexpr const char* kHead =
    "#include <stdio.h>\n"
    "#include <stdint.h>\n"
    "int  keep( int x ){return x;}\n"
    "int f(int x) { return x; }\n";

TEST_F(ChangedLinesFormatTest, NoClangFormatMeansNoFormatting) {
  Commit("k.c", kHead);
  // A .clang-format above the repository is not the repository's.
  WriteText(outer_ / ".clang-format", "BasedOnStyle: LLVM\nSortIncludes: true\n");
  const std::string edited = std::string(kHead) + "int  g( int y ){return y;}\n";
  WriteText(root() / "k.c", edited);
  FileFormatResult result = FormatChangedLines(root(), "k.c");
  EXPECT_EQ(result.status, Status::kNoStyle);
  EXPECT_EQ(Read("k.c"), edited);
  FormatSummary summary = SummarizeFormat({result}, false);
  EXPECT_TRUE(summary.ok);
  EXPECT_EQ(summary.message, "no .clang-format in the repository: formatting not checked");
  // --check-format does not fail what it cannot judge.
  FileFormatResult checked = FormatChangedLines(root(), "k.c", {.check_only = true});
  EXPECT_EQ(checked.status, Status::kNoStyle);
  EXPECT_TRUE(SummarizeFormat({checked}, true).ok);
}

TEST_F(ChangedLinesFormatTest, FormatsOnlyTheChangedLinesAndKeepsIncludeOrder) {
  WriteText(root() / ".clang-format", "BasedOnStyle: LLVM\n");
  Commit("k.c", kHead);
  // The candidate adds an include (out of order) and an unformatted function.
  WriteText(root() / "k.c",
            "#include <stdio.h>\n"
            "#include <stdint.h>\n"
            "#include <stddef.h>\n"
            "int  keep( int x ){return x;}\n"
            "int f(int x) { return x; }\n"
            "int  g( int y ){return y;}\n");
  FileFormatResult result = FormatChangedLines(root(), "k.c");
  EXPECT_EQ(result.status, Status::kFormatted) << result.detail;
  EXPECT_EQ(result.ranges, (std::vector<LineRange>{{3, 3}, {6, 6}}));
  EXPECT_EQ(result.style_file, ".clang-format");
  EXPECT_EQ(Read("k.c"),
            "#include <stdio.h>\n"
            "#include <stdint.h>\n"
            "#include <stddef.h>\n"
            "int  keep( int x ){return x;}\n"
            "int f(int x) { return x; }\n"
            "int g(int y) { return y; }\n");
  FormatSummary summary = SummarizeFormat({result}, false);
  EXPECT_TRUE(summary.ok);
  EXPECT_EQ(summary.message,
            "formatted the changed lines of k.c (lines 3, 6) with .clang-format (includes left in "
            "their order)");
  // Run again: nothing left to do.
  FileFormatResult again = FormatChangedLines(root(), "k.c");
  EXPECT_EQ(again.status, Status::kAlreadyFormatted);
  EXPECT_THAT(SummarizeFormat({again}, false).message, HasSubstr("already follow .clang-format"));
}

TEST_F(ChangedLinesFormatTest, SortsIncludesWhenTheStyleAsksByName) {
  WriteText(root() / ".clang-format", "BasedOnStyle: LLVM\nSortIncludes: CaseSensitive\n");
  Commit("k.c", kHead);
  WriteText(root() / "k.c",
            "#include <stdio.h>\n"
            "#include <stdint.h>\n"
            "#include <stddef.h>\n"
            "int  keep( int x ){return x;}\n"
            "int f(int x) { return x; }\n");
  FileFormatResult result = FormatChangedLines(root(), "k.c");
  EXPECT_EQ(result.status, Status::kFormatted) << result.detail;
  EXPECT_TRUE(result.sorted_includes);
  EXPECT_THAT(Read("k.c"), HasSubstr("#include <stddef.h>\n#include <stdint.h>\n"
                                     "#include <stdio.h>\n"
                                     "int  keep( int x ){return x;}\n"));
  EXPECT_THAT(SummarizeFormat({result}, false).message,
              HasSubstr("includes sorted, as its SortIncludes says"));
}

TEST_F(ChangedLinesFormatTest, CheckOnlyFailsForChangedLinesOnly) {
  WriteText(root() / ".clang-format", "BasedOnStyle: LLVM\n");
  Commit("k.c", kHead);
  // A well-formatted addition next to old unformatted code passes the check.
  WriteText(root() / "k.c", std::string(kHead) + "int g(int y) { return y; }\n");
  FileFormatResult clean = FormatChangedLines(root(), "k.c", {.check_only = true});
  EXPECT_EQ(clean.status, Status::kAlreadyFormatted) << clean.detail;
  EXPECT_TRUE(SummarizeFormat({clean}, true).ok);
  // An unformatted addition fails it, and the file is left as written.
  const std::string bad = std::string(kHead) + "int  g( int y ){return y;}\n";
  WriteText(root() / "k.c", bad);
  FileFormatResult result = FormatChangedLines(root(), "k.c", {.check_only = true});
  EXPECT_EQ(result.status, Status::kUnformatted);
  EXPECT_EQ(Read("k.c"), bad);
  FormatSummary summary = SummarizeFormat({result}, true);
  EXPECT_FALSE(summary.ok);
  EXPECT_THAT(summary.message,
              HasSubstr("not clang-formatted: the changed lines of k.c (lines 5)"));
  EXPECT_THAT(summary.message, HasSubstr("--lines=5:5"));
  EXPECT_THAT(summary.detail, HasSubstr("k.c:5:"));
  EXPECT_THAT(summary.detail, Not(HasSubstr("k.c:3:")));
}

TEST_F(ChangedLinesFormatTest, NearestStyleFileWinsAndNewFilesAreChangedThroughout) {
  WriteText(root() / ".clang-format", "BasedOnStyle: LLVM\n");
  WriteText(root() / "sub" / ".clang-format", "BasedOnStyle: LLVM\nIndentWidth: 4\n");
  Commit("README", "x\n");
  EXPECT_EQ(FindStyleFile(root(), "sub/deeper/n.c"), root() / "sub" / ".clang-format");
  EXPECT_EQ(FindStyleFile(root(), "top.c"), root() / ".clang-format");
  WriteText(root() / "sub" / "n.c", "int  h( int z ){\nreturn z;}\n");
  FileFormatResult result = FormatChangedLines(root(), "sub/n.c");
  EXPECT_EQ(result.status, Status::kFormatted) << result.detail;
  EXPECT_EQ(result.ranges, (std::vector<LineRange>{{1, 2}}));
  EXPECT_EQ(result.style_file, "sub/.clang-format");
  EXPECT_EQ(Read("sub/n.c"), "int h(int z) { return z; }\n");
}

TEST_F(ChangedLinesFormatTest, DeletionsOnlyAndMissingFormatterAreSaid) {
  WriteText(root() / ".clang-format", "BasedOnStyle: LLVM\n");
  Commit("k.c", kHead);
  WriteText(root() / "k.c",
            "#include <stdio.h>\n#include <stdint.h>\nint  keep( int x ){return x;}\n");
  FileFormatResult deleted = FormatChangedLines(root(), "k.c");
  EXPECT_EQ(deleted.status, Status::kNoChangedLines);
  EXPECT_THAT(SummarizeFormat({deleted}, false).message, HasSubstr("lines only deleted"));

  WriteText(root() / "k.c", std::string(kHead) + "int  g( int y ){return y;}\n");
  FormatOptions missing;
  missing.clang_format = "/nonexistent/clang-format";
  FileFormatResult result = FormatChangedLines(root(), "k.c", missing);
  EXPECT_EQ(result.status, Status::kNotInstalled);
  EXPECT_TRUE(SummarizeFormat({result}, false).ok);
  EXPECT_THAT(SummarizeFormat({result}, false).message, HasSubstr("not checked"));
  EXPECT_FALSE(SummarizeFormat({result}, true).ok);
}

}  // namespace
}  // namespace rlvr
