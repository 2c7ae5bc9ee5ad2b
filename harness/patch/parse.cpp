#include "harness/patch/parse.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <utility>

namespace rlvr {
namespace {

constexpr std::string_view kDevNull = "/dev/null";

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// Lines of the reply without their line ends; a CRLF reply reads like an LF one.
std::vector<std::string> SplitReply(std::string_view reply) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < reply.size()) {
    size_t end = reply.find('\n', start);
    if (end == std::string_view::npos) end = reply.size();
    std::string_view line = reply.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    start = end + 1;
  }
  return lines;
}

// `<<<<<<< SEARCH`, `=======`, `>>>>>>> REPLACE` (5 to 9 marker characters, as aider accepts).
bool IsMarker(std::string_view line, char marker, std::string_view word) {
  line = Trim(line);
  size_t n = 0;
  while (n < line.size() && line[n] == marker) ++n;
  if (n < 5 || n > 9) return false;
  return Trim(line.substr(n)) == word;
}
bool IsSearchStart(std::string_view line) {
  return IsMarker(line, '<', "SEARCH");
}
bool IsDivider(std::string_view line) {
  return IsMarker(line, '=', "");
}
bool IsReplaceEnd(std::string_view line) {
  return IsMarker(line, '>', "REPLACE");
}

// A markdown fence line ("```" or "~~~", possibly indented); returns its info string.
std::optional<std::string> FenceInfo(std::string_view line) {
  std::string_view trimmed = Trim(line);
  if (!StartsWith(trimmed, "```") && !StartsWith(trimmed, "~~~")) return std::nullopt;
  char fence = trimmed[0];
  size_t n = 0;
  while (n < trimmed.size() && trimmed[n] == fence) ++n;
  return std::string(Trim(trimmed.substr(n)));
}
bool IsFence(std::string_view line) {
  return FenceInfo(line).has_value();
}

// ---- Elision: a "whole file" with code left out ----
// Models abbreviate files with placeholders ("// ... rest of the file unchanged ...", "...",
// "<existing code>"); applying one would silently delete that code. But C and C++ use "..."
// themselves (variadic macros and functions, catch (...), parameter packs, fold expressions),
// and real comments contain "...", "the rest" or "unchanged": only prose that stands for code
// counts, and documentation (block comments, paragraphs of // comments, #if 0) may show an
// example with "..." in it. Checked on the 22,600 headers under /usr/include of Debian 12 (C++
// standard library, Boost, LLVM, Linux, GoogleTest, ...), each sent as a whole file: 7 are
// refused, each for a "// ..." or "/* ... */" alone among code, or "..." in pseudo-code.

// "…" (U+2026) reads as "...".
std::string NormalizeEllipsis(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "\xE2\x80\xA6") == 0) {
      out += "...";
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string_view TrimChars(std::string_view text, std::string_view chars) {
  size_t begin = text.find_first_not_of(chars);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(chars) - begin + 1);
}

template <size_t N>
bool IsOneOf(std::string_view word, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), word) != std::end(set);
}

// The vocabulary of placeholders. A strong word says by itself that something was left out; a
// weak one only with a noun ("existing code", "rest of the file", "same as before"); filler
// words are the rest of such phrases; a hint word follows a leading ellipsis ("... other ...").
constexpr std::string_view kStrongWords[] = {"unchanged", "unmodified", "omitted", "snip",
                                             "snipped",   "elided",     "brevity", "abbreviated"};
constexpr std::string_view kWeakWords[] = {"rest",     "remainder", "same",     "existing",
                                           "previous", "original",  "identical"};
constexpr std::string_view kNounWords[] = {
    "code",      "file",           "files",           "function",
    "functions", "implementation", "implementations", "body",
    "method",    "methods",        "class",           "classes",
    "lines",     "definitions",    "section",         "sections",
    "part",      "parts",          "before",          "here"};
constexpr std::string_view kFillerWords[] = {
    "the",  "a",   "an",      "of",     "is",      "are",       "be",    "as",         "for",
    "from", "in",  "this",    "that",   "these",   "to",        "all",   "everything", "else",
    "and",  "or",  "remains", "remain", "stays",   "stay",      "kept",  "keep",       "left",
    "goes", "go",  "not",     "no",     "shown",   "remaining", "other", "below",      "it",
    "its",  "was", "were",    "like",   "follows", "continues", "omit",  "more"};
constexpr std::string_view kHintWords[] = {"other",          "more",      "code",
                                           "implementation", "functions", "methods"};

