#include "harness/repo/mutants.h"

#include <algorithm>
#include <cctype>
#include <random>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace rlvr {

namespace {

enum class TokenKind { kIdentifier, kNumber, kPunct, kString, kChar };

struct Token {
  TokenKind kind;
  size_t begin;
  size_t end;
  int line;
  int paren_depth;  // '(' open around the token (a for-header or call arguments when > 0)
  bool in_define = false;
};

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
bool IsDigit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// Punctuators, longest first so the lexer takes the longest match ("->" is never "-" ">").
constexpr std::string_view kPuncts[] = {"<<=", ">>=", "<=>", "->*", "...", "->", "++", "--", "<<",
                                        ">>",  "<=",  ">=",  "==",  "!=",  "&&", "||", "+=", "-=",
                                        "*=",  "/=",  "%=",  "&=",  "|=",  "^=", "::", ".*", "##"};

// A lexer for C and C++ good enough to find mutation sites: it never mistakes a comment, a
// string or a character literal for code. Preprocessor lines are skipped, except a #define's
// body (its constants and operators are code: `#define NMAX 5552`).
class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  std::vector<Token> Run() {
    while (pos_ < text_.size()) Step();
    return std::move(tokens_);
  }

 private:
  char At(size_t i) const { return i < text_.size() ? text_[i] : '\0'; }

  void Newline() {
    ++line_;
    at_line_start_ = true;
    if (!continued_) in_define_ = false;
  }

  void Advance(size_t count) {
    for (size_t i = 0; i < count && pos_ < text_.size(); ++i) {
      if (text_[pos_] == '\n') Newline();
      ++pos_;
    }
  }

  void Emit(TokenKind kind, size_t begin, size_t end, int line) {
    tokens_.push_back({kind, begin, end, line, paren_depth_, in_define_});
  }

  // Skips to the end of a logical line (backslash continuations), leaving pos_ at the '\n'.
  void SkipLogicalLine() {
    while (pos_ < text_.size() && text_[pos_] != '\n') {
      if (text_[pos_] == '\\' && At(pos_ + 1) == '\n') {
        pos_ += 2;
        ++line_;
        continue;
      }
      if (text_[pos_] == '/' && At(pos_ + 1) == '*') {
        SkipBlockComment();
        continue;
      }
      ++pos_;
    }
  }

  void SkipBlockComment() {
    size_t close = text_.find("*/", pos_ + 2);
    size_t end = close == std::string_view::npos ? text_.size() : close + 2;
    for (size_t i = pos_; i < end; ++i) {
      if (text_[i] == '\n') ++line_;  // a comment does not end a #define's continued line
    }
    pos_ = end;
  }

  void Directive() {
    ++pos_;  // '#'
    while (At(pos_) == ' ' || At(pos_) == '\t') ++pos_;
    size_t name_begin = pos_;
    while (IsIdentChar(At(pos_))) ++pos_;
    std::string_view name = text_.substr(name_begin, pos_ - name_begin);
    if (name != "define") {
      SkipLogicalLine();
      return;
    }
    while (At(pos_) == ' ' || At(pos_) == '\t') ++pos_;
    while (IsIdentChar(At(pos_))) ++pos_;  // the macro's name
    if (At(pos_) == '(') {                 // a function-like macro's parameters
      size_t close = text_.find(')', pos_);
      pos_ = close == std::string_view::npos ? text_.size() : close + 1;
    }
    in_define_ = true;
  }

