// Finding where a hunk's old text (its context and removed lines) sits in a file: by content
// first, exactly, then ignoring trailing whitespace, then ignoring all whitespace differences;
// the stated line number only breaks ties between equally good matches. Also describes the
// closest text when nothing matches, for the message sent back to the model.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "harness/patch/lines.h"

namespace rlvr {

enum class MatchLevel { kExact = 0, kTrailingWhitespace = 1, kAnyWhitespace = 2 };

struct LocateResult {
  enum class Status { kFound, kNotFound, kAmbiguous } status = Status::kNotFound;
  size_t position = 0;  // 0-based first line, when found
  MatchLevel level = MatchLevel::kExact;
  std::vector<size_t> candidates;  // every match at the deciding level (0-based)
};

// `needle` must be non-empty. `stated_start` is the 1-based line the patch claims (-1: none).
LocateResult LocateLines(const std::vector<TextLine>& file, const std::vector<std::string>& needle,
                         int stated_start);

// Lists the file text most like `needle` ("closest text in PATH (lines a-b): ...") and the first
// line that differs, for a refusal message.
std::string DescribeClosestText(const std::vector<TextLine>& file,
                                const std::vector<std::string>& needle, const std::string& path);

}  // namespace rlvr