// Lower-case words of letters, digits and '_' (so "is_same" is one word, not "same").
std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// "...", "....", "…" alone, or in one pair of brackets: "(...)", "[...]", "{ ... }", "<...>".
// Longer runs of dots are rules ("//......"), not ellipses.
bool IsBareEllipsis(std::string_view text) {
  std::string compact;
  for (char c : NormalizeEllipsis(text)) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  }
  constexpr std::string_view kOpen = "<[{(", kClose = ">]})";
  std::string_view dots = compact;
  size_t bracket = dots.empty() ? std::string_view::npos : kOpen.find(dots.front());
  if (dots.size() >= 2 && bracket != std::string_view::npos && dots.back() == kClose[bracket]) {
    dots = dots.substr(1, dots.size() - 2);
  }
  return (dots == "..." || dots == "....");
}

// Where a comment stands, which decides how much it takes to read it as a placeholder.
enum class CommentPlace {
  kAlone,      // a comment line among code: "// ..." is a placeholder
  kParagraph,  // a comment line next to other comments: documentation, which may show
               // examples with "..."; only "... (unchanged)"-like lines count
  kAfterCode,  // after code on the same line: "x = 1;  // ..." is no placeholder
};

// Whether a comment's text (or a bracketed phrase) stands for left-out code:
//   - a phrase of placeholder words: "(unchanged)", "existing code here", "rest of the file
//     remains the same", or with a few other words "rest of GEMM unchanged";
//   - alone among code, also an ellipsis ("...", "(...)") or a short hint led by one
//     ("... other kernels ...").
// Not "Sums x[0] + ... + x[n-1]", "f(fmt, ...)", "RMSNorm, unchanged maths", "remainder",
// "the rest of the row", "is_same", a comment going on from the line before ("... over the
// runs"), a sentence ending in a paragraph ("/// is unchanged."), or a quoted phrase
// (`"<rest of file>" is a placeholder`).
bool IsPlaceholderProse(std::string_view raw, CommentPlace place) {
  std::string normalized = NormalizeEllipsis(raw);
  for (size_t open = normalized.find('"'); open != std::string::npos;
       open = normalized.find('"', open)) {
    size_t close = normalized.find('"', open + 1);
    if (close == std::string::npos) break;
    normalized.erase(open, close - open + 1);
  }
  std::string_view trimmed = normalized;
  while (!trimmed.empty() && (trimmed.front() == '/' || trimmed.front() == '!')) {
    trimmed.remove_prefix(1);  // the rest of a Doxygen marker: "///", "//!", "/*!"
  }
  trimmed = Trim(trimmed);
  if (IsBareEllipsis(trimmed)) return place == CommentPlace::kAlone;
  if (place == CommentPlace::kParagraph &&
      (StartsWith(trimmed, "//") || !(StartsWith(trimmed, "...") || StartsWith(trimmed, "(") ||
                                      StartsWith(trimmed, "[") || StartsWith(trimmed, "<")))) {
    return false;  // an example in the documentation, or a sentence
  }
  constexpr std::string_view kDecoration = " \t\r*-=!/<>()[]{}:;,\"'`";
  std::string_view text = TrimChars(trimmed, kDecoration);
  std::string_view core = TrimChars(text, std::string(kDecoration) + ".");
  if (core.empty()) return false;  // a separator such as "// -----" or "//......"
  std::vector<std::string> words = Words(core);
  int strong = 0, weak = 0, nouns = 0, hints = 0, unknown = 0;
  for (const std::string& word : words) {
    const bool is_strong = IsOneOf(word, kStrongWords), is_weak = IsOneOf(word, kWeakWords),
               is_noun = IsOneOf(word, kNounWords);
    strong += is_strong;
    weak += is_weak;
    nouns += is_noun;
    hints += IsOneOf(word, kHintWords);
    unknown += !is_strong && !is_weak && !is_noun && !IsOneOf(word, kFillerWords);
  }
  const bool says_left_out = strong >= 1 || weak >= 2 || (weak >= 1 && nouns >= 1);
  if (says_left_out && unknown == 0) return true;
  if (place == CommentPlace::kParagraph) return false;
  if (strong >= 1 && strong + weak >= 2 && unknown <= 2 && words.size() <= 10) return true;
  return place == CommentPlace::kAlone && StartsWith(text, "...") && strong + weak + hints >= 1 &&
         unknown <= 2 && words.size() <= 8;
}

