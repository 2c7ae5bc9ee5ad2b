// Formatting a candidate's edit the way the repository wants it, and no more: only the lines the
// candidate added or changed (against HEAD) are given to clang-format, with the repository's own
// .clang-format (looked up from the file's directory up to the tree's root, as clang-format does,
// but never beyond it). A repository without a .clang-format is not formatted at all, since any
// style we chose would be ours, not its. Includes are never re-sorted unless the repository's
// style file says SortIncludes explicitly: re-ordering C headers can break a build (a header
// using uint32_t before <stdint.h>). Only the changed ranges are formatted, so a huge file costs
// little; a clang-format run that still takes too long leaves the file as written and says so.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace rlvr {

// 1-based, inclusive.
struct LineRange {
  int first = 0;
  int last = 0;
  bool operator==(const LineRange&) const = default;
};

// The new-side line ranges of a `git diff -U0` of one file: one per hunk that adds lines (pure
// deletions have nothing to format). Adjacent or overlapping ranges are merged.
std::vector<LineRange> ParseChangedRanges(std::string_view unified_diff);

// "3:7" or "3" for one line; ranges joined by ", ".
std::string DescribeRanges(const std::vector<LineRange>& ranges);

// The .clang-format (or _clang-format) that applies to `file` (relative to `root`): the nearest
// one from the file's directory up to `root` inclusive. Empty when there is none.
std::filesystem::path FindStyleFile(const std::filesystem::path& root, const std::string& file);

// Whether a .clang-format text sets SortIncludes to something other than false/Never. A style
// that inherits sorting from BasedOnStyle does not count: sorting must be asked for by name.
bool StyleEnablesIncludeSorting(std::string_view style_text);

// What happened to one file.
struct FileFormatResult {
  enum class Status {
    kNoStyle,           // no .clang-format applies: left as written
    kNoChangedLines,    // the edit only deletes lines
    kAlreadyFormatted,  // the changed lines were already formatted
    kFormatted,         // the changed lines were reformatted in place
    kUnformatted,       // check-only: the changed lines are not formatted
    kTimedOut,          // clang-format exceeded the time limit: left as written
    kFailed,            // clang-format failed (a bad style file, a crash, ...)
    kNotInstalled,      // clang-format could not be started
  };
  std::string file;
  Status status = Status::kNoStyle;
  std::filesystem::path style_file;  // relative to the root; empty for kNoStyle
  std::vector<LineRange> ranges;     // the changed lines given to clang-format
  bool sorted_includes = false;      // the style asked for include sorting
  std::string detail;                // clang-format's complaints or errors
};

struct FormatOptions {
  bool check_only = false;      // report unformatted lines instead of formatting them
  double timeout_seconds = 60;  // per clang-format run
  std::string clang_format = "clang-format";
};

// Formats (or checks) the changed lines of `file` (relative to `root`, a git worktree whose HEAD
// is the commit the edit is against). A file HEAD does not have is changed throughout.
FileFormatResult FormatChangedLines(const std::filesystem::path& root, const std::string& file,
                                    const FormatOptions& options = {});

// The format gate's summary of several files' results.
struct FormatSummary {
  bool ok = true;       // false when a file is unformatted (check-only) or clang-format failed
  std::string message;  // one line saying exactly what was done
  std::string detail;
};
FormatSummary SummarizeFormat(const std::vector<FileFormatResult>& results, bool check_only);

}  // namespace rlvr
