#include "harness/verify/driven_signature.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

namespace rlvr {

namespace {

std::string Join(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty() && t != "*" && t != "[" && t != "]") out += ' ';
    out += t;
  }
  return out;
}

bool IsIgnoredWord(const std::string& word) {
  static const std::set<std::string> words = {
      "static",        "extern",     "inline",        "__inline", "__inline__",
      "register",      "_Noreturn",  "__extension__", "const",    "volatile",
      "restrict",      "__restrict", "__restrict__",  "__const",  "__volatile__",
      "_Thread_local", "__thread",   "auto",          "__cdecl"};
  return words.count(word) > 0;
}

bool IsBuiltinTypeWord(const std::string& word) {
  static const std::set<std::string> words = {
      "unsigned", "signed", "char",  "short", "int",      "long",       "float",
      "double",   "void",   "_Bool", "bool",  "__int128", "__signed__", "__signed"};
  return words.count(word) > 0;
}

// A type as the oracle sees it: its scalar, how many pointers, whether the pointee is const, or
// why it is none of these.
struct ResolvedType {
  std::optional<ScalarType> scalar;
  int pointers = 0;
  bool pointee_const = false;
  bool is_array = false;
  std::string problem;  // "a struct", "an enum", "a function pointer", ...
};

std::optional<ScalarType> BuiltinScalar(const std::multiset<std::string>& words) {
  auto has = [&](const char* w) { return words.count(w) > 0; };
  ScalarType t;
  if (words.empty()) return std::nullopt;
  if (has("void")) return ScalarType{ScalarType::kVoid, 0, "void"};
  if (has("_Bool") || has("bool")) return ScalarType{ScalarType::kBool, 1, "_Bool"};
  if (has("float")) return ScalarType{ScalarType::kFloat, 4, "float"};
  if (has("double")) {
    if (has("long")) return std::nullopt;  // long double: not driven
    return ScalarType{ScalarType::kDouble, 8, "double"};
  }
  if (has("__int128")) return std::nullopt;
  const bool is_unsigned = has("unsigned");
  const char* sign = is_unsigned ? "unsigned " : "signed ";
  t.kind = is_unsigned ? ScalarType::kUnsigned : ScalarType::kSigned;
  if (has("char")) {
    t.bytes = 1;
    t.c_name = std::string(sign) + "char";
    // Plain char is signed on x86-64; the driver says so explicitly.
  } else if (has("short")) {
    t.bytes = 2;
    t.c_name = std::string(sign) + "short";
  } else if (words.count("long") >= 1) {
    t.bytes = 8;
    t.c_name = std::string(sign) + (words.count("long") == 2 ? "long long" : "long");
  } else {
    t.bytes = 4;
    t.c_name = std::string(sign) + "int";
  }
  return t;
}