  void Quoted(char quote, TokenKind kind) {
    size_t begin = pos_;
    int line = line_;
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote && text_[pos_] != '\n') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) {
        if (text_[pos_ + 1] == '\n') ++line_;
        ++pos_;
      }
      ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == quote) ++pos_;
    Emit(kind, begin, pos_, line);
  }

  void RawString(size_t begin) {  // pos_ at the '"' after R
    int line = line_;
    size_t open = text_.find('(', pos_);
    if (open == std::string_view::npos) {
      pos_ = text_.size();
      return;
    }
    std::string closing(1, ')');
    closing.append(text_.substr(pos_ + 1, open - pos_ - 1));
    closing.push_back('"');
    size_t close = text_.find(closing, open);
    size_t end = close == std::string_view::npos ? text_.size() : close + closing.size();
    for (size_t i = pos_; i < end; ++i) {
      if (text_[i] == '\n') ++line_;
    }
    pos_ = end;
    Emit(TokenKind::kString, begin, end, line);
  }

  void Step() {
    char c = text_[pos_];
    if (c == '\n') {
      continued_ = false;
      Newline();
      ++pos_;
      return;
    }
    if (c == '\\' && At(pos_ + 1) == '\n') {
      pos_ += 2;
      ++line_;  // a continued line stays one logical line (a #define body goes on)
      return;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ++pos_;
      return;
    }
    bool line_start = at_line_start_;
    at_line_start_ = false;
    if (c == '#' && line_start) {
      Directive();
      return;
    }
    if (c == '/' && At(pos_ + 1) == '/') {
      while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      return;
    }
    if (c == '/' && At(pos_ + 1) == '*') {
      SkipBlockComment();
      return;
    }
    if (c == '"') return Quoted('"', TokenKind::kString);
    if (c == '\'') return Quoted('\'', TokenKind::kChar);
    if (IsDigit(c) || (c == '.' && IsDigit(At(pos_ + 1)))) {
      size_t begin = pos_;
      while (pos_ < text_.size()) {
        char d = text_[pos_];
        if ((d == 'e' || d == 'E' || d == 'p' || d == 'P') &&
            (At(pos_ + 1) == '+' || At(pos_ + 1) == '-')) {
          pos_ += 2;
        } else if (IsIdentChar(d) || d == '.' || (d == '\'' && IsIdentChar(At(pos_ + 1)))) {
          ++pos_;
        } else {
          break;
        }
      }
      Emit(TokenKind::kNumber, begin, pos_, line_);
      return;
    }
    if (IsIdentStart(c)) {
      size_t begin = pos_;
      while (IsIdentChar(At(pos_))) ++pos_;
      std::string_view word = text_.substr(begin, pos_ - begin);
      // A string or character literal's prefix (u8"", L'x', R"(...)") belongs to the literal.
      if (At(pos_) == '"' &&
          (word == "R" || word == "u8R" || word == "uR" || word == "UR" || word == "LR")) {
        return RawString(begin);
      }
      if ((At(pos_) == '"' || At(pos_) == '\'') &&
          (word == "u8" || word == "u" || word == "U" || word == "L")) {
        size_t literal_begin = begin;
        Quoted(At(pos_), At(pos_) == '"' ? TokenKind::kString : TokenKind::kChar);
        tokens_.back().begin = literal_begin;
        return;
      }
      Emit(TokenKind::kIdentifier, begin, pos_, line_);
      return;
    }
    for (std::string_view punct : kPuncts) {
      if (text_.substr(pos_, punct.size()) == punct) {
        Emit(TokenKind::kPunct, pos_, pos_ + punct.size(), line_);
        pos_ += punct.size();
        return;
      }
    }
    if (c == '(') {
      Emit(TokenKind::kPunct, pos_, pos_ + 1, line_);
      ++paren_depth_;
      ++pos_;
      return;
    }
    if (c == ')') {
      if (paren_depth_ > 0) --paren_depth_;
      Emit(TokenKind::kPunct, pos_, pos_ + 1, line_);
      ++pos_;
      return;
    }
    Emit(TokenKind::kPunct, pos_, pos_ + 1, line_);
    ++pos_;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  int paren_depth_ = 0;
  bool at_line_start_ = true;
  bool in_define_ = false;
  bool continued_ = false;
  std::vector<Token> tokens_;
};

// Finds the sites over the tokens of one text.
class SiteFinder {
 public:
  SiteFinder(std::string_view text, std::vector<Token> tokens)
      : text_(text), tokens_(std::move(tokens)) {}

  std::vector<MutationSite> Run() {
    MarkTemplateBrackets();
    for (size_t i = 0; i < tokens_.size(); ++i) Visit(i);
    std::stable_sort(
        sites_.begin(), sites_.end(),
        [](const MutationSite& a, const MutationSite& b) { return a.begin < b.begin; });
    return std::move(sites_);
  }

