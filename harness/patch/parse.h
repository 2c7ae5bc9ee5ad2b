// Reading a model reply into file edits. Understands unified diffs as models write them (wrong
// or missing hunk numbers and counts, prose and markdown fences around them, CRLF, blank context
// lines without their leading space, a/ b/ prefixes or none, git headers or none), aider /
// OpenEvolve SEARCH/REPLACE blocks, and whole files in a fence labelled with their path (one
// with a placeholder for left-out code, "// ... rest unchanged", "...", "<existing code>",
// carries a refusal naming the line; C/C++'s own "..." and documentation do not). Parsing only
// reads text; locating and applying the edits is locate.h / apply.h.
//
// parse.cpp walks the reply (prose, fences, which file each edit names); unified_diff.h reads
// diffs, search_replace.h SEARCH/REPLACE blocks, and elision.h finds placeholders in whole files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rlvr {

struct HunkLine {
  char kind;  // ' ' context, '-' removed, '+' added
  std::string text;
};

struct Hunk {
  int old_start = -1;  // as stated in the header (1-based); -1 when missing or unreadable
  int old_count = -1;
  int new_start = -1;
  int new_count = -1;
  std::vector<HunkLine> lines;
  bool old_missing_final_newline = false;  // "\ No newline at end of file" markers
  bool new_missing_final_newline = false;
  int reply_line = 0;  // 1-based line of the reply where the hunk starts
};

enum class ChangeKind { kUnified, kSearchReplace, kWholeFile };

struct FileChange {
  ChangeKind kind = ChangeKind::kUnified;
  std::string old_path;              // as written; "/dev/null" for a new file (unified only)
  std::string new_path;              // as written; "/dev/null" for a deleted file (unified only)
  bool git_prefixes = false;         // paths came with git's a/ b/ prefixes
  std::vector<Hunk> hunks;           // unified hunks, or one hunk per SEARCH/REPLACE block
  std::vector<std::string> content;  // whole-file replacement, one entry per line
  std::string refusal;  // non-empty: an edit the applier must refuse (binary, mode change, ...)
  int reply_line = 0;
};

struct ParsedReply {
  std::vector<FileChange> changes;
  std::string error;  // non-empty when the reply cannot be read as edits
};

// `default_path` names the file for SEARCH/REPLACE blocks and header-less hunks that give no
// path of their own (may be empty).
ParsedReply ParseReply(std::string_view reply, std::string_view default_path);

}  // namespace rlvr
