#include "harness/patch/unified_diff.h"

#include <cctype>
#include <utility>

#include "harness/patch/reply_text.h"
#include "harness/patch/search_replace.h"

namespace rlvr {
namespace {

constexpr std::string_view kDevNull = "/dev/null";

// "a/x.cpp\t2024-01-01 ..." -> "a/x.cpp"; "\"a/my file.c\"" -> "a/my file.c".
std::string HeaderPath(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '"') {
    size_t close = text.find('"', 1);
    if (close != std::string_view::npos) return std::string(text.substr(1, close - 1));
  }
  size_t cut = text.find_first_of("\t ");
  return std::string(text.substr(0, cut));
}

int ParseNumber(std::string_view text, size_t& pos) {
  if (pos >= text.size() || !std::isdigit(static_cast<unsigned char>(text[pos]))) return -1;
  long value = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    value = value * 10 + (text[pos++] - '0');
    if (value > 100000000) return -1;
  }
  return static_cast<int>(value);
}

// "@@ -a,b +c,d @@ ..." with the counts optional; anything unreadable leaves -1.
void ParseHunkHeader(std::string_view line, Hunk& hunk) {
  size_t pos = line.find_first_not_of('@');
  if (pos == std::string_view::npos) return;
  while (pos < line.size() && line[pos] == ' ') ++pos;
  if (pos >= line.size() || line[pos] != '-') return;
  ++pos;
  int old_start = ParseNumber(line, pos);
  int old_count = 1;
  if (old_start < 0) return;
  if (pos < line.size() && line[pos] == ',') old_count = ParseNumber(line, ++pos);
  while (pos < line.size() && line[pos] == ' ') ++pos;
  int new_start = -1, new_count = 1;
  if (pos < line.size() && line[pos] == '+') {
    new_start = ParseNumber(line, ++pos);
    if (pos < line.size() && line[pos] == ',') new_count = ParseNumber(line, ++pos);
  }
  hunk.old_start = old_start;
  hunk.old_count = old_count;
  hunk.new_start = new_start;
  hunk.new_count = new_start < 0 ? -1 : new_count;
}

bool IsHunkBodyLine(const std::string& line) {
  return !line.empty() && (line[0] == ' ' || line[0] == '+' || line[0] == '-');
}

// "diff --git a/x b/x": split where the two halves name the same file when possible.
void SplitGitPaths(std::string_view rest, FileChange& change) {
  rest = Trim(rest);
  for (size_t pos = rest.find(" b/"); pos != std::string_view::npos;
       pos = rest.find(" b/", pos + 1)) {
    std::string_view left = rest.substr(0, pos), right = rest.substr(pos + 1);
    if (StartsWith(left, "a/") && left.substr(2) == right.substr(2)) {
      change.old_path = std::string(left);
      change.new_path = std::string(right);
      return;
    }
  }
  size_t space = rest.find(' ');
  change.old_path = std::string(rest.substr(0, space));
  change.new_path =
      space == std::string_view::npos ? change.old_path : std::string(Trim(rest.substr(space)));
}

}  // namespace

bool IsHunkHeader(std::string_view line) {
  return StartsWith(line, "@@");
}

bool IsFileHeaderAt(const std::vector<std::string>& lines, size_t i) {
  if (StartsWith(lines[i], "diff --git ")) return true;
  return StartsWith(lines[i], "--- ") && i + 1 < lines.size() && StartsWith(lines[i + 1], "+++ ");
}