struct LineComment {
  size_t start;           // where its "//" or "/*" is on the line
  std::string_view text;  // without the comment markers
};

struct LineComments {
  std::vector<LineComment> comments;
  bool opens_block = false;  // the line ends inside a "/*" it does not close
};

// The comments on a line of C-like code, outside string and character literals.
LineComments CommentsOn(std::string_view line) {
  LineComments found;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '"' ||
        (c == '\'' && (i == 0 || !std::isalnum(static_cast<unsigned char>(line[i - 1]))))) {
      for (++i; i < line.size() && line[i] != c; ++i) {
        if (line[i] == '\\') ++i;
      }
    } else if (c == '/' && i + 1 < line.size() && line[i + 1] == '/') {
      found.comments.push_back({i, line.substr(i + 2)});
      break;
    } else if (c == '/' && i + 1 < line.size() && line[i + 1] == '*') {
      size_t close = line.find("*/", i + 2);
      if (close == std::string_view::npos) {
        found.comments.push_back({i, line.substr(i + 2)});
        found.opens_block = true;
        break;
      }
      found.comments.push_back({i, line.substr(i + 2, close - i - 2)});
      i = close + 1;
    }
  }
  return found;
}

// A line starting with '#' that is not a preprocessor directive: a shell, Python or CMake
// comment (or a model's "# ..." in C++). Returns its text after the '#'s.
std::optional<std::string_view> HashCommentText(std::string_view trimmed) {
  static constexpr std::string_view kDirectives[] = {
      "define", "undef",   "include", "include_next", "import", "if",        "ifdef",
      "ifndef", "elif",    "elifdef", "elifndef",     "else",   "endif",     "pragma",
      "error",  "warning", "line",    "embed",        "region", "endregion", "assert"};
  if (trimmed.empty() || trimmed.front() != '#') return std::nullopt;
  size_t text_start = trimmed.find_first_not_of('#');
  std::string_view after =
      text_start == std::string_view::npos ? std::string_view() : Trim(trimmed.substr(text_start));
  size_t end = 0;
  while (end < after.size() &&
         (std::isalnum(static_cast<unsigned char>(after[end])) || after[end] == '_')) {
    ++end;
  }
  if (IsOneOf(after.substr(0, end), kDirectives)) return std::nullopt;
  return after;
}

bool IsCommentOnlyLine(std::string_view line) {
  std::string_view trimmed = Trim(line);
  return StartsWith(trimmed, "//") || StartsWith(trimmed, "/*") ||
         HashCommentText(trimmed).has_value();
}

// Files where "..." alone on a line is ordinary content: Python's Ellipsis, prose.
bool BareEllipsisIsContent(std::string_view path) {
  for (std::string_view extension : {".py", ".pyi", ".md", ".markdown", ".txt", ".rst"}) {
    if (path.size() >= extension.size() &&
        path.substr(path.size() - extension.size()) == extension) {
      return true;
    }
  }
  return false;
}

// A line of a fenced whole file with the lines around it.
struct LineInContext {
  std::string_view line;
  std::string_view previous;  // the nearest non-blank lines before and after, or ""
  std::string_view next;
  bool comment_before = false;  // the line right before / after carries a comment
  bool comment_after = false;
};