// Resolves `tokens` (a type, qualifiers included, no declarator name) through the unit's typedefs.
ResolvedType Resolve(const std::vector<std::string>& tokens, const CTranslationUnit& unit,
                     int depth = 0) {
  ResolvedType r;
  std::multiset<std::string> words;
  std::string typedef_name;
  bool const_before_star = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (t == "__attribute__" || t == "__attribute" || t == "__declspec" || t == "__asm__" ||
        t == "_Alignas" || t == "alignas") {
      int level = 0;
      for (++i; i < tokens.size(); ++i) {
        if (tokens[i] == "(") ++level;
        if (tokens[i] == ")" && --level == 0) break;
      }
      continue;
    }
    if (t == "const" || t == "__const") {
      if (r.pointers == 0) const_before_star = true;
      continue;
    }
    if (IsIgnoredWord(t)) continue;
    if (t == "*") {
      ++r.pointers;
      continue;
    }
    if (t == "[") {
      r.is_array = true;
      ++r.pointers;
      while (i < tokens.size() && tokens[i] != "]") ++i;
      continue;
    }
    if (t == "(") {
      r.problem = "a function pointer";
      return r;
    }
    if (t == "struct" || t == "union") {
      r.problem = r.pointers || (i + 2 < tokens.size() && tokens[i + 2] == "*")
                      ? std::string("a ") + t + " pointer"
                      : std::string("a ") + t;
      return r;
    }
    if (t == "enum") {
      r.problem = "an enum";
      return r;
    }
    if (t == "::" || t == "<" || t == "&") {
      r.problem = "a C++ type";
      return r;
    }
    if (IsBuiltinTypeWord(t)) {
      words.insert(t);
      continue;
    }
    if (typedef_name.empty() && words.empty()) {
      typedef_name = t;
      continue;
    }
    r.problem = fmt::format("of type `{}`, which the oracle cannot read", t);
    return r;
  }
  if (!typedef_name.empty()) {
    auto it = unit.typedefs.find(typedef_name);
    if (typedef_name == "size_t" && it == unit.typedefs.end()) {
      words = {"unsigned", "long"};
    } else if (it == unit.typedefs.end() || depth > 16) {
      r.problem = fmt::format("of type `{}`, which the oracle cannot see", typedef_name);
      return r;
    } else if (it->second == std::vector<std::string>{"<opaque>"}) {
      r.problem = fmt::format("of type `{}` (a function or array typedef)", typedef_name);
      return r;
    } else {
      ResolvedType inner = Resolve(it->second, unit, depth + 1);
      if (!inner.problem.empty()) {
        if (inner.problem.rfind("a ", 0) == 0 || inner.problem.rfind("an ", 0) == 0)
          inner.problem += fmt::format(" (`{}`)", typedef_name);
        return inner;
      }
      inner.pointee_const = inner.pointers > 0 ? inner.pointee_const : const_before_star;
      inner.pointers += r.pointers;
      if (inner.pointers > r.pointers && r.pointers > 0) inner.pointee_const = false;
      inner.is_array = r.is_array;
      return inner;
    }
  }
  r.scalar = BuiltinScalar(words);
  if (!r.scalar) r.problem = "a type the oracle does not drive (long double, __int128)";
  r.pointee_const = const_before_star;
  return r;
}

// Splits a parameter list at top-level commas.
std::vector<std::vector<std::string>> SplitParameters(const std::vector<std::string>& tokens) {
  std::vector<std::vector<std::string>> out(1);
  int depth = 0;
  for (const auto& t : tokens) {
    if (t == "(" || t == "[" || t == "{") ++depth;
    if (t == ")" || t == "]" || t == "}") --depth;
    if (t == "," && depth == 0) {
      out.emplace_back();
      continue;
    }
    out.back().push_back(t);
  }
  if (out.size() == 1 && out[0].empty()) out.clear();
  return out;
}

bool IsLengthName(const std::string& raw) {
  std::string name = raw;
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  static const std::set<std::string> names = {"len", "length", "size",   "n",     "count", "nbytes",
                                              "num", "bytes",  "nelems", "nmemb", "cnt",   "sz"};
  if (names.count(name)) return true;
  for (const char* part : {"len", "size", "count", "bytes", "num_", "nelem"})
    if (name.find(part) != std::string::npos) return true;
  return false;
}

bool IsStartingValueName(const std::string& raw) {
  std::string name = raw;
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  if (name == "h" || name == "s" || name == "v") return true;
  for (const char* part : {"adler", "crc", "seed", "state", "hash", "init", "start", "prev", "sum",
                           "check", "acc", "digest"})
    if (name.find(part) != std::string::npos) return true;
  return false;
}

bool SaysBytes(const std::string& raw) {
  std::string name = raw;
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  return name.find("bytes") != std::string::npos;
}

}  // namespace

std::string DrivenFunction::Declaration(const std::string& alias) const {
  std::string out = result.c_name + " " + alias + "(";
  if (parameters.empty()) out += "void";
  for (size_t i = 0; i < parameters.size(); ++i) {
    const DrivenParameter& p = parameters[i];
    if (i) out += ", ";
    if (p.role == DrivenParameter::kInput)
      out += "const " + p.type.c_name + "*";
    else if (p.role == DrivenParameter::kOutput)
      out += p.type.c_name + "*";
    else
      out += p.type.c_name;
  }
  return out + ")";
}

bool DrivenFunction::HasFloatingOutputs() const {
  if (result.IsFloating()) return true;
  for (const auto& p : parameters)
    if (p.role == DrivenParameter::kOutput && p.type.IsFloating()) return true;
  return false;
}

