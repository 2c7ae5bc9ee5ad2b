#include "harness/verify/isa_regions.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>
#include <string>

#include "harness/patch/parse.h"

namespace rlvr {
namespace {

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsIdentChar(char c) {
  return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c));
}

// Physical lines as IsaConditionalLines numbers them.
std::vector<std::string_view> PhysicalLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// A logical source line after translation phases 1-3 as far as directives care: backslash-newline
// continuations joined, each comment one space, literal contents dropped (`""`), so an
// identifier in `text` is a real token. A block comment or raw string that spans lines keeps its
// logical line going, as it does for the preprocessor.
struct LogicalLine {
  int first = 0;  // 0-based physical lines it covers
  int last = 0;
  std::string text;
};

std::vector<LogicalLine> LogicalLines(std::string_view text) {
  // Phase 2: splice backslash-newlines (GCC also allows blanks between the two), remembering
  // the physical line of every character kept.
  std::string s;
  std::vector<int> line_of;
  s.reserve(text.size());
  line_of.reserve(text.size());
  int line = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      size_t j = i + 1;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
      if (j < text.size() && text[j] == '\n') {
        ++line;
        i = j;
        continue;
      }
    }
    s.push_back(text[i]);
    line_of.push_back(line);
    if (text[i] == '\n') ++line;
  }
  const int total = static_cast<int>(PhysicalLines(text).size());

  enum class State { kCode, kLineComment, kBlockComment, kLiteral, kRawString };
  State state = State::kCode;
  char quote = 0;
  std::string_view raw_delim;  // the current raw string ends at `)delim"`
  std::vector<LogicalLine> out;
  LogicalLine current;
  for (size_t k = 0; k < s.size(); ++k) {
    const char c = s[k];
    const char next = k + 1 < s.size() ? s[k + 1] : '\0';
    if (c == '\n' && state != State::kBlockComment && state != State::kRawString) {
      current.last = line_of[k];
      out.push_back(std::move(current));
      current = LogicalLine{line_of[k] + 1, 0, ""};
      state = State::kCode;  // line comments and unterminated literals end with the line
      continue;
    }
    switch (state) {
      case State::kLineComment:
        continue;
      case State::kBlockComment:
        if (c == '*' && next == '/') {
          state = State::kCode;
          ++k;
        }
        continue;
      case State::kLiteral:
        if (c == '\\' && next != '\n') {
          ++k;
        } else if (c == quote) {
          state = State::kCode;
        }
        continue;
      case State::kRawString:
        if (c == ')' && s.compare(k + 1, raw_delim.size(), raw_delim) == 0 &&
            k + 1 + raw_delim.size() < s.size() && s[k + 1 + raw_delim.size()] == '"') {
          k += raw_delim.size() + 1;
          state = State::kCode;
        }
        continue;
      case State::kCode:
        break;
    }
    if (c == '/' && (next == '/' || next == '*')) {
      state = next == '/' ? State::kLineComment : State::kBlockComment;
      current.text += ' ';
      ++k;
      continue;
    }
    if (c == '"' || c == '\'') {
      state = State::kLiteral;
      quote = c;
      current.text += "\"\"";
      continue;
    }
    const bool number = std::isdigit(static_cast<unsigned char>(c)) ||
                        (c == '.' && std::isdigit(static_cast<unsigned char>(next)));
    if (!IsIdentStart(c) && !number) {
      current.text += c;
      continue;
    }
    size_t end = k + 1;
    if (number) {  // a pp-number, with C++14 digit separators (1'000) and exponents (1e-5)
      while (end < s.size()) {
        char d = s[end];
        if (IsIdentChar(d) || d == '.') {
          ++end;
        } else if ((d == '+' || d == '-') &&
                   std::string_view("eEpP").find(s[end - 1]) != std::string_view::npos) {
          ++end;
        } else if (d == '\'' && end + 1 < s.size() && IsIdentChar(s[end + 1])) {
          end += 2;
        } else {
          break;
        }
      }
    } else {
      while (end < s.size() && IsIdentChar(s[end])) ++end;
    }
    std::string_view word(s.data() + k, end - k);
    if (!number && end < s.size() && s[end] == '"' &&
        (word == "R" || word == "u8R" || word == "uR" || word == "UR" || word == "LR")) {
      size_t open = s.find('(', end + 1);
      std::string_view delim = open == std::string::npos
                                   ? std::string_view()
                                   : std::string_view(s).substr(end + 1, open - end - 1);
      if (open != std::string::npos && delim.size() <= 16 &&
          delim.find_first_of(" ()\\\t\n\r\"") == std::string_view::npos) {
        raw_delim = delim;
        state = State::kRawString;
        current.text += "\"\"";
        k = open;
        continue;
      }
    }
    if (!number && end < s.size() && (s[end] == '"' || s[end] == '\'') &&
        (word == "u8" || word == "u" || word == "U" || word == "L")) {
      state = State::kLiteral;
      quote = s[end];
      current.text += "\"\"";
      k = end;
      continue;
    }
    current.text.append(word);
    k = end - 1;
  }
  if (current.first < total) {
    current.last = total - 1;
    out.push_back(std::move(current));
  }
  return out;
}

