#include "harness/repo/macro_expander.h"

#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace rlvr {

namespace {

// Bounds against pathological inputs: expansion depth, and output size.
constexpr int kMaxDepth = 32;
constexpr size_t kMaxOutputBytes = size_t{8} << 20;

bool IsIdentifierStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// The end of the string or character literal starting at `i` (text[i] is the quote).
size_t LiteralEnd(const std::string& text, size_t i) {
  const char quote = text[i++];
  while (i < text.size() && text[i] != quote && text[i] != '\n') {
    if (text[i] == '\\') ++i;
    ++i;
  }
  return i < text.size() ? i + 1 : text.size();
}

// Backslash-newline splices first (as translation phase 2), then comments become a space.
std::string SpliceAndStripComments(const std::string& input) {
  std::string text;
  text.reserve(input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    if (input[i] == '\\' && i + 1 < input.size() && input[i + 1] == '\n') {
      ++i;
      continue;
    }
    if (input[i] == '\\' && i + 2 < input.size() && input[i + 1] == '\r' && input[i + 2] == '\n') {
      i += 2;
      continue;
    }
    text += input[i];
  }
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '"' || text[i] == '\'') {
      size_t end = LiteralEnd(text, i);
      out.append(text, i, end - i);
      i = end;
    } else if (text.compare(i, 2, "//") == 0) {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (text.compare(i, 2, "/*") == 0) {
      size_t end = text.find("*/", i + 2);
      i = end == std::string::npos ? text.size() : end + 2;
      out += ' ';
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::string Trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

struct Macro {
  bool function_like = false;
  std::vector<std::string> params;
  bool variadic = false;  // the last parameter is "..." (__VA_ARGS__)
  std::string body;
};

class Expander {
 public:
  // Reads the #define lines of `text` (comments already stripped) and returns the other lines.
  std::string ReadDefinitions(const std::string& text) {
    std::string rest;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      std::string trimmed = Trim(line);
      if (!trimmed.starts_with("#")) {
        rest += line + '\n';
        continue;
      }
      rest += '\n';  // keeps line numbers
      std::string directive = Trim(trimmed.substr(1));
      if (!directive.starts_with("define") || directive.size() <= 6 ||
          !std::isspace(static_cast<unsigned char>(directive[6])))
        continue;
      Define(Trim(directive.substr(6)));
    }
    return rest;
  }

  std::string Expand(const std::string& text, std::set<std::string>& disabled, int depth) {
    std::string out;
    for (size_t i = 0; i < text.size();) {
      if (out.size() > kMaxOutputBytes) break;
      char c = text[i];
      if (c == '"' || c == '\'') {
        size_t end = LiteralEnd(text, i);
        out.append(text, i, end - i);
        i = end;
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c))) {  // a pp-number: 4096, 0x1Fu, 1e10
        size_t end = i + 1;
        while (end < text.size() && (IsIdentifierChar(text[end]) || text[end] == '.')) ++end;
        out.append(text, i, end - i);
        i = end;
        continue;
      }
      if (!IsIdentifierStart(c)) {
        out += c;
        ++i;
        continue;
      }
      size_t end = i + 1;
      while (end < text.size() && IsIdentifierChar(text[end])) ++end;
      std::string name = text.substr(i, end - i);
      auto macro = macros_.find(name);
      if (macro == macros_.end() || disabled.contains(name) || depth >= kMaxDepth) {
        out += name;
        i = end;
        continue;
      }
      std::string replacement;
      if (macro->second.function_like) {
        size_t open = end;
        while (open < text.size() && std::isspace(static_cast<unsigned char>(text[open]))) ++open;
        std::vector<std::string> args;
        size_t after = 0;
        if (open >= text.size() || text[open] != '(' || !SplitArguments(text, open, args, after)) {
          out += name;  // a function-like macro's name without arguments is no invocation
          i = end;
          continue;
        }
        replacement = Substitute(macro->second, args, disabled, depth);
        i = after;
      } else {
        replacement = macro->second.body;
        i = end;
      }
      disabled.insert(name);
      out += Expand(replacement, disabled, depth + 1);
      disabled.erase(name);
    }
    return out;
  }

 private:
  void Define(const std::string& definition) {
    size_t end = 0;
    while (end < definition.size() && IsIdentifierChar(definition[end])) ++end;
    if (end == 0 || !IsIdentifierStart(definition[0])) return;
    Macro macro;
    std::string name = definition.substr(0, end);
    if (end < definition.size() && definition[end] == '(') {
      size_t close = definition.find(')', end);
      if (close == std::string::npos) return;
      macro.function_like = true;
      std::stringstream params(definition.substr(end + 1, close - end - 1));
      std::string param;
      while (std::getline(params, param, ',')) {
        param = Trim(param);
        if (param.empty()) continue;
        if (param == "...") {
          macro.variadic = true;
          param = "__VA_ARGS__";
        }
        macro.params.push_back(param);
      }
      macro.body = Trim(definition.substr(close + 1));
    } else {
      macro.body = Trim(definition.substr(end));
    }
    macros_[name] = std::move(macro);
  }

