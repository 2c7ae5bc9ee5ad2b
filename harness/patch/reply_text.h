// Internal to patch/: the small text helpers that the readers of a model reply share (parse.cpp,
// unified_diff.cpp, search_replace.cpp, elision.cpp): prefix tests, trimming, markdown fences.
#pragma once

#include <cctype>
#include <optional>
#include <string>
#include <string_view>

namespace rlvr {

inline bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// `text` without leading and trailing white space.
inline std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// A markdown fence line ("```" or "~~~", possibly indented); returns its info string.
inline std::optional<std::string> FenceInfo(std::string_view line) {
  std::string_view trimmed = Trim(line);
  if (!StartsWith(trimmed, "```") && !StartsWith(trimmed, "~~~")) return std::nullopt;
  char fence = trimmed[0];
  size_t n = 0;
  while (n < trimmed.size() && trimmed[n] == fence) ++n;
  return std::string(Trim(trimmed.substr(n)));
}

inline bool IsFence(std::string_view line) {
  return FenceInfo(line).has_value();
}

}  // namespace rlvr