struct Directive {
  std::string_view name;  // empty: not a directive
  std::string_view rest;
};

Directive ParseDirective(std::string_view text) {
  size_t pos = text.find_first_not_of(" \t\r\f\v");
  if (pos == std::string_view::npos || text[pos] != '#') return {};
  pos = text.find_first_not_of(" \t\r\f\v", pos + 1);
  if (pos == std::string_view::npos) return {};
  size_t end = pos;
  while (end < text.size() && IsIdentChar(text[end])) ++end;
  return {text.substr(pos, end - pos), text.substr(end)};
}

template <typename Visit>
void ForEachIdentifier(std::string_view text, Visit visit) {
  size_t i = 0;
  while (i < text.size()) {
    if (std::isdigit(static_cast<unsigned char>(text[i]))) {
      while (i < text.size() && (IsIdentChar(text[i]) || text[i] == '.')) ++i;
    } else if (IsIdentStart(text[i])) {
      size_t start = i;
      while (i < text.size() && IsIdentChar(text[i])) ++i;
      visit(text.substr(start, i - start));
    } else {
      ++i;
    }
  }
}

// One #if ... #endif chain being read.
struct Conditional {
  bool chain_isa = false;  // a condition read so far in the chain mentions an ISA macro
  bool group_isa = false;  // the group being read depends on one
};

struct LineChange {
  char kind;  // '+' or '-'
  int line;   // 1-based, in the new file for '+', the old file for '-'
  std::string text;
};

std::string_view WithoutCr(std::string_view text) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

std::string StripGitPrefix(std::string_view path) {
  if (StartsWith(path, "a/") || StartsWith(path, "b/")) path.remove_prefix(2);
  return std::string(path);
}