// Whether a line of a fenced whole file (not inside a block comment) is a placeholder for
// left-out code.
bool IsElisionLine(const LineInContext& at, bool bare_ellipsis_is_content) {
  std::string normalized = NormalizeEllipsis(at.line);
  std::string_view line = Trim(normalized);
  if (line.empty()) return false;
  if (IsBareEllipsis(line)) {
    // C's variadic parameter on a line of its own ("const char* format,\n    ...\n);") is code.
    std::string_view previous = Trim(at.previous);
    bool parameter = (!previous.empty() && (previous.back() == ',' || previous.back() == '(')) ||
                     StartsWith(Trim(at.next), ")");
    return !bare_ellipsis_is_content && !parameter;
  }
  const bool in_paragraph = at.comment_before || at.comment_after;
  const CommentPlace alone = in_paragraph ? CommentPlace::kParagraph : CommentPlace::kAlone;
  if (std::optional<std::string_view> comment = HashCommentText(line)) {
    return IsPlaceholderProse(*comment, alone);
  }
  if (StartsWith(line, "<!--")) {
    std::string_view inner = line.substr(4);
    if (inner.size() >= 3 && inner.substr(inner.size() - 3) == "-->") inner.remove_suffix(3);
    return IsPlaceholderProse(inner, alone);
  }
  constexpr std::string_view kOpen = "<[{(", kClose = ">]})";
  size_t bracket = kOpen.find(line.front());
  if (bracket != std::string_view::npos && line.back() == kClose[bracket] &&
      IsPlaceholderProse(line.substr(1, line.size() - 2), CommentPlace::kAlone)) {
    return true;  // "<rest of file>", "[existing code]"
  }
  if (StartsWith(line, "...") && line.find_first_of(";{}") == std::string_view::npos &&
      std::any_of(line.begin(), line.end(),
                  [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }) &&
      IsPlaceholderProse(line, CommentPlace::kAlone)) {
    return true;  // "... rest of the file unchanged ..." without a comment marker
  }
  for (const LineComment& comment : CommentsOn(line).comments) {
    std::string_view code_before = Trim(line.substr(0, comment.start));
    if (code_before.empty()) {
      if (IsPlaceholderProse(comment.text, alone)) return true;
    } else if (IsBareEllipsis(comment.text)) {
      if (code_before.back() == '{') return true;  // "void f() { /* ... */ }", "{  // ..."
    } else if (IsPlaceholderProse(comment.text, CommentPlace::kAfterCode)) {
      return true;
    }
  }
  return false;
}

// The directive of a line as "if", "ifdef", "endif", ... with its argument; empty if none.
std::pair<std::string_view, std::string_view> DirectiveOf(std::string_view line) {
  std::string_view trimmed = Trim(line);
  if (trimmed.empty() || trimmed.front() != '#') return {};
  std::string_view rest = Trim(trimmed.substr(1));
  size_t end = 0;
  while (end < rest.size() && std::isalpha(static_cast<unsigned char>(rest[end]))) ++end;
  return {rest.substr(0, end), Trim(rest.substr(end))};
}

// The index of the first line in lines[begin, end) (a fenced whole file named `path`) that
// stands for left-out code, or `end`. Lines inside a block comment that began on an earlier
// line, or inside "#if 0", are documentation and never count.
size_t FirstElisionLine(const std::vector<std::string>& lines, size_t begin, size_t end,
                        std::string_view path) {
  const bool bare_ellipsis_is_content = BareEllipsisIsContent(path);
  auto has_comment = [&](size_t k) {
    if (k < begin || k >= end) return false;
    std::string_view line = Trim(lines[k]);
    return IsCommentOnlyLine(line) || StartsWith(line, "*") || !CommentsOn(line).comments.empty();
  };
  auto non_blank = [&](size_t k, int step) -> std::string_view {
    for (; k >= begin && k < end; k += step) {
      if (!Trim(lines[k]).empty()) return lines[k];
    }
    return {};
  };
  bool in_block = false;
  int if0_depth = 0;  // > 0: inside "#if 0", counting the conditionals nested in it
  for (size_t j = begin; j < end; ++j) {
    std::string_view line = lines[j];
    if (in_block) {
      size_t close = line.find("*/");
      if (close == std::string_view::npos) continue;
      in_block = CommentsOn(line.substr(close + 2)).opens_block;
      continue;
    }
    auto [directive, argument] = DirectiveOf(line);
    if (if0_depth > 0 || (directive == "if" && Words(argument) == std::vector<std::string>{"0"})) {
      if (StartsWith(directive, "if")) ++if0_depth;
      if (directive == "endif") --if0_depth;
      continue;
    }
    // A block comment going on to the next line is documentation like a // paragraph.
    in_block = CommentsOn(line).opens_block;
    LineInContext at{line, non_blank(j - 1, -1), non_blank(j + 1, 1), has_comment(j - 1),
                     in_block || has_comment(j + 1)};
    if (IsElisionLine(at, bare_ellipsis_is_content)) return j;
  }
  return end;
}

bool IsHunkHeader(std::string_view line) {
  return StartsWith(line, "@@");
}

bool IsFileHeaderAt(const std::vector<std::string>& lines, size_t i) {
  if (StartsWith(lines[i], "diff --git ")) return true;
  return StartsWith(lines[i], "--- ") && i + 1 < lines.size() && StartsWith(lines[i + 1], "+++ ");
}

bool LooksLikePath(std::string_view token) {
  if (token.empty() || token.size() > 512) return false;
  bool has_separator = false;
  for (char c : token) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+') continue;
    if (c == '.' || c == '/' || c == '\\') {
      has_separator = true;
      continue;
    }
    return false;
  }
  // "..." or "." alone are punctuation, not files.
  return has_separator && token.find_first_not_of("./") != std::string_view::npos;
}

