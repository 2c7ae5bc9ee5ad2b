#include "harness/patch/paths.h"

#include <sys/stat.h>

namespace rlvr {
namespace {

std::vector<std::string_view> SplitSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    segments.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segments;
}

// '*' and '?' within one segment; classic backtracking wildcard match.
bool SegmentMatch(std::string_view glob, std::string_view text) {
  size_t g = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == text[t])) {
      ++g;
      ++t;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      resume = t;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool SegmentsMatch(const std::vector<std::string_view>& glob, size_t gi,
                   const std::vector<std::string_view>& path, size_t pi) {
  if (gi == glob.size()) return pi == path.size();
  if (glob[gi] == "**") {
    for (size_t skip = pi; skip <= path.size(); ++skip) {
      if (SegmentsMatch(glob, gi + 1, path, skip)) return true;
    }
    return false;
  }
  if (pi == path.size()) return false;
  return SegmentMatch(glob[gi], path[pi]) && SegmentsMatch(glob, gi + 1, path, pi + 1);
}

}  // namespace

std::optional<std::string> NormalizePatchPath(std::string_view raw, std::string* why) {
  std::string path(raw);
  for (char& c : path) {
    if (c == '\\') c = '/';
  }
  if (path.empty()) {
    *why = "empty file path";
    return std::nullopt;
  }
  if (path[0] == '/' || (path.size() > 1 && path[1] == ':')) {
    *why = "absolute path '" + path + "' is not allowed: paths must be relative to the repository";
    return std::nullopt;
  }
  std::string clean;
  for (std::string_view segment : SplitSegments(path)) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      *why = "path '" + path + "' leaves the repository ('..' is not allowed)";
      return std::nullopt;
    }
    if (segment == ".git") {
      *why = "path '" + path + "' is inside .git/, which may not be edited";
      return std::nullopt;
    }
    if (!clean.empty()) clean += '/';
    clean += segment;
  }
  if (clean.empty()) {
    *why = "path '" + path + "' names no file";
    return std::nullopt;
  }
  return clean;
}

bool GlobMatch(std::string_view glob, std::string_view path) {
  return SegmentsMatch(SplitSegments(glob), 0, SplitSegments(path), 0);
}

bool PathAllowed(const std::vector<std::string>& globs, std::string_view path) {
  if (globs.empty()) return true;
  for (const std::string& glob : globs) {
    if (GlobMatch(glob, path)) return true;
  }
  return false;
}

std::string CheckPathOnDisk(const std::filesystem::path& repo_root, const std::string& path) {
  std::filesystem::path current = repo_root;
  std::vector<std::string_view> segments = SplitSegments(path);
  for (size_t i = 0; i < segments.size(); ++i) {
    current /= std::string(segments[i]);
    struct stat info;
    if (lstat(current.c_str(), &info) != 0) return "";  // does not exist yet: a new file
    bool last = i + 1 == segments.size();
    if (S_ISLNK(info.st_mode)) {
      return "'" + path + "' goes through a symlink, which the applier does not follow";
    }
    if (!last && !S_ISDIR(info.st_mode)) return "'" + path + "': a parent is not a directory";
    if (last && !S_ISREG(info.st_mode)) return "'" + path + "' is not a regular file";
  }
  return "";
}

}  // namespace rlvr
