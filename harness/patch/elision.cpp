#include "harness/patch/elision.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <utility>

#include "harness/patch/reply_text.h"

namespace rlvr {
namespace {

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

}  // namespace

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

}  // namespace rlvr
