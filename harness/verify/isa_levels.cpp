#include "harness/verify/isa_levels.h"

#include <regex>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/base/process.h"
#include "harness/verify/preprocessor.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

// "-DCMAKE_CXX_FLAGS=-O2 -march=x86-64-v2" -> the value after -march=, or "".
std::string MarchIn(const std::string& word) {
  static const std::regex march_re(R"(-march=([A-Za-z0-9_.+-]+))");
  std::smatch m;
  return std::regex_search(word, m, march_re) ? m[1].str() : "";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

std::vector<IsaLevel> IsaLevelsOf(const BuildConfig& build) {
  std::vector<IsaLevel> levels;
  if (build.portable_args.empty()) return levels;
  IsaLevel given;
  given.configure_args = build.portable_args;
  for (const auto& word : build.portable_args)
    if (given.march.empty()) given.march = MarchIn(word);
  given.name = given.march.empty() ? "portable" : given.march;
  given.runnable = given.march.empty() || MachineRuns(given.march);
  levels.push_back(given);
  static const std::vector<std::string> x86 = {"x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"};
  auto at = std::find(x86.begin(), x86.end(), given.march);
  if (at == x86.end()) return levels;
  for (auto higher = at + 1; higher != x86.end(); ++higher) {
    IsaLevel level;
    level.name = level.march = *higher;
    for (const auto& word : build.portable_args) {
      std::string rewritten = word;
      size_t pos = rewritten.find("-march=" + given.march);
      if (pos != std::string::npos)
        rewritten.replace(pos, 7 + given.march.size(), "-march=" + level.march);
      level.configure_args.push_back(rewritten);
    }
    level.runnable = MachineRuns(level.march);
    levels.push_back(level);
  }
  return levels;
}

std::vector<IsaLevel> CommandIsaLevelsOf(const BuildConfig& build) {
  std::vector<IsaLevel> levels;
  if (build.isa_command.empty()) return levels;
  for (const char* march : {"x86-64-v2", "x86-64-v3", "x86-64-v4"}) {
    IsaLevel level;
    level.name = level.march = march;
    level.runnable = MachineRuns(march);
    levels.push_back(level);
  }
  return levels;
}

bool MachineRuns(const std::string& march) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  auto has = [](std::initializer_list<bool> features) {
    for (bool feature : features)
      if (!feature) return false;
    return true;
  };
  const bool v2 = has({__builtin_cpu_supports("popcnt") != 0, __builtin_cpu_supports("sse4.2") != 0,
                       __builtin_cpu_supports("ssse3") != 0});
  const bool v3 =
      v2 && has({__builtin_cpu_supports("avx2") != 0, __builtin_cpu_supports("fma") != 0,
                 __builtin_cpu_supports("bmi2") != 0});
  const bool v4 =
      v3 && has({__builtin_cpu_supports("avx512f") != 0, __builtin_cpu_supports("avx512bw") != 0,
                 __builtin_cpu_supports("avx512dq") != 0, __builtin_cpu_supports("avx512vl") != 0,
                 __builtin_cpu_supports("avx512cd") != 0});
  if (march == "x86-64") return true;
  if (march == "x86-64-v2") return v2;
  if (march == "x86-64-v3") return v3;
  if (march == "x86-64-v4") return v4;
#endif
  return true;
}

std::vector<bool> LinesWithCode(const std::string& text) {
  std::vector<bool> code;
  bool in_block = false;
  for (const std::string& line : Lines(text)) {
    bool has_code = false;
    bool starts_in_comment = in_block;
    char quote = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (in_block) {
        if (c == '*' && i + 1 < line.size() && line[i + 1] == '/') {
          in_block = false;
          ++i;
        }
        continue;
      }
      if (quote) {
        if (c == '\\')
          ++i;
        else if (c == quote)
          quote = 0;
        continue;
      }
      if (c == '/' && i + 1 < line.size() && line[i + 1] == '/') break;
      if (c == '/' && i + 1 < line.size() && line[i + 1] == '*') {
        in_block = true;
        ++i;
        continue;
      }
      if (c == '"' || c == '\'') quote = c;
      if (c != ' ' && c != '\t' && c != '\r' && c != '\\') has_code = true;
    }
    // A marker put before a line that starts inside a block comment would be commented out.
    code.push_back(has_code && !starts_in_comment);
  }
  return code;
}

std::set<int> LinesKeptByPreprocessor(const std::string& text, const fs::path& file,
                                      const std::vector<int>& lines,
                                      const std::vector<std::string>& compile_words,
                                      const fs::path& command_source, const fs::path& directory) {
  const std::vector<std::string> source = Lines(text);
  const std::vector<bool> code = LinesWithCode(text);
  std::set<int> wanted;
  for (int line : lines)
    if (line >= 1 && line <= static_cast<int>(code.size()) && code[line - 1]) wanted.insert(line);
  if (wanted.empty()) return {};
  // The marker goes on a line of its own before the logical line holding the wanted line (a
  // backslash continuation would carry it into a directive).
  std::map<int, std::vector<int>> markers_before;
  for (int line : wanted) {
    int start = line;
    while (start > 1 && !source[start - 2].empty() && source[start - 2].back() == '\\') --start;
    markers_before[start].push_back(line);
  }
  std::string probe_text;
  for (int i = 1; i <= static_cast<int>(source.size()); ++i) {
    if (auto it = markers_before.find(i); it != markers_before.end()) {
      for (int line : it->second) probe_text += fmt::format("__rlvr_isa_line_{}__\n", line);
    }
    probe_text += source[i - 1] + "\n";
  }
  const std::string out =
      RunPreprocessor(probe_text, file, ProbeCommand{compile_words, command_source, directory});
  std::set<int> kept;
  static const std::regex marker_re(R"(__rlvr_isa_line_(\d+)__)");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), marker_re);
       it != std::sregex_iterator(); ++it)
    kept.insert(std::stoi((*it)[1]));
  return kept;
}

}  // namespace rlvr