// The path a line names when the line is nothing but a path, possibly dressed in markdown:
// "kernels/x.cpp", "`kernels/x.cpp`", "**kernels/x.cpp:**", "### File: kernels/x.cpp".
std::string BarePath(std::string_view line) {
  std::string_view text = Trim(line);
  while (!text.empty() && text.front() == '#') text.remove_prefix(1);
  text = Trim(text);
  for (std::string_view label : {"File:", "file:", "FILE:", "Path:", "path:", "Filename:"}) {
    if (StartsWith(text, label)) text = Trim(text.substr(label.size()));
  }
  auto strip = [&text](std::string_view chars) {
    while (!text.empty() && chars.find(text.front()) != std::string_view::npos) {
      text.remove_prefix(1);
    }
    while (!text.empty() && chars.find(text.back()) != std::string_view::npos) {
      text.remove_suffix(1);
    }
  };
  strip("*`'\": ");
  return LooksLikePath(text) ? std::string(text) : std::string();
}

// The path in a fence's info string: "cpp kernels/x.cpp", "kernels/x.cpp", "cpp:kernels/x.cpp",
// "cpp title=kernels/x.cpp".
std::string FencePath(std::string_view info) {
  size_t start = 0;
  while (start < info.size()) {
    size_t end = info.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = info.size();
    std::string_view token = info.substr(start, end - start);
    size_t cut = token.find_last_of(":=");
    if (cut != std::string_view::npos) token = token.substr(cut + 1);
    std::string path = BarePath(token);
    if (!path.empty()) return path;
    start = end + 1;
  }
  return "";
}

// "a/x.cpp\t2024-01-01 ..." -> "a/x.cpp"; "\"a/my file.c\"" -> "a/my file.c".
std::string HeaderPath(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '"') {
    size_t close = text.find('"', 1);
    if (close != std::string_view::npos) return std::string(text.substr(1, close - 1));
  }
  size_t cut = text.find_first_of("\t ");
  return std::string(text.substr(0, cut));
}

int ParseNumber(std::string_view text, size_t& pos) {
  if (pos >= text.size() || !std::isdigit(static_cast<unsigned char>(text[pos]))) return -1;
  long value = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    value = value * 10 + (text[pos++] - '0');
    if (value > 100000000) return -1;
  }
  return static_cast<int>(value);
}

// "@@ -a,b +c,d @@ ..." with the counts optional; anything unreadable leaves -1.
void ParseHunkHeader(std::string_view line, Hunk& hunk) {
  size_t pos = line.find_first_not_of('@');
  if (pos == std::string_view::npos) return;
  while (pos < line.size() && line[pos] == ' ') ++pos;
  if (pos >= line.size() || line[pos] != '-') return;
  ++pos;
  int old_start = ParseNumber(line, pos);
  int old_count = 1;
  if (old_start < 0) return;
  if (pos < line.size() && line[pos] == ',') old_count = ParseNumber(line, ++pos);
  while (pos < line.size() && line[pos] == ' ') ++pos;
  int new_start = -1, new_count = 1;
  if (pos < line.size() && line[pos] == '+') {
    new_start = ParseNumber(line, ++pos);
    if (pos < line.size() && line[pos] == ',') new_count = ParseNumber(line, ++pos);
  }
  hunk.old_start = old_start;
  hunk.old_count = old_count;
  hunk.new_start = new_start;
  hunk.new_count = new_start < 0 ? -1 : new_count;
}

bool IsHunkBodyLine(const std::string& line) {
  return !line.empty() && (line[0] == ' ' || line[0] == '+' || line[0] == '-');
}

class ReplyParser {
 public:
  ReplyParser(std::string_view reply, std::string_view default_path)
      : lines_(SplitReply(reply)), default_path_(default_path) {}

  ParsedReply Parse() {
    size_t i = 0;
    while (i < lines_.size() && result_.error.empty()) i = Step(i);
    if (result_.error.empty() && result_.changes.empty()) {
      result_.error =
          "no patch found: expected a unified diff, SEARCH/REPLACE blocks or a fenced whole file";
    }
    return std::move(result_);
  }

