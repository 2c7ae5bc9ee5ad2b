// Part of the `build` gate: an edited file as the compiler sees it, every macro expanded. The
// source check of added lines reads text, and a token-pasting macro spells `asm` without the word;
// inline assembly can then `.incbin` any file the user can read into the object, whose bytes a
// deliberately wrong output would carry into a test failure, a verdict and the repair prompt. So
// the file's own expanded lines (verify/preprocessor.h OwnExpandedLines; headers excluded, the
// system's use asm labels) may not hold more inline assembly than HEAD's version of the file.
#pragma once

#include <string>
#include <vector>

namespace rlvr {

// Problems ("file: reason") of the candidate's expanded own lines of the repository file
// `relative` against HEAD's ("" for a file HEAD does not have); empty = clean.
std::vector<std::string> CheckExpandedSource(const std::string& relative,
                                             const std::string& candidate_expanded,
                                             const std::string& head_expanded);

}  // namespace rlvr
