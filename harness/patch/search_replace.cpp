#include "harness/patch/search_replace.h"

#include "harness/patch/reply_text.h"

namespace rlvr {
namespace {

bool IsMarker(std::string_view line, char marker, std::string_view word) {
  line = Trim(line);
  size_t n = 0;
  while (n < line.size() && line[n] == marker) ++n;
  if (n < 5 || n > 9) return false;
  return Trim(line.substr(n)) == word;
}

}  // namespace

bool IsSearchStart(std::string_view line) {
  return IsMarker(line, '<', "SEARCH");
}
bool IsDivider(std::string_view line) {
  return IsMarker(line, '=', "");
}
bool IsReplaceEnd(std::string_view line) {
  return IsMarker(line, '>', "REPLACE");
}

size_t ReadSearchReplaceBlock(const std::vector<std::string>& lines, size_t start, Hunk& hunk,
                              std::string& error) {
  hunk.reply_line = static_cast<int>(start) + 1;
  size_t i = start + 1;
  while (i < lines.size() && !IsDivider(lines[i])) {
    if (IsSearchStart(lines[i]) || IsReplaceEnd(lines[i])) break;
    hunk.lines.push_back({'-', lines[i++]});
  }
  if (i == lines.size() || !IsDivider(lines[i])) {
    error = "SEARCH/REPLACE block at reply line " + std::to_string(start + 1) +
            " has no ======= line after its SEARCH part";
    return lines.size();
  }
  ++i;
  while (i < lines.size() && !IsReplaceEnd(lines[i])) {
    if (IsSearchStart(lines[i]) || IsDivider(lines[i])) break;
    hunk.lines.push_back({'+', lines[i++]});
  }
  if (i == lines.size() || !IsReplaceEnd(lines[i])) {
    error = "SEARCH/REPLACE block at reply line " + std::to_string(start + 1) +
            " is not closed by >>>>>>> REPLACE";
    return lines.size();
  }
  return i + 1;
}

}  // namespace rlvr
