#include "harness/verify/include_check.h"

#include <regex>

#include <fmt/format.h>

namespace rlvr {

namespace {

namespace fs = std::filesystem;

// One logical line of the translation phases 1-3: trigraph ??= and digraph %: read as '#',
// backslash-newlines spliced, comments replaced by a space (string and character literals kept),
// with the physical line it starts on.
struct LogicalLine {
  int line = 1;
  std::string text;
};

std::vector<LogicalLine> LogicalLines(const std::string& source) {
  std::vector<LogicalLine> lines;
  LogicalLine current;
  int physical = 1;
  enum { kCode, kString, kChar, kBlockComment, kLineComment } state = kCode;
  for (size_t i = 0; i < source.size(); ++i) {
    char c = source[i];
    if (c == '\\' && i + 1 < source.size() &&
        (source[i + 1] == '\n' ||
         (source[i + 1] == '\r' && i + 2 < source.size() && source[i + 2] == '\n'))) {
      i += source[i + 1] == '\r' ? 2 : 1;
      ++physical;
      continue;  // spliced: the logical line goes on
    }
    if (c == '\n') {
      ++physical;
      if (state == kBlockComment) continue;  // a comment spans lines: one logical line
      if (state == kLineComment || state == kString || state == kChar) state = kCode;
      lines.push_back(current);
      current = LogicalLine{physical, ""};
      continue;
    }
    switch (state) {
      case kCode:
        if (c == '/' && i + 1 < source.size() && source[i + 1] == '/') {
          state = kLineComment;
          current.text += ' ';
          ++i;
        } else if (c == '/' && i + 1 < source.size() && source[i + 1] == '*') {
          state = kBlockComment;
          current.text += ' ';
          ++i;
        } else if (c == '?' && source.compare(i, 3, "?\?=") == 0) {
          current.text += '#';
          i += 2;
        } else if (c == '%' && i + 1 < source.size() && source[i + 1] == ':') {
          current.text += '#';
          ++i;
        } else {
          if (c == '"') state = kString;
          if (c == '\'') state = kChar;
          current.text += c;
        }
        break;
      case kString:
      case kChar:
        current.text += c;
        if (c == '\\' && i + 1 < source.size()) {
          current.text += source[++i];
        } else if ((state == kString && c == '"') || (state == kChar && c == '\'')) {
          state = kCode;
        }
        break;
      case kBlockComment:
        if (c == '*' && i + 1 < source.size() && source[i + 1] == '/') {
          state = kCode;
          ++i;
        }
        break;
      case kLineComment:
        break;
    }
  }
  if (!current.text.empty()) lines.push_back(current);
  return lines;
}

// Whether `path` is inside `root` once links and ".." are resolved.
bool StaysInside(const fs::path& path, const fs::path& root) {
  std::error_code ec;
  fs::path real = fs::weakly_canonical(path, ec);
  if (ec) return false;
  std::string relative = real.lexically_relative(fs::weakly_canonical(root, ec)).generic_string();
  return !ec && !relative.empty() && relative.rfind("..", 0) != 0;
}

// A quoted operand may not be absolute, nor climb out of the repository from the including file,
// nor be a link of the repository to a file outside it. Names found nowhere in the repository are
// left to the build's include directories (which candidates cannot change); the source check of
// added lines is stricter (harness/verify/symbol_check.h).
std::string CheckQuoted(const std::string& name, const std::string& file,
                        const fs::path& repo_root) {
  if (!name.empty() && name.front() == '/')
    return fmt::format("#include \"{}\": an absolute path (must name a file inside the repository)",
                       name);
  const fs::path beside = repo_root / fs::path(file).parent_path() / name;
  if (name.find("..") != std::string::npos && !StaysInside(beside, repo_root))
    return fmt::format("#include \"{}\": leads out of the repository", name);
  std::error_code ec;
  for (const fs::path& candidate : {beside, repo_root / name}) {
    if (fs::exists(candidate, ec) && !StaysInside(candidate, repo_root))
      return fmt::format("#include \"{}\": a link to a file outside the repository", name);
  }
  return "";
}

}  // namespace

std::vector<std::string> CheckIncludeOperands(const std::string& text, const std::string& file,
                                              const fs::path& repo_root) {
  static const std::regex directive_re(R"(^\s*#\s*(include_next|include|import|embed)\b\s*(.*)$)");
  static const std::regex has_include_re(R"(__has_include(_next)?\b\s*(\(\s*(.?))?)");
  static const std::regex literal_re(R"re(^(?:"([^"]*)"|<([^>]*)>)\s*$)re");
  // `#define NAME __has_include` (xxHash's XXH_HAS_INCLUDE): NAME(...) is then a __has_include
  // too, and its operand is held to the same rule; the alias itself is no invocation.
  static const std::regex alias_re(R"(^\s*#\s*define\s+(\w+)\s+__has_include(_next)?\s*$)");
  // Testing whether the operator exists is no invocation either.
  static const std::regex exists_re(R"(^\s*#\s*(ifdef|ifndef)\s+__has_include(_next)?\s*$)");
  static const std::regex defined_before_re(R"(defined\s*\(?\s*$)");
  const std::vector<LogicalLine> lines = LogicalLines(text);
  std::vector<std::string> aliases;
  for (const LogicalLine& logical : lines) {
    std::smatch alias;
    if (std::regex_match(logical.text, alias, alias_re)) aliases.push_back(alias[1]);
  }
  std::string alias_pattern;
  for (const std::string& alias : aliases)
    alias_pattern += (alias_pattern.empty() ? "" : "|") + alias;
  const std::regex alias_call_re(alias_pattern.empty()
                                     ? std::string("(?!)")
                                     : R"(\b()" + alias_pattern + R"()\b\s*(\(\s*(.?))?)");
  std::vector<std::string> problems;
  for (const LogicalLine& logical : lines) {
    const std::string where = fmt::format("{}:{}", file, logical.line);
    std::smatch m;
    if (std::regex_search(logical.text, m, directive_re)) {
      const std::string directive = m[1];
      const std::string operand = m[2];
      std::smatch literal;
      if (directive == "include_next" || directive == "embed") {
        problems.push_back(
            fmt::format("{}: #{}: not allowed in a kernel (a plain #include of a "
                        "file of the repository or a standard header is)",
                        where, directive));
      } else if (!std::regex_match(operand, literal, literal_re)) {
        problems.push_back(fmt::format(
            "{}: #{} {}: the operand must be a literal \"file\" or <header> (a computed include "
            "could make the compiler read any file)",
            where, directive, operand.substr(0, 80)));
      } else if (literal[1].matched) {
        if (std::string reason = CheckQuoted(literal[1], file, repo_root); !reason.empty())
          problems.push_back(where + ": " + reason);
      }
      continue;
    }
    if (std::regex_match(logical.text, alias_re) || std::regex_match(logical.text, exists_re))
      continue;
    for (auto it = std::sregex_iterator(logical.text.begin(), logical.text.end(), has_include_re);
         it != std::sregex_iterator(); ++it) {
      const std::string next = (*it)[3];
      if (next == "\"" || next == "<") continue;
      const std::string before = logical.text.substr(0, static_cast<size_t>(it->position()));
      if (!(*it)[2].matched && std::regex_search(before, defined_before_re)) continue;
      problems.push_back(fmt::format(
          "{}: __has_include{} of a computed operand: only a literal \"file\" or <header> "
          "may be named",
          where, (*it)[1].str()));
    }
    // Naming the alias in #ifdef, #ifndef or #undef, or defining it, is no call of it; a
    // #define's body is still read (it may call the alias).
    static const std::regex names_macro_re(R"(^\s*#\s*(ifdef|ifndef|undef)\b)");
    static const std::regex define_head_re(R"(^\s*#\s*define\s+\w+(\([^)]*\))?)");
    if (std::regex_search(logical.text, names_macro_re)) continue;
    std::smatch head;
    const std::string body = std::regex_search(logical.text, head, define_head_re)
                                 ? logical.text.substr(static_cast<size_t>(head.length(0)))
                                 : logical.text;
    for (auto it = std::sregex_iterator(body.begin(), body.end(), alias_call_re);
         it != std::sregex_iterator(); ++it) {
      const std::string next = (*it)[3];
      if (next == "\"" || next == "<") continue;
      const std::string before = body.substr(0, static_cast<size_t>(it->position()));
      if (!(*it)[2].matched && std::regex_search(before, defined_before_re)) continue;
      problems.push_back(fmt::format(
          "{}: {} (= __has_include) of a computed operand: only a literal \"file\" or <header> "
          "may be named",
          where, (*it)[1].str()));
    }
  }
  return problems;
}

}  // namespace rlvr
