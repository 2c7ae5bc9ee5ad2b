#include "harness/patch/lines.h"

namespace rlvr {

std::vector<TextLine> SplitLines(std::string_view bytes) {
  std::vector<TextLine> lines;
  size_t start = 0;
  while (start < bytes.size()) {
    size_t end = bytes.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back({std::string(bytes.substr(start)), ""});
      break;
    }
    std::string_view text = bytes.substr(start, end - start);
    if (!text.empty() && text.back() == '\r') {
      text.remove_suffix(1);
      lines.push_back({std::string(text), "\r\n"});
    } else {
      lines.push_back({std::string(text), "\n"});
    }
    start = end + 1;
  }
  return lines;
}

std::string JoinLines(const std::vector<TextLine>& lines) {
  std::string bytes;
  for (const TextLine& line : lines) {
    bytes += line.text;
    bytes += line.eol;
  }
  return bytes;
}

std::string DominantEol(const std::vector<TextLine>& lines) {
  size_t crlf = 0, lf = 0;
  for (const TextLine& line : lines) {
    if (line.eol == "\r\n") ++crlf;
    if (line.eol == "\n") ++lf;
  }
  return crlf > lf ? "\r\n" : "\n";
}

}  // namespace rlvr
