// Whether a fenced whole file in a model reply leaves code out. Models abbreviate files with
// placeholders ("// ... rest of the file unchanged ...", "...", "<existing code>"); applying one
// would silently delete that code. But C and C++ use "..." themselves (variadic macros and
// functions, catch (...), parameter packs, fold expressions), and real comments contain "...",
// "the rest" or "unchanged": only prose that stands for code counts, and documentation (block
// comments, paragraphs of // comments, #if 0) may show an example with "..." in it. Checked on
// the 22,600 headers under /usr/include of Debian 12 (C++ standard library, Boost, LLVM, Linux,
// GoogleTest, ...), each sent as a whole file: 7 are refused, each for a "// ..." or "/* ... */"
// alone among code, or "..." in pseudo-code. Used by parse.cpp to refuse an elided whole file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rlvr {

// The index of the first line in lines[begin, end) (a fenced whole file named `path`, whose
// extension decides whether "..." alone on a line is content, as in Python or prose) that stands
// for left-out code, or `end`. Requires begin <= end <= lines.size(). Lines inside a block
// comment that began on an earlier line, or inside "#if 0", are documentation and never count.
size_t FirstElisionLine(const std::vector<std::string>& lines, size_t begin, size_t end,
                        std::string_view path);

}  // namespace rlvr
