// Path rules of the patch applier: which repo-relative paths a patch may touch (never outside
// the repository, never under .git/, never through a symlink) and the --allow glob language
// ('*' within a path segment, '**' across segments, '?' one character).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rlvr {

// Turns a path as written in a patch into a clean repo-relative path with forward slashes
// ("./x" -> "x", "a//b" -> "a/b"). Returns nullopt and sets `why` for absolute paths, paths with
// "..", paths under .git/ and empty paths.
std::optional<std::string> NormalizePatchPath(std::string_view raw, std::string* why);

// True when `path` (repo-relative, forward slashes) matches `glob`.
bool GlobMatch(std::string_view glob, std::string_view path);

// True when `path` matches one of `globs` (an empty list allows everything).
bool PathAllowed(const std::vector<std::string>& globs, std::string_view path);

// Checks the path on disk: no component may be a symlink and an existing target must be a
// regular file. Returns an error message, or empty when the path is safe to read and write.
std::string CheckPathOnDisk(const std::filesystem::path& repo_root, const std::string& path);

}  // namespace rlvr