  // The arguments of the invocation whose '(' is at `open`, split at top-level commas and
  // trimmed; `after` is just past its ')'. False when the parenthesis is not closed.
  static bool SplitArguments(const std::string& text, size_t open, std::vector<std::string>& args,
                             size_t& after) {
    int depth = 0;
    std::string current;
    for (size_t i = open; i < text.size();) {
      char c = text[i];
      if (c == '"' || c == '\'') {
        size_t end = LiteralEnd(text, i);
        current.append(text, i, end - i);
        i = end;
        continue;
      }
      ++i;
      if (c == '(' && depth++ == 0) continue;
      if (c == ')' && --depth == 0) {
        args.push_back(Trim(current));
        after = i;
        if (args.size() == 1 && args[0].empty()) args.clear();
        return true;
      }
      if (c == ',' && depth == 1) {
        args.push_back(Trim(current));
        current.clear();
        continue;
      }
      current += c;
    }
    return false;
  }

  // The macro's body with its parameters replaced: `#p` by the argument as a string literal, a
  // parameter beside `##` by the argument as written, any other by the argument expanded; then
  // every `##` joins its neighbours.
  std::string Substitute(const Macro& macro, const std::vector<std::string>& args,
                         std::set<std::string>& disabled, int depth) {
    std::map<std::string, std::string> values;
    for (size_t p = 0; p < macro.params.size(); ++p) {
      if (macro.variadic && p + 1 == macro.params.size()) {
        std::string rest;
        for (size_t a = p; a < args.size(); ++a) rest += (a == p ? "" : ", ") + args[a];
        values[macro.params[p]] = rest;
      } else {
        values[macro.params[p]] = p < args.size() ? args[p] : "";
      }
    }
    const std::string& body = macro.body;
    auto next_non_space = [&](size_t i) {
      while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
      return i;
    };
    std::string out;
    bool after_paste = false;  // the last token written was ##
    for (size_t i = 0; i < body.size();) {
      char c = body[i];
      if (c == '"' || c == '\'') {
        size_t end = LiteralEnd(body, i);
        out.append(body, i, end - i);
        i = end;
        after_paste = false;
        continue;
      }
      if (body.compare(i, 2, "##") == 0) {
        while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
        out += "##";
        i = next_non_space(i + 2);
        after_paste = true;
        continue;
      }
      if (c == '#') {
        size_t start = next_non_space(i + 1);
        size_t end = start;
        while (end < body.size() && IsIdentifierChar(body[end])) ++end;
        auto value = values.find(body.substr(start, end - start));
        if (end > start && value != values.end()) {
          std::string quoted = "\"";
          for (char v : value->second) {
            if (v == '"' || v == '\\') quoted += '\\';
            quoted += v;
          }
          out += quoted + "\"";
          i = end;
          after_paste = false;
          continue;
        }
      }
      if (IsIdentifierStart(c)) {
        size_t end = i + 1;
        while (end < body.size() && IsIdentifierChar(body[end])) ++end;
        std::string word = body.substr(i, end - i);
        auto value = values.find(word);
        if (value == values.end()) {
          out += word;
        } else if (after_paste || body.compare(next_non_space(end), 2, "##") == 0) {
          out += value->second;
        } else {
          out += Expand(value->second, disabled, depth + 1);
        }
        i = end;
        after_paste = false;
        continue;
      }
      out += c;
      ++i;
      if (!std::isspace(static_cast<unsigned char>(c))) after_paste = false;
    }
    std::string joined;
    for (size_t i = 0; i < out.size(); ++i) {
      if (out.compare(i, 2, "##") == 0) {
        ++i;
        continue;
      }
      joined += out[i];
    }
    return joined;
  }

  std::map<std::string, Macro> macros_;
};

// Recursive descent over an integer constant expression.
class IntegerParser {
 public:
  explicit IntegerParser(const std::string& text) : text_(text) {}

  std::optional<long long> Parse() {
    std::optional<long long> value = Binary(0);
    Skip();
    if (!value || pos_ != text_.size()) return std::nullopt;
    return value;
  }

 private:
  void Skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  bool Take(const char* token) {
    Skip();
    std::string_view t(token);
    if (text_.compare(pos_, t.size(), t) != 0) return false;
    // "<" is not "<<", "&" not "&&".
    if (t.size() == 1 && pos_ + 1 < text_.size() && text_[pos_ + 1] == t[0] &&
        (t[0] == '<' || t[0] == '>' || t[0] == '&' || t[0] == '|'))
      return false;
    pos_ += t.size();
    return true;
  }