// The '+' and '-' lines of the one file's changes in `diff`, with their line numbers.
std::vector<LineChange> ChangedLines(std::string_view diff, std::string_view path) {
  if (diff.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  ParsedReply parsed = ParseReply(diff, "");
  if (!parsed.error.empty()) throw std::invalid_argument("cannot read the diff: " + parsed.error);
  std::vector<const FileChange*> changes;
  for (const FileChange& change : parsed.changes) {
    if (change.kind != ChangeKind::kUnified) {
      throw std::invalid_argument("not a unified diff (reply line " +
                                  std::to_string(change.reply_line) + ")");
    }
    if (path.empty() || StripGitPrefix(change.new_path) == StripGitPrefix(path) ||
        StripGitPrefix(change.old_path) == StripGitPrefix(path)) {
      changes.push_back(&change);
    }
  }
  if (path.empty() && changes.size() != 1) {
    throw std::invalid_argument("the diff changes " + std::to_string(changes.size()) +
                                " files; name the one to read");
  }
  std::vector<LineChange> out;
  for (const FileChange* change : changes) {
    for (const Hunk& hunk : change->hunks) {
      if (hunk.old_start < 0 || hunk.new_start < 0) {
        throw std::invalid_argument("the hunk at diff line " + std::to_string(hunk.reply_line) +
                                    " has no line numbers");
      }
      int old_line = hunk.old_start, new_line = hunk.new_start;
      for (const HunkLine& line : hunk.lines) {
        if (line.kind == '+') {
          out.push_back({'+', new_line++, line.text});
        } else if (line.kind == '-') {
          out.push_back({'-', old_line++, line.text});
        } else {
          ++old_line;
          ++new_line;
        }
      }
    }
  }
  return out;
}

std::vector<int> IsaLinesOfKind(std::string_view file_text, std::string_view diff,
                                std::string_view path, char kind) {
  std::vector<LineChange> changes = ChangedLines(diff, path);
  std::vector<std::string_view> lines = PhysicalLines(file_text);
  std::vector<bool> isa = IsaConditionalLines(file_text);
  std::vector<int> out;
  for (const LineChange& change : changes) {
    if (change.kind != kind) continue;
    if (change.line < 1 || change.line > static_cast<int>(lines.size()) ||
        WithoutCr(lines[change.line - 1]) != WithoutCr(change.text)) {
      throw std::invalid_argument(std::string("the diff's ") + kind + " line " +
                                  std::to_string(change.line) + " ('" + change.text +
                                  "') is not that line of the file: the diff is not of this text");
    }
    if (isa[change.line - 1]) out.push_back(change.line);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

bool IsIsaMacro(std::string_view id) {
  // Families: every macro with one of these prefixes names an ISA extension or architecture.
  static constexpr std::string_view kPrefixes[] = {
      "__AVX",           // __AVX__, __AVX2__, __AVX512F__, __AVX512VNNI__, __AVXVNNI__, __AVX10_1__
      "__SSE",           // __SSE__, __SSE2__, __SSE4_1__, __SSE_MATH__
      "__BMI",           // __BMI__, __BMI2__
      "__AMX",           // __AMX_TILE__, __AMX_INT8__, __AMX_BF16__
      "__FMA",           // __FMA__, __FMA4__
      "__ARM_NEON",      // __ARM_NEON, __ARM_NEON__, __ARM_NEON_FP
      "__ARM_FEATURE_",  // __ARM_FEATURE_SVE, __ARM_FEATURE_DOTPROD, __ARM_FEATURE_FMA
      "__ARM_ARCH",      // __ARM_ARCH, __ARM_ARCH_8A__
      "__riscv",         // __riscv, __riscv_vector, __riscv_v, __riscv_zvfh
      "__loongarch",     // __loongarch64, __loongarch_sx, __loongarch_asx
      "__mips",          // __mips__, __mips_msa
      "__wasm_",         // __wasm_simd128__, __wasm_relaxed_simd__
      "_M_ARM",          // MSVC: _M_ARM, _M_ARM64, _M_ARM64EC
      "_M_IX86",         // MSVC: _M_IX86, _M_IX86_FP
  };
  static constexpr std::string_view kExact[] = {
      "__SSSE3__",         "__F16C__",    "__POPCNT__",     "__LZCNT__",
      "__MMX__",           "__AES__",     "__PCLMUL__",     "__SHA__",
      "__SHA512__",        "__VAES__",    "__VPCLMULQDQ__", "__GFNI__",
      "__ADX__",           "__RDRND__",   "__RDSEED__",     "__MOVBE__",
      "__XOP__",           "__TBM__",     "__ABM__",        "__KL__",
      "__WIDEKL__",        "__SM3__",     "__SM4__",        "__AVXVNNI__",
      "__x86_64__",        "__x86_64",    "__amd64__",      "__amd64",
      "__i386__",          "__i386",      "__i486__",       "__i586__",
      "__i686__",          "_M_X64",      "_M_AMD64",       "__aarch64__",
      "__arm__",           "__arm64__",   "__thumb__",      "__thumb2__",
      "__ALTIVEC__",       "__VSX__",     "__VEC__",        "__POWER8_VECTOR__",
      "__POWER9_VECTOR__", "__powerpc__", "__powerpc64__",  "__PPC64__",
      "__ppc64__",         "__s390x__",   "__ARM_NEON__",
  };
  for (std::string_view prefix : kPrefixes) {
    if (StartsWith(id, prefix)) return true;
  }
  return std::find(std::begin(kExact), std::end(kExact), id) != std::end(kExact);
}

std::vector<bool> IsaConditionalLines(std::string_view file_text) {
  std::vector<LogicalLine> logical = LogicalLines(file_text);
  std::vector<bool> flags(PhysicalLines(file_text).size(), false);
  std::vector<Conditional> stack;
  std::set<std::string, std::less<>> derived;  // macros whose value follows the ISA

  auto inside = [&stack](size_t depth) {
    for (size_t i = 0; i < depth; ++i) {
      if (stack[i].group_isa) return true;
    }
    return false;
  };
  auto mark = [&flags](const LogicalLine& line, bool value) {
    for (int i = line.first; i <= line.last && i < static_cast<int>(flags.size()); ++i) {
      flags[i] = value;
    }
  };
  auto mentions_isa = [&derived](std::string_view expression) {
    bool found = false;
    ForEachIdentifier(expression, [&](std::string_view id) {
      if (IsIsaMacro(id) || derived.count(id)) found = true;
    });
    return found;
  };

  for (const LogicalLine& line : logical) {
    Directive directive = ParseDirective(line.text);
    const std::string_view name = directive.name;
    if (name == "if" || name == "ifdef" || name == "ifndef") {
      mark(line, inside(stack.size()));
      bool isa = mentions_isa(directive.rest);
      stack.push_back({isa, isa});
    } else if (name == "elif" || name == "elifdef" || name == "elifndef" || name == "else") {
      if (stack.empty()) continue;  // stray: nothing to continue
      mark(line, inside(stack.size() - 1));
      Conditional& top = stack.back();
      if (name != "else") top.chain_isa = top.chain_isa || mentions_isa(directive.rest);
      top.group_isa = top.chain_isa;
    } else if (name == "endif") {
      if (stack.empty()) continue;
      mark(line, inside(stack.size() - 1));
      stack.pop_back();
    } else {
      bool in_isa = inside(stack.size());
      mark(line, in_isa);
      if (name == "define") {
        std::string_view rest = directive.rest;
        size_t start = rest.find_first_not_of(" \t");
        if (start == std::string_view::npos || !IsIdentStart(rest[start])) continue;
        size_t end = start;
        while (end < rest.size() && IsIdentChar(rest[end])) ++end;
        std::string_view macro = rest.substr(start, end - start);
        if (in_isa || mentions_isa(rest.substr(end))) derived.emplace(macro);
      }
    }
  }
  return flags;
}

std::vector<int> IsaConditionalChangedLines(std::string_view file_text_after,
                                            std::string_view unified_diff, std::string_view path) {
  return IsaLinesOfKind(file_text_after, unified_diff, path, '+');
}

std::vector<int> IsaConditionalDeletedLines(std::string_view file_text_before,
                                            std::string_view unified_diff, std::string_view path) {
  return IsaLinesOfKind(file_text_before, unified_diff, path, '-');
}

}  // namespace rlvr
