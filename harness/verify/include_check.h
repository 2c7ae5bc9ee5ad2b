// Part of the `build` gate, before anything compiles: every file a candidate edits may include
// only what can be named literally and found inside the repository (or be a standard header). A
// compiler opens whatever an #include names and quotes it in its diagnostics, so a macro-computed
// operand (#include PATH(x), __has_include(MACRO)) could read any file the user can read into a
// verdict and the repair prompt. The check reads each edited file as the preprocessor does
// (spliced lines, comments removed, digraphs and trigraphs), so a directive split by a comment or a
// backslash-newline is seen whole.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rlvr {

// Problems of `text` (the candidate's version of `file`, relative to `repo_root`), one message
// each ("file:line: reason"); empty = clean. Refused: #include, #include_next, #import and #embed
// whose operand is not a literal "..." or <...>; __has_include/__has_include_next of a
// non-literal, and so of a name #defined as __has_include (testing whether it exists, with
// #ifdef or defined(), is no invocation); a quoted operand that is absolute, leads out of the
// repository with "..", or is a link to a file outside it; #include_next and #embed of anything.
std::vector<std::string> CheckIncludeOperands(const std::string& text, const std::string& file,
                                              const std::filesystem::path& repo_root);

}  // namespace rlvr
