#include "harness/repo/kernel_ranking.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/repo/inspect_helpers.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

// The text without comments and string literals (so a loop in a comment is no loop).
std::string CodeOnly(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "//") == 0) {
      while (i < text.size() && text[i] != '\n') ++i;
      out += '\n';
    } else if (text.compare(i, 2, "/*") == 0) {
      size_t end = text.find("*/", i + 2);
      for (size_t j = i; j < std::min(end, text.size()); ++j)
        if (text[j] == '\n') out += '\n';
      i = end == std::string::npos ? text.size() : end + 1;
    } else if (text[i] == '"') {
      out += "\"\"";
      for (++i; i < text.size() && text[i] != '"' && text[i] != '\n'; ++i)
        if (text[i] == '\\') ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Names of the functions `code` defines: a line starting at column 0 with a name followed by a
// parameter list and then a body ("{"), not a declaration (";"). `static` ones are internal
// unless the file is a header (header implementations are static inline).
std::vector<std::string> DefinedFunctions(const std::string& code, bool header) {
  static const std::set<std::string> kNotNames = {"if",     "for",     "while",   "switch",
                                                  "return", "sizeof",  "defined", "do",
                                                  "else",   "typedef", "case"};
  std::vector<std::string> names;
  size_t line_start = 0;
  while (line_start < code.size()) {
    size_t line_end = code.find('\n', line_start);
    if (line_end == std::string::npos) line_end = code.size();
    char first = code[line_start];
    bool candidate =
        IsIdentifierChar(first) && (header || code.compare(line_start, 7, "static ") != 0);
    if (candidate) {
      size_t paren = code.find('(', line_start);
      if (paren != std::string::npos && paren < line_end) {
        size_t name_end = paren;
        while (name_end > line_start && code[name_end - 1] == ' ') --name_end;
        size_t name_begin = name_end;
        while (name_begin > line_start && IsIdentifierChar(code[name_begin - 1])) --name_begin;
        std::string name = code.substr(name_begin, name_end - name_begin);
        int depth = 0;
        size_t i = paren;
        for (; i < code.size(); ++i) {
          if (code[i] == '(') ++depth;
          if (code[i] == ')' && --depth == 0) break;
        }
        size_t next = code.find_first_not_of(" \t\r\n", i + 1);
        // "const" or "noexcept" after a C++ method's parameters.
        while (next != std::string::npos && IsIdentifierChar(code[next])) {
          size_t word_end = next;
          while (word_end < code.size() && IsIdentifierChar(code[word_end])) ++word_end;
          next = code.find_first_not_of(" \t\r\n", word_end);
        }
        if (!name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
            !kNotNames.contains(name) && next != std::string::npos && code[next] == '{')
          names.push_back(name);
      }
    }
    line_start = line_end + 1;
  }
  return names;
}

std::set<std::string> Identifiers(const std::string& code) {
  std::set<std::string> out;
  for (size_t i = 0; i < code.size();) {
    if (IsIdentifierChar(code[i]) && !std::isdigit(static_cast<unsigned char>(code[i]))) {
      size_t end = i;
      while (end < code.size() && IsIdentifierChar(code[end])) ++end;
      out.insert(code.substr(i, end - i));
      i = end;
    } else {
      ++i;
    }
  }
  return out;
}

std::string Alnum(const std::string& text) {
  std::string out;
  for (char c : text)
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  return Lower(out);
}

}  // namespace

bool IsPlumbingName(const std::string& path) {
  std::string stem = Lower(fs::path(path).stem().string());
  for (const char* word : {"cpu_feature", "cpufeature", "cpu_detect", "cpuid", "dispatch", "util",
                           "prog_", "config", "getopt", "platform", "compat", "version"})
    if (stem.find(word) != std::string::npos) return true;
  return stem == "main" || stem == "cpu" || stem.ends_with("_p");
}

std::vector<KernelGuess> RankKernels(const fs::path& root,
                                     const std::vector<std::string>& candidates,
                                     const std::vector<std::string>& consumers,
                                     const std::vector<RegisteredBenchmark>& benchmarks) {
  struct Consumer {
    std::string path;
    bool bench = false;
    std::set<std::string> identifiers;
  };
  std::vector<Consumer> readers;
  for (const auto& path : consumers) {
    bool bench = Lower(path).find("bench") != std::string::npos;
    readers.push_back({path, bench, Identifiers(CodeOnly(ReadFileText(root / path)))});
  }
  static const std::regex kLoop(R"(\b(for|while)\s*\()");
  std::vector<KernelGuess> ranked;
  std::vector<int> tiers;  // 2: a benchmark calls or names it, 1: a test calls it, 0: neither
  for (const auto& path : candidates) {
    if (IsPlumbingName(path)) continue;
    std::string code = CodeOnly(ReadFileText(root / path));
    size_t loops = std::distance(std::sregex_iterator(code.begin(), code.end(), kLoop),
                                 std::sregex_iterator());
    if (loops == 0) continue;  // no hot loop: a wrapper, declarations or glue
    size_t lines = std::count(code.begin(), code.end(), '\n') + 1;
    std::vector<std::string> functions = DefinedFunctions(code, IsHeaderFile(path));
    std::vector<std::string> callers;
    int bench_callers = 0;
    for (const auto& reader : readers) {
      bool calls = std::any_of(functions.begin(), functions.end(), [&](const std::string& f) {
        return reader.identifiers.contains(f);
      });
      if (!calls) continue;
      callers.push_back(reader.path);
      if (reader.bench) ++bench_callers;
    }
    std::string stem = Alnum(fs::path(path).stem().string());
    std::vector<std::string> naming;
    for (const auto& b : benchmarks) {
      if (stem.size() >= 3 && Alnum(b.name).find(stem) != std::string::npos)
        naming.push_back(b.name);
    }
    double density = 100.0 * static_cast<double>(loops) / static_cast<double>(lines);
    KernelGuess guess;
    guess.path = path;
    guess.score =
        (static_cast<double>(loops) + density) *
            (1.0 + 2.0 * bench_callers + static_cast<double>(callers.size() - bench_callers)) +
        (naming.empty() ? 0.0 : 1000.0);
    guess.reason = fmt::format("{} loop(s) in {} lines", loops, lines);
    if (!naming.empty()) guess.reason += fmt::format("; benchmark {} names it", naming.front());
    if (!callers.empty()) {
      guess.reason += fmt::format("; its functions are called by {}", callers.front());
      if (callers.size() > 1) guess.reason += fmt::format(" and {} more", callers.size() - 1);
    }
    tiers.push_back(bench_callers > 0 || !naming.empty() ? 2 : callers.empty() ? 0 : 1);
    ranked.push_back(std::move(guess));
  }
  // Only the best tier: a kernel no benchmark exercises cannot be judged by the benchmark gate.
  int best = tiers.empty() ? 0 : *std::max_element(tiers.begin(), tiers.end());
  std::vector<KernelGuess> kept;
  for (size_t i = 0; i < ranked.size(); ++i)
    if (tiers[i] == best) kept.push_back(std::move(ranked[i]));
  ranked = std::move(kept);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const KernelGuess& a, const KernelGuess& b) { return a.score > b.score; });
  return ranked;
}

}  // namespace rlvr
