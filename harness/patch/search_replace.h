// aider / OpenEvolve SEARCH/REPLACE blocks in a model reply: the marker lines and the body of one
// block. Which file a block edits is decided by the reply's reader (parse.cpp), from the lines
// around the block.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "harness/patch/parse.h"

namespace rlvr {

// `<<<<<<< SEARCH`, `=======`, `>>>>>>> REPLACE` (5 to 9 marker characters, as aider accepts;
// white space around them is ignored).
bool IsSearchStart(std::string_view line);
bool IsDivider(std::string_view line);
bool IsReplaceEnd(std::string_view line);

// Reads the block that opens at lines[start] (requires IsSearchStart(lines[start])) into `hunk`:
// its SEARCH lines as '-' lines, its REPLACE lines as '+' lines, reply_line = start + 1. Returns
// the line after its ">>>>>>> REPLACE"; when the block is not complete, sets `error` (naming the
// block's reply line) and returns lines.size().
size_t ReadSearchReplaceBlock(const std::vector<std::string>& lines, size_t start, Hunk& hunk,
                              std::string& error);

}  // namespace rlvr
