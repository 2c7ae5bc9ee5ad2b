#include "harness/verify/c_definitions.h"

#include <cctype>
#include <sstream>

namespace rlvr {

namespace {

bool IsIdentifierStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
bool IsIdentifier(const std::string& token) {
  return !token.empty() && IsIdentifierStart(token[0]);
}

// Identifiers that take a parenthesized operand without being a function's name.
bool IsOperatorWord(const std::string& word) {
  static const std::set<std::string> words = {
      "__attribute__",  "__attribute",   "__declspec", "_Alignas",   "alignas", "__asm__",
      "__asm",          "asm",           "decltype",   "__typeof__", "typeof",  "__typeof",
      "_Static_assert", "static_assert", "sizeof",     "_Alignof",   "alignof", "__extension__",
      "noexcept",       "throw"};
  return words.count(word) > 0;
}

std::string Join(const std::vector<std::string>& tokens, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (!out.empty()) out += ' ';
    out += tokens[i];
  }
  return out;
}

// The index just past the bracket closing the one at `open`, or tokens.size().
size_t SkipBalanced(const std::vector<std::string>& tokens, size_t open) {
  int depth = 0;
  for (size_t i = open; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (t == "(" || t == "[" || t == "{") ++depth;
    if (t == ")" || t == "]" || t == "}") {
      if (--depth == 0) return i + 1;
    }
  }
  return tokens.size();
}

class Walker {
 public:
  explicit Walker(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}

  CTranslationUnit Walk() {
    size_t start = 0;  // first token of the current top-level declaration
    size_t i = 0;
    while (i < tokens_.size()) {
      const std::string& t = tokens_[i];
      if (t == ";") {
        Declaration(start, i);
        start = ++i;
      } else if (t == "(" || t == "[") {
        i = SkipBalanced(tokens_, i);
      } else if (t == "{") {
        i = Block(start, i);
        if (i == kTransparent) {
          i = open_ + 1;  // extern "C" { or namespace x {: its contents are top level
          start = i;
        } else if (i == kEndsDeclaration) {
          start = i = end_;
        }
      } else if (t == "}") {  // closes a transparent block
        start = ++i;
      } else {
        ++i;
      }
    }
    return std::move(unit_);
  }

 private:
  static constexpr size_t kTransparent = static_cast<size_t>(-1);
  static constexpr size_t kEndsDeclaration = static_cast<size_t>(-2);

  // A `{` at top level at `open`, after the tokens [start, open).
  size_t Block(size_t start, size_t open) {
    open_ = open;
    const size_t close = SkipBalanced(tokens_, open);
    if (open == start) return close;
    if ((tokens_[start] == "extern" && open == start + 2 && tokens_[start + 1].front() == '"') ||
        tokens_[start] == "namespace")
      return kTransparent;
    // A function definition: name ( parameters ) [attributes] {
    for (size_t i = start; i + 1 < open; ++i) {
      if (tokens_[i] == "=") break;  // an initializer
      if (tokens_[i + 1] != "(") continue;
      if (!IsIdentifier(tokens_[i]) || IsOperatorWord(tokens_[i])) {
        i = SkipBalanced(tokens_, i + 1) - 1;
        continue;
      }
      const size_t params_end = SkipBalanced(tokens_, i + 1);
      CDefinition d;
      d.name = tokens_[i];
      d.is_function = true;
      d.specifiers.assign(tokens_.begin() + start, tokens_.begin() + i);
      for (const auto& s : d.specifiers)
        if (s == "static") d.is_static = true;
      d.parameters.assign(tokens_.begin() + i + 2, tokens_.begin() + params_end - 1);
      for (size_t k = open + 1; k + 1 < close; ++k)
        if (IsIdentifier(tokens_[k])) d.references.insert(tokens_[k]);
      d.text = Join(tokens_, start, close);
      unit_.definitions[d.name] = std::move(d);
      end_ = close;
      return kEndsDeclaration;
    }
    // struct/union/enum bodies and braced initializers end at the next `;`.
    size_t i = close;
    while (i < tokens_.size() && tokens_[i] != ";") {
      if (tokens_[i] == "(" || tokens_[i] == "[" || tokens_[i] == "{")
        i = SkipBalanced(tokens_, i);
      else
        ++i;
    }
    Declaration(start, i);
    end_ = i < tokens_.size() ? i + 1 : i;
    return kEndsDeclaration;
  }

