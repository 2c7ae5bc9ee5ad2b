#include "harness/patch/parse.h"

#include <cctype>
#include <optional>
#include <string>
#include <utility>

#include "harness/patch/elision.h"
#include "harness/patch/reply_text.h"
#include "harness/patch/search_replace.h"
#include "harness/patch/unified_diff.h"

namespace rlvr {
namespace {

// Lines of the reply without their line ends; a CRLF reply reads like an LF one.
std::vector<std::string> SplitReply(std::string_view reply) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < reply.size()) {
    size_t end = reply.find('\n', start);
    if (end == std::string_view::npos) end = reply.size();
    std::string_view line = reply.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    start = end + 1;
  }
  return lines;
}

bool LooksLikePath(std::string_view token) {
  if (token.empty() || token.size() > 512) return false;
  bool has_separator = false;
  for (char c : token) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+') continue;
    if (c == '.' || c == '/' || c == '\\') {
      has_separator = true;
      continue;
    }
    return false;
  }
  // "..." or "." alone are punctuation, not files.
  return has_separator && token.find_first_not_of("./") != std::string_view::npos;
}

// The path a line names when the line is nothing but a path, possibly dressed in markdown:
// "kernels/x.cpp", "`kernels/x.cpp`", "**kernels/x.cpp:**", "### File: kernels/x.cpp".
std::string BarePath(std::string_view line) {
  std::string_view text = Trim(line);
  while (!text.empty() && text.front() == '#') text.remove_prefix(1);
  text = Trim(text);
  for (std::string_view label : {"File:", "file:", "FILE:", "Path:", "path:", "Filename:"}) {
    if (StartsWith(text, label)) text = Trim(text.substr(label.size()));
  }
  auto strip = [&text](std::string_view chars) {
    while (!text.empty() && chars.find(text.front()) != std::string_view::npos) {
      text.remove_prefix(1);
    }
    while (!text.empty() && chars.find(text.back()) != std::string_view::npos) {
      text.remove_suffix(1);
    }
  };
  strip("*`'\": ");
  return LooksLikePath(text) ? std::string(text) : std::string();
}

// The path in a fence's info string: "cpp kernels/x.cpp", "kernels/x.cpp", "cpp:kernels/x.cpp",
// "cpp title=kernels/x.cpp".
std::string FencePath(std::string_view info) {
  size_t start = 0;
  while (start < info.size()) {
    size_t end = info.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = info.size();
    std::string_view token = info.substr(start, end - start);
    size_t cut = token.find_last_of(":=");
    if (cut != std::string_view::npos) token = token.substr(cut + 1);
    std::string path = BarePath(token);
    if (!path.empty()) return path;
    start = end + 1;
  }
  return "";
}

// Walks the reply line by line: prose is skipped, a fence either wraps edits (stepped into) or
// holds a whole file, and each diff or SEARCH/REPLACE block goes to its reader. Decides which
// file each edit names: its own header, a path on the line before, the enclosing fence's label,
// the previous block's file, or the default path.
class ReplyParser {
 public:
  ReplyParser(std::string_view reply, std::string_view default_path)
      : lines_(SplitReply(reply)), default_path_(default_path) {}

  ParsedReply Parse() {
    size_t i = 0;
    while (i < lines_.size() && result_.error.empty()) i = Step(i);
    if (result_.error.empty() && result_.changes.empty()) {
      result_.error =
          "no patch found: expected a unified diff, SEARCH/REPLACE blocks or a fenced whole file";
    }
    return std::move(result_);
  }

 private:
  // Reads whatever starts at line i; returns the next line to read.
  size_t Step(size_t i) {
    const std::string& line = lines_[i];
    if (IsSearchStart(line)) return ParseSearchReplace(i);
    if (IsFileHeaderAt(lines_, i)) return ParseFileHeader(i);
    if (IsHunkHeader(line)) return ParseLooseHunk(i);
    if (StartsWith(line, "+++ ") && i + 1 < lines_.size() && IsHunkHeader(lines_[i + 1])) {
      return ParseFileHeader(i);  // "+++ b/PATH" without its "--- a/PATH" line
    }
    if (StartsWith(line, "Binary files ") || StartsWith(line, "GIT binary patch")) {
      FileChange change;
      change.reply_line = static_cast<int>(i) + 1;
      change.refusal = "binary patches are not supported";
      result_.changes.push_back(std::move(change));
      current_diff_ = -1;
      return i + 1;
    }
    if (std::optional<std::string> info = FenceInfo(line)) {
      if (in_fence_) {  // closing the fence we stepped into
        in_fence_ = false;
        fence_path_.clear();
        return i + 1;
      }
      return ParseFence(i, *info);
    }
    return i + 1;  // prose
  }

  size_t FindFenceClose(size_t open) const {
    for (size_t j = open + 1; j < lines_.size(); ++j) {
      std::optional<std::string> info = FenceInfo(lines_[j]);
      if (info && info->empty()) return j;
    }
    return lines_.size();
  }

