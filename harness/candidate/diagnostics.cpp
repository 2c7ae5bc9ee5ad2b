#include "harness/candidate/diagnostics.h"

#include <algorithm>
#include <iterator>
#include <regex>
#include <sstream>

namespace rlvr {

namespace {

namespace fs = std::filesystem;

// "path:12:5: error: ...", "path:12: warning: ...", "path: In function 'f':",
// "In file included from path:3:", "                 from path:3:", "path:1:10: fatal error".
// Group 1 is the path.
const std::regex& LocationLine() {
  static const std::regex re(
      R"(^(?:In file included from |\s+from |In member function [^:]*|)([^\s:][^:]*?):(?:\d+[:,]| In |\d*$))");
  return re;
}

// The source excerpt a diagnostic quotes: " 12 | code" and "    |   ^~~~".
bool IsQuotedSource(const std::string& line) {
  static const std::regex re(R"(^\s*\d*\s*\|)");
  return std::regex_search(line, re);
}

fs::path Resolved(const std::string& text, const fs::path& cwd) {
  fs::path path(text);
  if (path.is_relative()) path = cwd / path;
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(path, ec);
  return ec ? path.lexically_normal() : canonical;
}

bool IsUnder(const fs::path& path, const fs::path& dir) {
  auto [dir_end, path_it] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return dir_end == dir.end() || (std::next(dir_end) == dir.end() && dir_end->empty());
}

bool IsSystemHeaderDir(const fs::path& path) {
  static const std::regex re(
      R"(^/usr/(include|local/include|lib/gcc|lib/llvm-[^/]+|lib/clang|lib/x86_64-linux-gnu/[^/]*include)/)");
  return std::regex_search(path.string(), re);
}

}  // namespace

std::string KeepRepositoryDiagnostics(const std::string& output,
                                      const std::vector<fs::path>& allowed_dirs) {
  std::vector<fs::path> dirs;
  for (const auto& dir : allowed_dirs) dirs.push_back(Resolved(dir.string(), "/"));
  std::istringstream in(output);
  std::string out;
  bool dropping = false;  // inside a diagnostic located outside the allowed places
  bool said = false;      // the omission line was written for the current run of dropped lines
  std::smatch match;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_search(line, match, LocationLine())) {
      bool allowed = false;
      for (const auto& base : dirs) {  // a relative path may be taken from any of them
        fs::path path = Resolved(match[1].str(), base);
        allowed = allowed || IsSystemHeaderDir(path);
        for (const auto& dir : dirs) allowed = allowed || IsUnder(path, dir);
      }
      dropping = !allowed;
      if (!dropping) said = false;
    } else if (dropping && !IsQuotedSource(line)) {
      dropping = false;
      said = false;
    }
    if (!dropping) {
      out += line + "\n";
    } else if (!said) {
      out += "[a diagnostic located in a file outside the repository was omitted]\n";
      said = true;
    }
  }
  return out;
}

}  // namespace rlvr
