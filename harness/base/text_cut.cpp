#include "harness/base/text_cut.h"

#include <fmt/format.h>

namespace rlvr {

size_t Utf8Floor(std::string_view text, size_t at) {
  if (at >= text.size()) return text.size();
  // Continuation bytes are 10xxxxxx: step back to the first byte of the character.
  while (at > 0 && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
  return at;
}

std::string CutMiddle(std::string_view text, size_t max_bytes, std::string_view what) {
  if (text.size() <= max_bytes) return std::string(text);
  // The marker's numbers are those of the final cut: its length does not depend on them beyond
  // the digits of the total, which bound the cut's.
  auto marker = [&](size_t cut) {
    return fmt::format("\n[... cut {} of {} bytes of {} ...]\n", cut, text.size(), what);
  };
  size_t marker_bytes = marker(text.size()).size();
  if (max_bytes <= marker_bytes) return marker(text.size());
  size_t keep = max_bytes - marker_bytes;
  size_t head = Utf8Floor(text, keep - keep / 3);
  size_t tail_start = text.size() - (keep - head);
  // Round the tail's start up to a character boundary.
  while (tail_start < text.size() && (static_cast<unsigned char>(text[tail_start]) & 0xC0) == 0x80)
    ++tail_start;
  size_t cut = tail_start - head;
  return std::string(text.substr(0, head)) + marker(cut) + std::string(text.substr(tail_start));
}

}  // namespace rlvr