 private:
  std::string_view Text(size_t i) const {
    return text_.substr(tokens_[i].begin, tokens_[i].end - tokens_[i].begin);
  }
  bool Is(size_t i, std::string_view what) const {
    return i < tokens_.size() && tokens_[i].kind == TokenKind::kPunct && Text(i) == what;
  }
  bool IsIdent(size_t i) const {
    return i < tokens_.size() && tokens_[i].kind == TokenKind::kIdentifier;
  }

  // Whether token i ends an operand, so a following + - * / % < ... is a binary operator.
  bool EndsOperand(size_t i) const {
    if (i >= tokens_.size()) return false;
    const Token& t = tokens_[i];
    if (t.kind == TokenKind::kNumber || t.kind == TokenKind::kString || t.kind == TokenKind::kChar)
      return true;
    if (t.kind == TokenKind::kIdentifier) {
      static const std::set<std::string_view> kNotOperands = {
          "return", "case",     "throw", "else",  "do",     "sizeof",   "co_return", "co_yield",
          "new",    "delete",   "const", "int",   "float",  "double",   "char",      "void",
          "auto",   "unsigned", "long",  "short", "signed", "bool",     "volatile",  "struct",
          "class",  "typename", "using", "goto",  "static", "operator", "template",  "constexpr"};
      return !kNotOperands.contains(Text(i));
    }
    return Is(i, ")") || Is(i, "]");
  }

  // Whether an identifier names a type (a pointer or reference declaration follows it).
  bool LooksLikeType(size_t i) const {
    if (!IsIdent(i)) return Is(i, ">");  // std::vector<int>* p
    std::string_view word = Text(i);
    return word.size() > 2 && word.substr(word.size() - 2) == "_t";
  }

  bool SpacedBothSides(size_t i) const {
    const Token& t = tokens_[i];
    auto space = [&](size_t at) { return at < text_.size() && (text_[at] == ' '); };
    return t.begin > 0 && space(t.begin - 1) && space(t.end);
  }
  bool SpacingSymmetric(size_t i) const {
    const Token& t = tokens_[i];
    bool before = t.begin > 0 && (text_[t.begin - 1] == ' ' || text_[t.begin - 1] == '\t');
    bool after = t.end < text_.size() && (text_[t.end] == ' ' || text_[t.end] == '\t');
    return before == after;
  }

  // `<` ... `>` pairs on one line holding only names, numbers, '::', ',', '*', '&': template
  // argument lists, not comparisons.
  void MarkTemplateBrackets() {
    for (size_t i = 0; i < tokens_.size(); ++i) {
      if (!Is(i, "<") || i == 0) continue;
      if (!IsIdent(i - 1) && !Is(i - 1, "template")) continue;
      if (IsIdent(i - 1) && Text(i - 1) == "template") {
        template_brackets_.insert(i);
        continue;
      }
      int depth = 1;
      for (size_t j = i + 1; j < tokens_.size() && tokens_[j].line == tokens_[i].line; ++j) {
        const Token& t = tokens_[j];
        if (Is(j, "<")) {
          ++depth;
          continue;
        }
        if (Is(j, ">") || Is(j, ">>")) {
          depth -= Is(j, ">>") ? 2 : 1;
          if (depth <= 0) {
            template_brackets_.insert(i);
            template_brackets_.insert(j);
            break;
          }
          continue;
        }
        bool allowed = t.kind == TokenKind::kIdentifier || t.kind == TokenKind::kNumber ||
                       Is(j, "::") || Is(j, ",") || Is(j, "*") || Is(j, "&");
        if (!allowed) break;
      }
    }
  }

  void Add(size_t begin, size_t end, std::string replacement, const char* kind, int line) {
    std::string original(text_.substr(begin, end - begin));
    if (!original.empty() && original.front() == ' ')
      original.erase(0, original.find_first_not_of(' '));
    sites_.push_back({begin, end, std::move(replacement), std::move(original), kind, line});
  }
  void Replace(size_t i, std::string replacement, const char* kind) {
    Add(tokens_[i].begin, tokens_[i].end, std::move(replacement), kind, tokens_[i].line);
  }

