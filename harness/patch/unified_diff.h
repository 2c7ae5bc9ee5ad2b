// Unified diffs in a model reply, read as models write them: wrong or missing hunk numbers and
// counts, blank context lines without their leading space, a/ b/ prefixes or none, git headers
// ("diff --git", "new file mode", "index") or none. Reads one file header or one hunk at a time;
// the reply's reader (parse.cpp) decides which file a hunk without a header of its own edits.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "harness/patch/parse.h"

namespace rlvr {

// "@@ ...": a hunk header, readable or not.
bool IsHunkHeader(std::string_view line);

// Whether a file header starts at lines[i] (requires i < lines.size()): "diff --git ...", or a
// "--- " line followed by a "+++ " line.
bool IsFileHeaderAt(const std::vector<std::string>& lines, size_t i);

// Reads the file header at lines[i] (IsFileHeaderAt(lines, i), or a lone "+++ " line) into
// `change`: its old and new paths as written ("/dev/null" for a created or deleted file),
// git_prefixes, and a refusal for what the applier does not do (binary patches, mode changes,
// symlinks, renames and copies). Leaves kind, hunks and reply_line alone. Returns the index of
// the first line after the header.
size_t ReadFileHeader(const std::vector<std::string>& lines, size_t i, FileChange& change);

// Reads the hunk whose header is lines[header] (requires IsHunkHeader(lines[header])) into
// `hunk`: the header's numbers (-1 where unreadable), its lines, "\ No newline at end of file"
// markers and reply_line. Blank reply lines at its end are dropped unless the header's counts
// want them. Returns the index of the first line after the hunk; hunk.lines is empty when no
// line belongs to it.
size_t ReadHunk(const std::vector<std::string>& lines, size_t header, Hunk& hunk);

}  // namespace rlvr
