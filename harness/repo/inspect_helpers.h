// Internal to repo/: the small helpers that the readers behind `rlvr init` share (inspect.cpp,
// cmake_reader.cpp, makefile_reader.cpp, starter_config.cpp): lower case, suffixes, and whether a
// repository path is a C/C++ source or header by its extension.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace rlvr {

inline std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

inline bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// .c, .cc, .cpp, .cxx
inline bool IsSourceFile(const std::string& path) {
  for (const char* ext : {".c", ".cc", ".cpp", ".cxx"})
    if (EndsWith(path, ext)) return true;
  return false;
}

// .h, .hh, .hpp, .hxx
inline bool IsHeaderFile(const std::string& path) {
  for (const char* ext : {".h", ".hh", ".hpp", ".hxx"})
    if (EndsWith(path, ext)) return true;
  return false;
}

}  // namespace rlvr