  void Visit(size_t i) {
    const Token& t = tokens_[i];
    if (t.kind == TokenKind::kNumber) return Constant(i);
    if (t.kind == TokenKind::kIdentifier) return MinMax(i);
    if (t.kind != TokenKind::kPunct) return;
    std::string_view op = Text(i);
    bool binary = i > 0 && EndsOperand(i - 1);
    if ((op == "+" || op == "-") && binary) {
      Replace(i, op == "+" ? "-" : "+", "arithmetic");
    } else if (op == "*" && binary && SpacingSymmetric(i) && !LooksLikeType(i - 1) &&
               !Is(i + 1, ")") && !Is(i + 1, ",") && !Is(i + 1, ">") && !Is(i + 1, "=")) {
      Replace(i, "/", "arithmetic");
    } else if (op == "/" && binary) {
      Replace(i, "*", "arithmetic");
    } else if (op == "%" && binary) {
      DropModulo(i);
    } else if ((op == "<" || op == ">") && binary && !template_brackets_.contains(i)) {
      Replace(i, std::string(op) + "=", "bound");
    } else if ((op == "<=" || op == ">=") && binary) {
      Replace(i, std::string(op.substr(0, 1)), "bound");
    } else if ((op == "==" || op == "!=") && binary) {
      Replace(i, op == "==" ? "!=" : "==", "comparison");
    } else if ((op == "&&" || op == "||") && binary && SpacedBothSides(i)) {
      Replace(i, op == "&&" ? "||" : "&&", "logical");
    } else if ((op == "<<" || op == ">>") && binary && SpacedBothSides(i)) {
      Replace(i, op == "<<" ? ">>" : "<<", "arithmetic");
    } else if ((op == "&" || op == "|") && binary && SpacedBothSides(i) && !LooksLikeType(i - 1)) {
      Replace(i, op == "&" ? "|" : "&", "arithmetic");
    } else if (op == "+=" || op == "-=" || op == "*=" || op == "/=" || op == "%=" || op == "&=" ||
               op == "|=" || op == "^=" || op == "<<=" || op == ">>=") {
      if (op == "+=" || op == "-=") Replace(i, op == "+=" ? "-=" : "+=", "compound");
      if (op == "*=" || op == "/=") Replace(i, op == "*=" ? "/=" : "*=", "compound");
      if (op == "<<=" || op == ">>=") Replace(i, op == "<<=" ? ">>=" : "<<=", "compound");
      DropCompound(i);
    }
  }