 private:
  // Reads whatever starts at line i; returns the next line to read.
  size_t Step(size_t i) {
    const std::string& line = lines_[i];
    if (IsSearchStart(line)) return ParseSearchReplace(i);
    if (IsFileHeaderAt(lines_, i)) return ParseFileHeader(i);
    if (IsHunkHeader(line)) return ParseLooseHunk(i);
    if (StartsWith(line, "+++ ") && i + 1 < lines_.size() && IsHunkHeader(lines_[i + 1])) {
      return ParseFileHeader(i);  // "+++ b/PATH" without its "--- a/PATH" line
    }
    if (StartsWith(line, "Binary files ") || StartsWith(line, "GIT binary patch")) {
      FileChange change;
      change.reply_line = static_cast<int>(i) + 1;
      change.refusal = "binary patches are not supported";
      result_.changes.push_back(std::move(change));
      current_diff_ = -1;
      return i + 1;
    }
    if (std::optional<std::string> info = FenceInfo(line)) {
      if (in_fence_) {  // closing the fence we stepped into
        in_fence_ = false;
        fence_path_.clear();
        return i + 1;
      }
      return ParseFence(i, *info);
    }
    return i + 1;  // prose
  }

  size_t FindFenceClose(size_t open) const {
    for (size_t j = open + 1; j < lines_.size(); ++j) {
      std::optional<std::string> info = FenceInfo(lines_[j]);
      if (info && info->empty()) return j;
    }
    return lines_.size();
  }

  // A fence either wraps diffs / SEARCH/REPLACE blocks (step inside it) or holds a whole file
  // (when labelled with a path) or is just a code sample (skipped).
  size_t ParseFence(size_t open, const std::string& info) {
    size_t close = FindFenceClose(open);
    std::string path = FencePath(info);
    if (path.empty()) path = PathOnLineBefore(open);
    for (size_t j = open + 1; j < close; ++j) {
      if (IsSearchStart(lines_[j]) || IsFileHeaderAt(lines_, j) || IsHunkHeader(lines_[j])) {
        in_fence_ = true;
        fence_path_ = path;
        return open + 1;
      }
    }
    if (path.empty() || close == lines_.size()) return close + 1;
    FileChange change;
    change.kind = ChangeKind::kWholeFile;
    change.old_path = change.new_path = path;
    change.reply_line = static_cast<int>(open) + 1;
    size_t elided = FirstElisionLine(lines_, open + 1, close, path);
    if (elided != close) {
      change.refusal = "the fenced file " + path + " looks elided: its line " +
                       std::to_string(elided - open) + " (reply line " +
                       std::to_string(elided + 1) + ") '" + std::string(Trim(lines_[elided])) +
                       "' stands for code left out; send the complete file, a diff or "
                       "SEARCH/REPLACE blocks";
    }
    for (size_t j = open + 1; j < close; ++j) change.content.push_back(lines_[j]);
    result_.changes.push_back(std::move(change));
    return close + 1;
  }

  // The nearest line above `i` that is only a path (skipping blank lines and fence openers whose
  // info names no path); empty when there is none.
  std::string PathOnLineBefore(size_t i) const {
    for (size_t back = 1; back <= 3 && back <= i; ++back) {
      const std::string& line = lines_[i - back];
      if (Trim(line).empty()) continue;
      if (std::optional<std::string> info = FenceInfo(line)) {
        std::string path = FencePath(*info);
        if (!path.empty()) return path;
        continue;
      }
      return BarePath(line);
    }
    return "";
  }

  // For SEARCH/REPLACE blocks only (their SEARCH text must still match, so a wrong guess is
  // refused, never misapplied): the one `backticked` path in a prose line above the block.
  std::string BacktickedPathBefore(size_t i) const {
    for (size_t back = 1; back <= 3 && back <= i; ++back) {
      const std::string& line = lines_[i - back];
      if (Trim(line).empty() || IsFence(line)) continue;
      std::string found;
      int count = 0;
      for (size_t open = line.find('`'); open != std::string::npos;) {
        size_t close = line.find('`', open + 1);
        if (close == std::string::npos) break;
        std::string token = line.substr(open + 1, close - open - 1);
        if (LooksLikePath(token)) {
          found = token;
          ++count;
        }
        open = line.find('`', close + 1);
      }
      return count == 1 ? found : "";
    }
    return "";
  }

