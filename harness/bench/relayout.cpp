#include "harness/bench/relayout.h"

#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/base/file_text.h"

namespace rlvr {

namespace {

bool Blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

std::string_view TrimmedStart(std::string_view line) {
  size_t start = line.find_first_not_of(" \t");
  return start == std::string_view::npos ? std::string_view() : line.substr(start);
}

// Byte offset just after the last preprocessor line of the file's leading block (blank lines,
// comments, directives with their continuation lines); 0 when the block has no directive.
size_t AfterLeadingDirectives(std::string_view text) {
  size_t insert_at = 0;
  bool in_comment = false;  // inside /* ... */
  bool continued = false;   // the previous directive line ended with a backslash
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    size_t next = end == std::string_view::npos ? text.size() : end + 1;
    std::string_view line = text.substr(pos, next - pos);
    std::string_view body = TrimmedStart(line);
    bool directive = false;
    if (continued) {
      directive = true;
    } else if (in_comment) {
      if (body.find("*/") != std::string_view::npos) {
        in_comment = false;
        if (!Blank(body.substr(body.find("*/") + 2))) return insert_at;  // code after a comment
      }
    } else if (Blank(line) || body.starts_with("//")) {
      // leading
    } else if (body.starts_with("/*")) {
      size_t close = body.find("*/", 2);
      if (close == std::string_view::npos) {
        in_comment = true;
      } else if (!Blank(body.substr(close + 2))) {
        return insert_at;
      }
    } else if (body.starts_with("#")) {
      directive = true;
    } else {
      return insert_at;  // the first line of code
    }
    if (directive) {
      std::string_view stripped = line;
      while (!stripped.empty() && (stripped.back() == '\n' || stripped.back() == '\r'))
        stripped.remove_suffix(1);
      continued = !stripped.empty() && stripped.back() == '\\';
      if (!continued) insert_at = next;
    }
    pos = next;
  }
  return insert_at;
}

}  // namespace

std::string WithLayoutPadding(std::string_view text, const LayoutPadding& padding) {
  size_t at = AfterLeadingDirectives(text);
  // File-scope asm rather than an unused function: GCC and Clang emit top-level asm before the
  // functions of the file, so every function in it moves (an unused function may be emitted after
  // them). The bytes are never executed.
  std::string padding_text = fmt::format(
      "{}/* rlvr: code-layout padding {:x} (not part of the repository) */\n"
      "__asm__(\".pushsection .text\\n\\t.skip {}\\n\\t.popsection\");\n",
      at > 0 && text[at - 1] != '\n' ? "\n" : "", padding.tag, padding.bytes);
  std::string out(text.substr(0, at));
  out += padding_text;
  out += text.substr(at);
  return out;
}

std::vector<LayoutPadding> RandomLayoutPaddings(const std::vector<std::string>& files,
                                                std::mt19937_64& rng) {
  std::uniform_int_distribution<int> bytes(1, kMaxLayoutPaddingBytes);
  std::vector<LayoutPadding> paddings;
  for (const auto& file : files) paddings.push_back({file, bytes(rng), rng()});
  return paddings;
}

std::string DescribePaddings(const std::vector<LayoutPadding>& paddings) {
  std::vector<std::string> parts;
  for (const auto& p : paddings) parts.push_back(fmt::format("{} +{} B", p.file, p.bytes));
  return fmt::format("{}", fmt::join(parts, ", "));
}

void ApplyLayoutPaddings(const std::filesystem::path& tree,
                         const std::vector<LayoutPadding>& paddings) {
  for (const auto& padding : paddings) {
    std::filesystem::path path = tree / padding.file;
    if (!std::filesystem::exists(path)) continue;
    std::string padded = WithLayoutPadding(ReadFileText(path), padding);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << padded;
    if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
  }
}

}  // namespace rlvr
