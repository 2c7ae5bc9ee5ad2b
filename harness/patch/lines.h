// A text file as the patch applier sees it: lines that each keep their own line end ("\n",
// "\r\n" or "" for a last line without one), so applying an edit preserves the file's bytes
// everywhere it does not change them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rlvr {

struct TextLine {
  std::string text;  // without the line end
  std::string eol;   // "\n", "\r\n" or "" (last line without a final newline)
};

std::vector<TextLine> SplitLines(std::string_view bytes);
std::string JoinLines(const std::vector<TextLine>& lines);

// The line end new lines get: "\r\n" when most of the file's lines use it, else "\n".
std::string DominantEol(const std::vector<TextLine>& lines);

}  // namespace rlvr