  size_t ParseSearchReplace(size_t start) {
    std::string path = PathOnLineBefore(start);
    if (path.empty()) path = BacktickedPathBefore(start);
    if (path.empty()) path = fence_path_;
    if (path.empty()) path = last_search_path_;
    if (path.empty()) path = std::string(default_path_);
    if (path.empty()) {
      result_.error = "SEARCH/REPLACE block at reply line " + std::to_string(start + 1) +
                      " does not say which file it edits: put the file's path on the line before "
                      "it";
      return lines_.size();
    }
    last_search_path_ = path;
    Hunk hunk;
    hunk.reply_line = static_cast<int>(start) + 1;
    size_t i = start + 1;
    while (i < lines_.size() && !IsDivider(lines_[i])) {
      if (IsSearchStart(lines_[i]) || IsReplaceEnd(lines_[i])) break;
      hunk.lines.push_back({'-', lines_[i++]});
    }
    if (i == lines_.size() || !IsDivider(lines_[i])) {
      result_.error = "SEARCH/REPLACE block at reply line " + std::to_string(start + 1) +
                      " has no ======= line after its SEARCH part";
      return lines_.size();
    }
    ++i;
    while (i < lines_.size() && !IsReplaceEnd(lines_[i])) {
      if (IsSearchStart(lines_[i]) || IsDivider(lines_[i])) break;
      hunk.lines.push_back({'+', lines_[i++]});
    }
    if (i == lines_.size() || !IsReplaceEnd(lines_[i])) {
      result_.error = "SEARCH/REPLACE block at reply line " + std::to_string(start + 1) +
                      " is not closed by >>>>>>> REPLACE";
      return lines_.size();
    }
    FileChange change;
    change.kind = ChangeKind::kSearchReplace;
    change.old_path = change.new_path = path;
    change.reply_line = hunk.reply_line;
    change.hunks.push_back(std::move(hunk));
    result_.changes.push_back(std::move(change));
    return i + 1;
  }

  size_t ParseFileHeader(size_t i) {
    FileChange change;
    change.reply_line = static_cast<int>(i) + 1;
    if (StartsWith(lines_[i], "diff --git ")) {
      SplitGitPaths(std::string_view(lines_[i]).substr(11), change);
      ++i;
      while (i < lines_.size() && !IsHunkHeader(lines_[i]) && !IsFence(lines_[i]) &&
             !IsFileHeaderAt(lines_, i)) {
        const std::string& line = lines_[i];
        if (StartsWith(line, "new file mode ")) {
          change.old_path = kDevNull;
          std::string mode = std::string(Trim(std::string_view(line).substr(14)));
          if (mode == "120000") {
            change.refusal = "symlinks are not supported";
          } else if (mode != "100644") {
            change.refusal = "new file mode " + mode + " is not supported (only 100644)";
          }
        } else if (StartsWith(line, "deleted file mode ")) {
          change.new_path = kDevNull;
        } else if (StartsWith(line, "old mode ") || StartsWith(line, "new mode ")) {
          change.refusal = "mode changes are not supported";
        } else if (StartsWith(line, "rename ") || StartsWith(line, "copy ") ||
                   StartsWith(line, "similarity index") ||
                   StartsWith(line, "dissimilarity index")) {
          if (change.refusal.empty()) change.refusal = "renames and copies are not supported";
        } else if (StartsWith(line, "Binary files ") || StartsWith(line, "GIT binary patch")) {
          change.refusal = "binary patches are not supported";
        } else if (!StartsWith(line, "index ")) {
          break;
        }
        ++i;
      }
    }
    if (i + 1 < lines_.size() && StartsWith(lines_[i], "--- ") &&
        StartsWith(lines_[i + 1], "+++ ")) {
      change.old_path = HeaderPath(std::string_view(lines_[i]).substr(4));
      change.new_path = HeaderPath(std::string_view(lines_[i + 1]).substr(4));
      i += 2;
    } else if (change.new_path.empty() && StartsWith(lines_[i], "+++ ")) {
      change.old_path = change.new_path = HeaderPath(std::string_view(lines_[i]).substr(4));
      ++i;
    }
    change.git_prefixes = (StartsWith(change.old_path, "a/") || change.old_path == kDevNull) &&
                          (StartsWith(change.new_path, "b/") || change.new_path == kDevNull);
    result_.changes.push_back(std::move(change));
    current_diff_ = static_cast<int>(result_.changes.size()) - 1;
    while (i < lines_.size() && IsHunkHeader(lines_[i])) i = ParseHunk(i, current_diff_);
    return i;
  }