  // A fence either wraps diffs / SEARCH/REPLACE blocks (step inside it) or holds a whole file
  // (when labelled with a path) or is just a code sample (skipped).
  size_t ParseFence(size_t open, const std::string& info) {
    size_t close = FindFenceClose(open);
    std::string path = FencePath(info);
    if (path.empty()) path = PathOnLineBefore(open);
    for (size_t j = open + 1; j < close; ++j) {
      if (IsSearchStart(lines_[j]) || IsFileHeaderAt(lines_, j) || IsHunkHeader(lines_[j])) {
        in_fence_ = true;
        fence_path_ = path;
        return open + 1;
      }
    }
    if (path.empty() || close == lines_.size()) return close + 1;
    FileChange change;
    change.kind = ChangeKind::kWholeFile;
    change.old_path = change.new_path = path;
    change.reply_line = static_cast<int>(open) + 1;
    size_t elided = FirstElisionLine(lines_, open + 1, close, path);
    if (elided != close) {
      change.refusal = "the fenced file " + path + " looks elided: its line " +
                       std::to_string(elided - open) + " (reply line " +
                       std::to_string(elided + 1) + ") '" + std::string(Trim(lines_[elided])) +
                       "' stands for code left out; send the complete file, a diff or "
                       "SEARCH/REPLACE blocks";
    }
    for (size_t j = open + 1; j < close; ++j) change.content.push_back(lines_[j]);
    result_.changes.push_back(std::move(change));
    return close + 1;
  }

  // The nearest line above `i` that is only a path (skipping blank lines and fence openers whose
  // info names no path); empty when there is none.
  std::string PathOnLineBefore(size_t i) const {
    for (size_t back = 1; back <= 3 && back <= i; ++back) {
      const std::string& line = lines_[i - back];
      if (Trim(line).empty()) continue;
      if (std::optional<std::string> info = FenceInfo(line)) {
        std::string path = FencePath(*info);
        if (!path.empty()) return path;
        continue;
      }
      return BarePath(line);
    }
    return "";
  }

  // For SEARCH/REPLACE blocks only (their SEARCH text must still match, so a wrong guess is
  // refused, never misapplied): the one `backticked` path in a prose line above the block.
  std::string BacktickedPathBefore(size_t i) const {
    for (size_t back = 1; back <= 3 && back <= i; ++back) {
      const std::string& line = lines_[i - back];
      if (Trim(line).empty() || IsFence(line)) continue;
      std::string found;
      int count = 0;
      for (size_t open = line.find('`'); open != std::string::npos;) {
        size_t close = line.find('`', open + 1);
        if (close == std::string::npos) break;
        std::string token = line.substr(open + 1, close - open - 1);
        if (LooksLikePath(token)) {
          found = token;
          ++count;
        }
        open = line.find('`', close + 1);
      }
      return count == 1 ? found : "";
    }
    return "";
  }

  size_t ParseSearchReplace(size_t start) {
    std::string path = PathOnLineBefore(start);
    if (path.empty()) path = BacktickedPathBefore(start);
    if (path.empty()) path = fence_path_;
    if (path.empty()) path = last_search_path_;
    if (path.empty()) path = std::string(default_path_);
    if (path.empty()) {
      result_.error = "SEARCH/REPLACE block at reply line " + std::to_string(start + 1) +
                      " does not say which file it edits: put the file's path on the line before "
                      "it";
      return lines_.size();
    }
    last_search_path_ = path;
    Hunk hunk;
    size_t next = ReadSearchReplaceBlock(lines_, start, hunk, result_.error);
    if (!result_.error.empty()) return next;
    FileChange change;
    change.kind = ChangeKind::kSearchReplace;
    change.old_path = change.new_path = path;
    change.reply_line = hunk.reply_line;
    change.hunks.push_back(std::move(hunk));
    result_.changes.push_back(std::move(change));
    return next;
  }

  size_t ParseFileHeader(size_t i) {
    FileChange change;
    change.reply_line = static_cast<int>(i) + 1;
    i = ReadFileHeader(lines_, i, change);
    result_.changes.push_back(std::move(change));
    current_diff_ = static_cast<int>(result_.changes.size()) - 1;
    while (i < lines_.size() && IsHunkHeader(lines_[i])) i = ParseHunk(i, current_diff_);
    return i;
  }

  // A hunk header with no file header right before it: it continues the current diff, or edits
  // the file named by the enclosing fence or the default path.
  size_t ParseLooseHunk(size_t i) {
    bool continues =
        current_diff_ >= 0 &&
        (fence_path_.empty() || result_.changes[current_diff_].new_path == fence_path_ ||
         result_.changes[current_diff_].new_path == "b/" + fence_path_);
    if (!continues) {
      std::string path = !fence_path_.empty() ? fence_path_ : std::string(default_path_);
      if (path.empty()) {
        result_.error = "hunk at reply line " + std::to_string(i + 1) +
                        " has no file header: start the diff with '--- a/PATH' and '+++ b/PATH'";
        return lines_.size();
      }
      FileChange change;
      change.old_path = change.new_path = path;
      change.reply_line = static_cast<int>(i) + 1;
      result_.changes.push_back(std::move(change));
      current_diff_ = static_cast<int>(result_.changes.size()) - 1;
    }
    return ParseHunk(i, current_diff_);
  }

  size_t ParseHunk(size_t header, int change_index) {
    Hunk hunk;
    size_t next = ReadHunk(lines_, header, hunk);
    if (hunk.lines.empty()) {
      result_.error = "hunk at reply line " + std::to_string(header + 1) + " has no lines";
      return lines_.size();
    }
    result_.changes[change_index].hunks.push_back(std::move(hunk));
    return next;
  }

  std::vector<std::string> lines_;
  std::string_view default_path_;
  ParsedReply result_;
  int current_diff_ = -1;
  bool in_fence_ = false;
  std::string fence_path_;
  std::string last_search_path_;
};

}  // namespace

ParsedReply ParseReply(std::string_view reply, std::string_view default_path) {
  return ReplyParser(reply, default_path).Parse();
}

}  // namespace rlvr
