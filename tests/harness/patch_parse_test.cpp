// ParseReply: how model replies are read into file edits.
#include <string>

#include <gtest/gtest.h>

#include "harness/patch/parse.h"

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

// A whole file fenced under `path` whose line `at` (1-based) is `line`, between ordinary code.
std::string WholeFileReply(const std::string& path, const std::string& line) {
  return "Here is the file:\n```cpp " + path +
         "\n#include <cstdio>\n\nnamespace rlvr {\n\nint Answer() { return 42; }\n" + line +
         "\n\n}  // namespace rlvr\n```\n";
}
constexpr int kSnippetFileLine = 6;   // `line` is the 6th line of the file...
constexpr int kSnippetReplyLine = 8;  // ...and the 8th of the reply

// Every legitimate use of "..." in C and C++ (and comments that merely mention an ellipsis or
// the word "unchanged") is code, not a placeholder.
TEST(PatchParse, EllipsisInCodeIsNotElision) {
  const char* legitimate[] = {
      "#define LOG(fmt, ...) std::fprintf(stderr, fmt, __VA_ARGS__)",
      "#define TRACE(...) Trace(__VA_ARGS__)",
      "#  define CHECK(c, ...) do { if (!(c)) Fail(#c __VA_OPT__(,) __VA_ARGS__); } while (0)",
      "try { Run(); } catch (...) { Recover(); }",
      "  } catch (...) {",
      "template <typename... Ts>",
      "template <class... Args> struct Pack {};",
      "void Log(const char* fmt, Ts... args);",
      "constexpr size_t kCount = sizeof...(Ts);",
      "  return (args + ...);",
      "  return (... && args);",
      "  (Print(args), ...);",
      "  Forward(std::forward<Ts>(args)...);",
      "auto count = [](auto&&... xs) { return sizeof...(xs); };",
      "int printf(const char* fmt, ...);",
      "extern \"C\" int Printf(const char*, ...);",
      "           ...);",
      "           ...)",
      "  va_list ap;",
      "  va_start(ap, fmt);",
      "#include <cstdarg>",
      "// Sums x[0] + ... + x[n-1] in 16 lanes.",
      "//     + ... + x[n-1] * y[n-1]",
      "// Usage: LOG(\"x=%d\", ...);",
      "/* f(a, ...) forwards to vprintf */",
      "int Sum(int n, ...);  // sums its n variadic ints",
      "// RMSNorm, unchanged maths.",
      "// The scale is unchanged when n == 0.",
      "// Process the rest of the row.",
      "// Same as above.",
      "// -----------------------------------",
      "const char* kUrl = \"http://example.com/...\";",
      "const char* kMark = \"// ...\";",
      "#endif  // __AVX512F__",
      "#define WATCH_FLAG 0x00020000 /* ... */",
      "  dotdotdot,  // ...",
      "  return y;  /* ... */",
      "//..............................................................................",
      "// remainder",
      "// the rest",
      "/// is_same",
      "// <...",
      "// \"<rest of file>\" and \"// ...\" are placeholders",
  };
  for (const char* line : legitimate) {
    ParsedReply parsed = ParseReply(WholeFileReply("kernels/log.cpp", line), "");
    ASSERT_EQ(parsed.error, "") << line;
    ASSERT_EQ(parsed.changes.size(), 1u) << line;
    EXPECT_EQ(parsed.changes[0].refusal, "") << line;
    EXPECT_EQ(parsed.changes[0].content[kSnippetFileLine - 1], line);
  }
}

// Prose that stands for left-out code is refused, naming the file's line and the reply's.
TEST(PatchParse, PlaceholdersAreElision) {
  const char* placeholders[] = {
      "// ...",
      "  // ...",
      "/* ... */",
      "// ... rest of the file unchanged ...",
      "// (unchanged)",
      "...",
      "    ...",
      "// existing code here",
      "<rest of file>",
      "[existing code]",
      "// ... existing code ...",
      "  // \xE2\x80\xA6 other kernels \xE2\x80\xA6",
      "\xE2\x80\xA6",
      "{ ... }",
      "(...)",
      "# ...",
      "// Rest of the file remains the same",
      "// rest of GEMM unchanged",
      "// implementation omitted for brevity",
      "// [previous code remains the same]",
      "void Helper() { /* ... */ }",
      "int x = Compute();  // ... existing code",
      "... rest of the file unchanged ...",
      "int Foo() {  // ...",
      "// ... more code",
      "<!-- ... -->",
  };
  for (const char* line : placeholders) {
    ParsedReply parsed = ParseReply(WholeFileReply("kernels/log.cpp", line), "");
    ASSERT_EQ(parsed.error, "") << line;
    ASSERT_EQ(parsed.changes.size(), 1u) << line;
    const std::string& refusal = parsed.changes[0].refusal;
    EXPECT_NE(refusal.find("looks elided"), std::string::npos) << line << " -> " << refusal;
    EXPECT_NE(refusal.find("its line " + std::to_string(kSnippetFileLine) + " (reply line " +
                           std::to_string(kSnippetReplyLine) + ")"),
              std::string::npos)
        << line << " -> " << refusal;
    std::string trimmed = line;
    trimmed.erase(0, trimmed.find_first_not_of(' '));
    EXPECT_NE(refusal.find("'" + trimmed + "'"), std::string::npos) << line << " -> " << refusal;
  }
}

// Documentation may show examples with "..." (and sentences may say "unchanged"): inside block
// comments, in paragraphs of // comments, in "#if 0"; and C's "..." parameter may stand alone.
TEST(PatchParse, DocumentationAndVariadicParametersAreNotElision) {
  const std::string file =
      "/*\n"
      " * Usage:\n"
      " *   Log(\"x\", ...);\n"
      " * ...\n"
      " *   (rest unchanged)\n"
      " */\n"
      "/** The original unchanged tokens this option was\n"
      "    created from. */\n"
      "// Call it like this:\n"
      "//   Run(a, b);\n"
      "//   ...\n"
      "//   Run(c, d);\n"
      "/// Returns the input\n"
      "/// unchanged.\n"
      "#if 0\n"
      "...\n"
      "// ...\n"
      "#endif\n"
      "int Printf(const char* format,\n"
      "           ...\n"
      "           );\n"
      "int Scanf(\n"
      "    ...);\n"
      "int Done();\n";
  ParsedReply parsed = ParseReply("```cpp kernels/doc.h\n" + file + "```\n", "");
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.changes[0].refusal, "");
  // The same "// ..." alone among code is a placeholder.
  ParsedReply alone = ParseReply("```cpp kernels/doc.h\nint A();\n// ...\nint B();\n```\n", "");
  EXPECT_NE(alone.changes[0].refusal.find("its line 2 (reply line 3) '// ...'"), std::string::npos)
      << alone.changes[0].refusal;
}

// In Python "..." alone is Ellipsis (a stub body), but "# ..." is still a placeholder.
TEST(PatchParse, PythonEllipsisIsCode) {
  ParsedReply stub = ParseReply("```python tools/stub.py\nclass Base:\n    ...\n```\n", "");
  ASSERT_EQ(stub.error, "");
  EXPECT_EQ(stub.changes[0].refusal, "");
  ParsedReply elided =
      ParseReply("```python tools/stub.py\nimport os\n# ... rest unchanged\n```\n", "");
  ASSERT_EQ(elided.error, "");
  EXPECT_NE(elided.changes[0].refusal.find("its line 2 (reply line 3)"), std::string::npos)
      << elided.changes[0].refusal;
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