  // "diff --git a/x b/x": split where the two halves name the same file when possible.
  static void SplitGitPaths(std::string_view rest, FileChange& change) {
    rest = Trim(rest);
    for (size_t pos = rest.find(" b/"); pos != std::string_view::npos;
         pos = rest.find(" b/", pos + 1)) {
      std::string_view left = rest.substr(0, pos), right = rest.substr(pos + 1);
      if (StartsWith(left, "a/") && left.substr(2) == right.substr(2)) {
        change.old_path = std::string(left);
        change.new_path = std::string(right);
        return;
      }
    }
    size_t space = rest.find(' ');
    change.old_path = std::string(rest.substr(0, space));
    change.new_path =
        space == std::string_view::npos ? change.old_path : std::string(Trim(rest.substr(space)));
  }

  // A hunk header with no file header right before it: it continues the current diff, or edits
  // the file named by the enclosing fence or the default path.
  size_t ParseLooseHunk(size_t i) {
    bool continues =
        current_diff_ >= 0 &&
        (fence_path_.empty() || result_.changes[current_diff_].new_path == fence_path_ ||
         result_.changes[current_diff_].new_path == "b/" + fence_path_);
    if (!continues) {
      std::string path = !fence_path_.empty() ? fence_path_ : std::string(default_path_);
      if (path.empty()) {
        result_.error = "hunk at reply line " + std::to_string(i + 1) +
                        " has no file header: start the diff with '--- a/PATH' and '+++ b/PATH'";
        return lines_.size();
      }
      FileChange change;
      change.old_path = change.new_path = path;
      change.reply_line = static_cast<int>(i) + 1;
      result_.changes.push_back(std::move(change));
      current_diff_ = static_cast<int>(result_.changes.size()) - 1;
    }
    return ParseHunk(i, current_diff_);
  }

  size_t ParseHunk(size_t header, int change_index) {
    Hunk hunk;
    hunk.reply_line = static_cast<int>(header) + 1;
    ParseHunkHeader(lines_[header], hunk);
    std::vector<bool> from_blank;  // added for an empty reply line (maybe just a separator)
    int old_seen = 0, new_seen = 0;
    size_t i = header + 1;
    for (; i < lines_.size(); ++i) {
      const std::string& line = lines_[i];
      // Only an unindented fence ends a hunk: " ```" is a context line.
      bool fence = StartsWith(line, "```") || StartsWith(line, "~~~");
      if (IsHunkHeader(line) || IsFileHeaderAt(lines_, i) || fence || IsSearchStart(line)) {
        break;
      }
      bool counts_reached = hunk.old_count >= 0 && hunk.new_count >= 0 &&
                            old_seen >= hunk.old_count && new_seen >= hunk.new_count;
      char kind;
      std::string text;
      bool blank = false;
      if (line.empty()) {
        kind = ' ';
        blank = true;
      } else if (line[0] == '\\') {
        if (!hunk.lines.empty()) {
          char last = hunk.lines.back().kind;
          if (last != '+') hunk.old_missing_final_newline = true;
          if (last != '-') hunk.new_missing_final_newline = true;
        }
        continue;
      } else if (IsHunkBodyLine(line)) {
        kind = line[0];
        text = line.substr(1);
      } else if (!counts_reached && i + 1 < lines_.size() && IsHunkBodyLine(lines_[i + 1]) &&
                 !IsFileHeaderAt(lines_, i + 1)) {
        kind = ' ';  // a context line that lost its leading space, mid-hunk
        text = line;
      } else {
        break;
      }
      hunk.lines.push_back({kind, std::move(text)});
      from_blank.push_back(blank);
      if (kind != '+') ++old_seen;
      if (kind != '-') ++new_seen;
    }
    // Blank lines at the end of a hunk are separators unless the header's counts want them.
    while (!hunk.lines.empty() && from_blank.back() &&
           !(hunk.old_count == old_seen && hunk.new_count == new_seen)) {
      hunk.lines.pop_back();
      from_blank.pop_back();
      --old_seen;
      --new_seen;
    }
    if (hunk.lines.empty()) {
      result_.error = "hunk at reply line " + std::to_string(header + 1) + " has no lines";
      return lines_.size();
    }
    result_.changes[change_index].hunks.push_back(std::move(hunk));
    return i;
  }

  std::vector<std::string> lines_;
  std::string_view default_path_;
  ParsedReply result_;
  int current_diff_ = -1;
  bool in_fence_ = false;
  std::string fence_path_;
  std::string last_search_path_;
};

}  // namespace

ParsedReply ParseReply(std::string_view reply, std::string_view default_path) {
  return ReplyParser(reply, default_path).Parse();
}

}  // namespace rlvr