  // An integer literal moved by one, keeping its base and suffix.
  void Constant(size_t i) {
    std::string_view text = Text(i);
    if (text.find('\'') != std::string_view::npos) return;
    size_t digits_end = text.size();
    while (digits_end > 0 &&
           std::string_view("uUlLzZ").find(text[digits_end - 1]) != std::string_view::npos)
      --digits_end;
    std::string_view digits = text.substr(0, digits_end);
    std::string_view suffix = text.substr(digits_end);
    int base = 10;
    std::string_view body = digits;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
      base = 16;
      body = digits.substr(2);
    } else if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B')) {
      return;  // binary literals: rare in kernels
    } else if (digits.size() > 1 && digits[0] == '0') {
      return;  // octal: leave alone
    }
    if (body.empty() || body.size() > 15) return;
    uint64_t value = 0;
    for (char c : body) {
      int digit;
      if (IsDigit(c)) {
        digit = c - '0';
      } else if (base == 16 && std::isxdigit(static_cast<unsigned char>(c))) {
        digit = std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
      } else {
        return;  // a float (1.5, 1e3, 2.f) or something else
      }
      value = value * base + digit;
    }
    bool upper = base == 16 &&
                 std::any_of(body.begin(), body.end(), [](char c) { return c >= 'A' && c <= 'F'; });
    auto spell = [&](uint64_t v) {
      std::string number = base == 16
                               ? std::string(digits.substr(0, 2)) +
                                     (upper ? fmt::format("{:X}", v) : fmt::format("{:x}", v))
                               : fmt::format("{}", v);
      return number + std::string(suffix);
    };
    Replace(i, spell(value + 1), "constant");
    if (value > 0) Replace(i, spell(value - 1), "constant");
  }

  void MinMax(size_t i) {
    static const std::pair<std::string_view, std::string_view> kSwaps[] = {
        {"min", "max"},     {"max", "min"},     {"fmin", "fmax"}, {"fmax", "fmin"},
        {"fminf", "fmaxf"}, {"fmaxf", "fminf"}, {"MIN", "MAX"},   {"MAX", "MIN"}};
    if (!Is(i + 1, "(") && !Is(i + 1, "<")) return;
    for (const auto& [from, to] : kSwaps) {
      if (Text(i) == from) Replace(i, std::string(to), "min-max");
    }
  }

  // The end (token index past it) of the operand starting at token i: a name (qualified, maybe
  // called or indexed), a number, or a parenthesised group; 0 when it is anything else.
  size_t OperandEnd(size_t i) const {
    if (i >= tokens_.size()) return 0;
    size_t j = i;
    if (tokens_[j].kind == TokenKind::kNumber) return j + 1;
    if (IsIdent(j)) {
      ++j;
      while (Is(j, "::") && IsIdent(j + 1)) j += 2;
    } else if (!Is(j, "(")) {
      return 0;
    }
    while (Is(j, "(") || Is(j, "[")) {
      std::string_view open = Text(j), close = open == "(" ? ")" : "]";
      int depth = 0;
      for (; j < tokens_.size(); ++j) {
        if (Is(j, open)) ++depth;
        if (Is(j, close) && --depth == 0) break;
      }
      if (j >= tokens_.size()) return 0;
      ++j;
    }
    return j;
  }

  // `x % m` -> `x`: a reduction dropped (correct only while the value stays in range).
  void DropModulo(size_t i) {
    size_t end = OperandEnd(i + 1);
    if (end == 0 || Is(end, "(") || Is(end, ".") || Is(end, "->")) return;
    size_t begin = tokens_[i - 1].end;
    size_t stop = tokens_[end - 1].end;
    if (text_.substr(begin, stop - begin).find('\n') != std::string_view::npos) return;
    Add(begin, stop, "", "drop-modulo", tokens_[i].line);
  }

  // `s2 += s1;` -> `;`: a whole compound-assignment statement dropped. Only statements on one
  // line outside parentheses (not a for-header's step, not an argument).
  void DropCompound(size_t i) {
    if (tokens_[i].paren_depth > 0) return;
    size_t first = i;
    int brackets = 0;
    while (first > 0) {
      size_t prev = first - 1;
      if (Is(prev, "]")) ++brackets;
      if (Is(prev, "[")) --brackets;
      if (brackets == 0 && (Is(prev, ";") || Is(prev, "{") || Is(prev, "}") || Is(prev, ")") ||
                            Is(prev, ":") || (IsIdent(prev) && Text(prev) == "else")))
        break;
      first = prev;
    }
    if (first == i) return;
    size_t last = i + 1;
    int depth = 0;
    for (; last < tokens_.size(); ++last) {
      if (Is(last, "(") || Is(last, "[")) ++depth;
      if (Is(last, ")") || Is(last, "]")) --depth;
      if (depth < 0 || Is(last, "{") || Is(last, "}") || (depth == 0 && Is(last, ","))) return;
      if (depth == 0 && Is(last, ";")) break;
    }
    if (last >= tokens_.size() || last == i + 1) return;
    if (tokens_[first].line != tokens_[last].line) return;
    Add(tokens_[first].begin, tokens_[last].begin, "", "drop-compound", tokens_[i].line);
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  std::set<size_t> template_brackets_;
  std::vector<MutationSite> sites_;
};

// [begin, end) of the line holding byte `at`.
std::pair<size_t, size_t> LineAround(std::string_view text, size_t at) {
  size_t begin = at == 0 ? std::string_view::npos : text.rfind('\n', at - 1);
  begin = begin == std::string_view::npos ? 0 : begin + 1;
  size_t end = text.find('\n', at);
  if (end == std::string_view::npos) end = text.size();
  return {begin, end};
}

}  // namespace