  // Binary operators by precedence level, loosest first.
  std::optional<long long> Binary(int level) {
    static const std::vector<std::vector<const char*>> kLevels = {
        {"|"}, {"^"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"}};
    if (level == static_cast<int>(kLevels.size())) return Unary();
    std::optional<long long> left = Binary(level + 1);
    while (left) {
      const char* matched = nullptr;
      for (const char* op : kLevels[level]) {
        if (Take(op)) {
          matched = op;
          break;
        }
      }
      if (matched == nullptr) break;
      std::optional<long long> right = Binary(level + 1);
      if (!right) return std::nullopt;
      std::string_view op(matched);
      long long a = *left, b = *right;
      if (op == "|") left = a | b;
      if (op == "^") left = a ^ b;
      if (op == "&") left = a & b;
      if (op == "<<" || op == ">>") {
        if (b < 0 || b > 62) return std::nullopt;
        left =
            op == "<<" ? static_cast<long long>(static_cast<unsigned long long>(a) << b) : a >> b;
      }
      if (op == "+") left = a + b;
      if (op == "-") left = a - b;
      if (op == "*") left = a * b;
      if (op == "/" || op == "%") {
        if (b == 0) return std::nullopt;
        left = op == "/" ? a / b : a % b;
      }
    }
    return left;
  }

  std::optional<long long> Unary() {
    if (Take("-")) {
      auto value = Unary();
      return value ? std::optional<long long>(-*value) : std::nullopt;
    }
    if (Take("+")) return Unary();
    if (Take("~")) {
      auto value = Unary();
      return value ? std::optional<long long>(~*value) : std::nullopt;
    }
    return Primary();
  }

  // The size of a type named by the identifiers at pos_ up to ')' (consumed), or nothing.
  std::optional<long long> TypeSize() {
    static const std::map<std::string, long long> kSizes = {
        {"char", 1},          {"signed char", 1},    {"unsigned char", 1},
        {"short", 2},         {"unsigned short", 2}, {"int", 4},
        {"unsigned", 4},      {"unsigned int", 4},   {"long", 8},
        {"unsigned long", 8}, {"long long", 8},      {"unsigned long long", 8},
        {"float", 4},         {"double", 8},         {"size_t", 8},
        {"ptrdiff_t", 8},     {"int8_t", 1},         {"uint8_t", 1},
        {"int16_t", 2},       {"uint16_t", 2},       {"int32_t", 4},
        {"uint32_t", 4},      {"int64_t", 8},        {"uint64_t", 8},
        {"uintptr_t", 8},     {"intptr_t", 8}};
    size_t close = text_.find(')', pos_);
    if (close == std::string::npos) return std::nullopt;
    std::string inner = text_.substr(pos_, close - pos_);
    if (inner.find("std::") != std::string::npos) inner.erase(inner.find("std::"), 5);
    std::stringstream words(inner);
    std::string word, type;
    while (words >> word) type += (type.empty() ? "" : " ") + word;
    auto size = kSizes.find(type);
    if (size == kSizes.end()) return std::nullopt;
    pos_ = close + 1;
    return size->second;
  }

  std::optional<long long> Primary() {
    Skip();
    if (pos_ >= text_.size()) return std::nullopt;
    if (text_.compare(pos_, 6, "sizeof") == 0) {
      pos_ += 6;
      if (!Take("(")) return std::nullopt;
      return TypeSize();
    }
    if (Take("(")) {
      size_t saved = pos_;
      if (TypeSize()) return Unary();  // a cast: (size_t)4096
      pos_ = saved;
      std::optional<long long> value = Binary(0);
      if (!value || !Take(")")) return std::nullopt;
      return value;
    }
    if (!std::isdigit(static_cast<unsigned char>(text_[pos_]))) return std::nullopt;
    size_t end = pos_;
    while (end < text_.size() && std::isalnum(static_cast<unsigned char>(text_[end]))) ++end;
    std::string literal = text_.substr(pos_, end - pos_);
    while (!literal.empty() && (literal.back() == 'u' || literal.back() == 'U' ||
                                literal.back() == 'l' || literal.back() == 'L'))
      literal.pop_back();
    try {
      size_t used = 0;
      long long value = std::stoll(literal, &used, 0);
      if (used != literal.size()) return std::nullopt;
      pos_ = end;
      return value;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

std::string ExpandOwnMacros(const std::string& text) {
  Expander expander;
  std::string rest = expander.ReadDefinitions(SpliceAndStripComments(text));
  std::set<std::string> disabled;
  return expander.Expand(rest, disabled, 0);
}

std::optional<long long> EvaluateIntegerExpression(const std::string& text) {
  return IntegerParser(text).Parse();
}

}  // namespace rlvr