  // The declaration [start, end) ending at a `;`: a typedef or an initialized variable.
  void Declaration(size_t start, size_t end) {
    if (start >= end) return;
    if (tokens_[start] == "typedef") {
      // typedef <type tokens> name;  (no brackets: struct typedefs and function types stay out)
      for (size_t i = start + 1; i < end; ++i)
        if (tokens_[i] == "(" || tokens_[i] == "[" || tokens_[i] == "{") {
          if (end - start >= 3 && IsIdentifier(tokens_[end - 1]))
            unit_.typedefs[tokens_[end - 1]] = {"<opaque>"};
          return;
        }
      if (end - start < 3 || !IsIdentifier(tokens_[end - 1])) return;
      unit_.typedefs[tokens_[end - 1]] =
          std::vector<std::string>(tokens_.begin() + start + 1, tokens_.begin() + end - 1);
      return;
    }
    size_t equals = start;
    while (equals < end && tokens_[equals] != "=") {
      if (tokens_[equals] == "(" || tokens_[equals] == "[" || tokens_[equals] == "{")
        equals = SkipBalanced(tokens_, equals);
      else
        ++equals;
    }
    if (equals >= end) return;
    size_t name = equals;
    while (name > start && !IsIdentifier(tokens_[name - 1])) --name;
    if (name == start) return;
    CDefinition d;
    d.name = tokens_[name - 1];
    d.specifiers.assign(tokens_.begin() + start, tokens_.begin() + name - 1);
    for (const auto& s : d.specifiers)
      if (s == "static") d.is_static = true;
    for (size_t k = equals + 1; k < end; ++k)
      if (IsIdentifier(tokens_[k])) d.references.insert(tokens_[k]);
    d.text = Join(tokens_, start, end);
    unit_.definitions[d.name] = std::move(d);
  }

  std::vector<std::string> tokens_;
  CTranslationUnit unit_;
  size_t open_ = 0;
  size_t end_ = 0;
};

}  // namespace

std::vector<std::string> CTokens(const std::string& text) {
  std::vector<std::string> tokens;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (IsIdentifierStart(c)) {
      size_t j = i;
      while (j < n && IsIdentifierChar(text[j])) ++j;
      // A prefixed literal (L"x", u8"x") stays one token with its quote.
      if (j < n && (text[j] == '"' || text[j] == '\'')) {
        const char quote = text[j];
        for (++j; j < n && text[j] != quote; ++j)
          if (text[j] == '\\') ++j;
        ++j;
      }
      tokens.push_back(text.substr(i, j - i));
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(text[i + 1])))) {
      size_t j = i + 1;
      while (j < n &&
             (IsIdentifierChar(text[j]) || text[j] == '.' ||
              ((text[j] == '+' || text[j] == '-') && (text[j - 1] == 'e' || text[j - 1] == 'E' ||
                                                      text[j - 1] == 'p' || text[j - 1] == 'P'))))
        ++j;
      tokens.push_back(text.substr(i, j - i));
      i = j;
    } else if (c == '"' || c == '\'') {
      size_t j = i + 1;
      for (; j < n && text[j] != c; ++j)
        if (text[j] == '\\') ++j;
      tokens.push_back(text.substr(i, j + 1 - i));
      i = j + 1;
    } else if (c == '.' && text.compare(i, 3, "...") == 0) {
      tokens.push_back("...");
      i += 3;
    } else {
      tokens.push_back(std::string(1, c));
      ++i;
    }
  }
  return tokens;
}

CTranslationUnit ParseTranslationUnit(const std::string& preprocessed) {
  std::string code;
  code.reserve(preprocessed.size());
  std::istringstream lines(preprocessed);
  for (std::string line; std::getline(lines, line);) {
    size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line[first] == '#') continue;  // line markers, #pragma
    code += line;
    code += '\n';
  }
  return Walker(CTokens(code)).Walk();
}

}  // namespace rlvr