std::optional<DrivenFunction> DriveSignature(const CDefinition& function,
                                             const CTranslationUnit& unit, std::string* why) {
  DrivenFunction f;
  f.name = function.name;
  for (const auto& word : function.specifiers)
    if (word == "template" || word == "::" || word == "operator") {
      *why = "a C++ template or member function";
      return std::nullopt;
    }
  ResolvedType result = Resolve(function.specifiers, unit);
  if (!result.problem.empty() || result.pointers > 0) {
    *why = result.pointers > 0 ? "returns a pointer" : "returns " + result.problem;
    return std::nullopt;
  }
  f.result = *result.scalar;
  std::vector<std::vector<std::string>> parameters = SplitParameters(function.parameters);
  if (parameters.size() == 1 && parameters[0] == std::vector<std::string>{"void"})
    parameters.clear();
  for (const auto& tokens : parameters) {
    if (tokens.size() == 1 && tokens[0] == "...") {
      *why = "takes variable arguments (...)";
      return std::nullopt;
    }
    // The declarator's name: the last identifier that is no type word, typedef or qualifier
    // (before any array brackets).
    std::vector<std::string> type = tokens;
    std::string name;
    size_t end = tokens.size();
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == "[") {
        end = i;
        break;
      }
    if (end > 0) {
      const std::string& last = tokens[end - 1];
      if ((std::isalpha(static_cast<unsigned char>(last[0])) || last[0] == '_') &&
          !IsBuiltinTypeWord(last) && !IsIgnoredWord(last) && !(end == 1) &&
          tokens[end - 2] != "struct" && tokens[end - 2] != "union" && tokens[end - 2] != "enum") {
        name = last;
        type.erase(type.begin() + static_cast<long>(end) - 1);
      }
    }
    const std::string shown = Join(tokens);
    ResolvedType t = Resolve(type, unit);
    if (!t.problem.empty()) {
      *why = fmt::format("parameter `{}` is {}", shown, t.problem);
      return std::nullopt;
    }
    if (t.pointers > 1) {
      *why = fmt::format("parameter `{}` is a pointer to a pointer", shown);
      return std::nullopt;
    }
    DrivenParameter p;
    p.name = name;
    p.type = *t.scalar;
    if (t.pointers == 1) {
      p.role = t.pointee_const ? DrivenParameter::kInput : DrivenParameter::kOutput;
      if (p.type.kind == ScalarType::kVoid) p.type = ScalarType{ScalarType::kUnsigned, 1, "void"};
    } else if (p.type.kind == ScalarType::kVoid) {
      *why = fmt::format("parameter `{}` is void", shown);
      return std::nullopt;
    }
    f.parameters.push_back(p);
  }
  // Pair each buffer with a length: an integer parameter named like one, else the next integer
  // parameter after it.
  for (size_t i = 0; i < f.parameters.size(); ++i) {
    DrivenParameter& buffer = f.parameters[i];
    if (buffer.role != DrivenParameter::kInput && buffer.role != DrivenParameter::kOutput) continue;
    // Prefer the parameter right after the buffer when named like a length, then the first one
    // named like a length after it, then any named like one, then the next integer parameter.
    auto integer = [&](size_t j) {
      const DrivenParameter& p = f.parameters[j];
      return (p.role == DrivenParameter::kScalar || p.role == DrivenParameter::kLength) &&
             p.type.IsInteger() && p.type.kind != ScalarType::kBool;
    };
    int chosen = -1;
    for (size_t j = i + 1; j < f.parameters.size() && chosen < 0; ++j)
      if (integer(j) && IsLengthName(f.parameters[j].name)) chosen = static_cast<int>(j);
    for (size_t j = 0; j < i && chosen < 0; ++j)
      if (integer(j) && IsLengthName(f.parameters[j].name)) chosen = static_cast<int>(j);
    for (size_t j = i + 1; j < f.parameters.size() && chosen < 0; ++j)
      if (integer(j)) chosen = static_cast<int>(j);
    if (chosen < 0) {
      *why = fmt::format("pointer parameter `{}` has no length parameter",
                         buffer.name.empty() ? std::to_string(i + 1) : buffer.name);
      return std::nullopt;
    }
    DrivenParameter& length = f.parameters[static_cast<size_t>(chosen)];
    length.role = DrivenParameter::kLength;
    buffer.length = chosen;
    buffer.length_in_bytes = buffer.type.c_name == "void" || SaysBytes(length.name);
  }
  for (auto& p : f.parameters)
    p.starting_value = p.role == DrivenParameter::kScalar && p.type.IsInteger() &&
                       p.type.kind != ScalarType::kBool && IsStartingValueName(p.name);
  return f;
}

}  // namespace rlvr