size_t ReadFileHeader(const std::vector<std::string>& lines, size_t i, FileChange& change) {
  if (StartsWith(lines[i], "diff --git ")) {
    SplitGitPaths(std::string_view(lines[i]).substr(11), change);
    ++i;
    while (i < lines.size() && !IsHunkHeader(lines[i]) && !IsFence(lines[i]) &&
           !IsFileHeaderAt(lines, i)) {
      const std::string& line = lines[i];
      if (StartsWith(line, "new file mode ")) {
        change.old_path = kDevNull;
        std::string mode = std::string(Trim(std::string_view(line).substr(14)));
        if (mode == "120000") {
          change.refusal = "symlinks are not supported";
        } else if (mode != "100644") {
          change.refusal = "new file mode " + mode + " is not supported (only 100644)";
        }
      } else if (StartsWith(line, "deleted file mode ")) {
        change.new_path = kDevNull;
      } else if (StartsWith(line, "old mode ") || StartsWith(line, "new mode ")) {
        change.refusal = "mode changes are not supported";
      } else if (StartsWith(line, "rename ") || StartsWith(line, "copy ") ||
                 StartsWith(line, "similarity index") || StartsWith(line, "dissimilarity index")) {
        if (change.refusal.empty()) change.refusal = "renames and copies are not supported";
      } else if (StartsWith(line, "Binary files ") || StartsWith(line, "GIT binary patch")) {
        change.refusal = "binary patches are not supported";
      } else if (!StartsWith(line, "index ")) {
        break;
      }
      ++i;
    }
  }
  if (i + 1 < lines.size() && StartsWith(lines[i], "--- ") && StartsWith(lines[i + 1], "+++ ")) {
    change.old_path = HeaderPath(std::string_view(lines[i]).substr(4));
    change.new_path = HeaderPath(std::string_view(lines[i + 1]).substr(4));
    i += 2;
  } else if (change.new_path.empty() && StartsWith(lines[i], "+++ ")) {
    change.old_path = change.new_path = HeaderPath(std::string_view(lines[i]).substr(4));
    ++i;
  }
  change.git_prefixes = (StartsWith(change.old_path, "a/") || change.old_path == kDevNull) &&
                        (StartsWith(change.new_path, "b/") || change.new_path == kDevNull);
  return i;
}

size_t ReadHunk(const std::vector<std::string>& lines, size_t header, Hunk& hunk) {
  hunk.reply_line = static_cast<int>(header) + 1;
  ParseHunkHeader(lines[header], hunk);
  std::vector<bool> from_blank;  // added for an empty reply line (maybe just a separator)
  int old_seen = 0, new_seen = 0;
  size_t i = header + 1;
  for (; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    // Only an unindented fence ends a hunk: " ```" is a context line.
    bool fence = StartsWith(line, "```") || StartsWith(line, "~~~");
    if (IsHunkHeader(line) || IsFileHeaderAt(lines, i) || fence || IsSearchStart(line)) {
      break;
    }
    bool counts_reached = hunk.old_count >= 0 && hunk.new_count >= 0 &&
                          old_seen >= hunk.old_count && new_seen >= hunk.new_count;
    char kind;
    std::string text;
    bool blank = false;
    if (line.empty()) {
      kind = ' ';
      blank = true;
    } else if (line[0] == '\\') {
      if (!hunk.lines.empty()) {
        char last = hunk.lines.back().kind;
        if (last != '+') hunk.old_missing_final_newline = true;
        if (last != '-') hunk.new_missing_final_newline = true;
      }
      continue;
    } else if (IsHunkBodyLine(line)) {
      kind = line[0];
      text = line.substr(1);
    } else if (!counts_reached && i + 1 < lines.size() && IsHunkBodyLine(lines[i + 1]) &&
               !IsFileHeaderAt(lines, i + 1)) {
      kind = ' ';  // a context line that lost its leading space, mid-hunk
      text = line;
    } else {
      break;
    }
    hunk.lines.push_back({kind, std::move(text)});
    from_blank.push_back(blank);
    if (kind != '+') ++old_seen;
    if (kind != '-') ++new_seen;
  }
  // Blank lines at the end of a hunk are separators unless the header's counts want them.
  while (!hunk.lines.empty() && from_blank.back() &&
         !(hunk.old_count == old_seen && hunk.new_count == new_seen)) {
    hunk.lines.pop_back();
    from_blank.pop_back();
    --old_seen;
    --new_seen;
  }
  return i;
}

}  // namespace rlvr