std::vector<MutationSite> FindMutationSites(std::string_view text) {
  return SiteFinder(text, Lexer(text).Run()).Run();
}

std::string ApplyMutation(std::string_view text, const MutationSite& site) {
  std::string out(text.substr(0, site.begin));
  out += site.replacement;
  out += text.substr(site.end);
  return out;
}

std::string Mutant::Describe() const {
  if (site.replacement.empty())
    return fmt::format("{}:{}: {}: drops '{}'", path, site.line, site.kind, site.original);
  return fmt::format("{}:{}: {} '{}' -> '{}'", path, site.line, site.kind, site.original,
                     site.replacement);
}

bool IsAssertionLine(std::string_view line) {
  size_t begin = line.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return false;
  size_t end = begin;
  while (end < line.size() &&
         (std::isalnum(static_cast<unsigned char>(line[end])) || line[end] == '_'))
    ++end;
  if (end == begin) return false;
  std::string name(line.substr(begin, end - begin));
  size_t open = line.find_first_not_of(" \t", end);
  if (open == std::string_view::npos || line[open] != '(') return false;
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name.find("ASSERT") != std::string::npos || name.find("ASSUME") != std::string::npos;
}

std::vector<Mutant> SampleMutants(const std::vector<MutantSource>& sources, size_t max_count,
                                  uint64_t seed) {
  struct Candidate {
    size_t source;
    MutationSite site;
  };
  std::vector<Candidate> all;
  for (size_t s = 0; s < sources.size(); ++s) {
    std::vector<std::string_view> lines;
    for (size_t start = 0; start <= sources[s].text.size();) {
      size_t end = sources[s].text.find('\n', start);
      if (end == std::string::npos) end = sources[s].text.size();
      lines.push_back(std::string_view(sources[s].text).substr(start, end - start));
      start = end + 1;
    }
    for (auto& site : FindMutationSites(sources[s].text)) {
      size_t index = static_cast<size_t>(site.line - 1);
      if (index < sources[s].excluded_lines.size() && sources[s].excluded_lines[index]) continue;
      // A precondition, not a computation: no test of results can kill its mutant.
      if (index < lines.size() && IsAssertionLine(lines[index])) continue;
      all.push_back({s, std::move(site)});
    }
  }
  std::mt19937_64 random(seed);
  for (size_t i = all.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(random() % i);
    std::swap(all[i - 1], all[j]);
  }
  std::vector<bool> taken(all.size(), false);
  std::set<std::pair<size_t, int>> lines_used;
  std::vector<size_t> chosen;
  for (int pass = 0; pass < 2 && chosen.size() < max_count; ++pass) {
    for (size_t i = 0; i < all.size() && chosen.size() < max_count; ++i) {
      if (taken[i]) continue;
      auto key = std::make_pair(all[i].source, all[i].site.line);
      if (pass == 0 && lines_used.contains(key)) continue;
      taken[i] = true;
      lines_used.insert(key);
      chosen.push_back(i);
    }
  }
  std::sort(chosen.begin(), chosen.end(), [&](size_t a, size_t b) {
    const Candidate &x = all[a], &y = all[b];
    if (x.source != y.source) return x.source < y.source;
    if (x.site.begin != y.site.begin) return x.site.begin < y.site.begin;
    return x.site.replacement < y.site.replacement;
  });
  std::vector<Mutant> out;
  for (size_t index : chosen) {
    const Candidate& c = all[index];
    const std::string& text = sources[c.source].text;
    Mutant m;
    m.path = sources[c.source].path;
    m.site = c.site;
    m.mutated_text = ApplyMutation(text, c.site);
    auto [begin, end] = LineAround(text, c.site.begin);
    m.original_line = text.substr(begin, end - begin);
    size_t mutated_end = m.mutated_text.find('\n', begin);
    if (mutated_end == std::string::npos) mutated_end = m.mutated_text.size();
    m.mutated_line = m.mutated_text.substr(begin, mutated_end - begin);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<std::string> SourceTokens(std::string_view text) {
  std::vector<std::string> out;
  for (const Token& t : Lexer(text).Run()) out.emplace_back(text.substr(t.begin, t.end - t.begin));
  return out;
}

}  // namespace rlvr
