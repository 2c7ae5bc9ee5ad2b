#include "harness/verify/expanded_source_check.h"

#include <iterator>
#include <regex>

#include <fmt/format.h>

namespace rlvr {

namespace {

long Count(const std::string& text, const std::regex& re) {
  return std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator());
}

}  // namespace

std::vector<std::string> CheckExpandedSource(const std::string& relative,
                                             const std::string& candidate_expanded,
                                             const std::string& head_expanded) {
  static const std::regex asm_re(R"(\b(asm|__asm__|__asm)\b)");
  static const std::regex incbin_re(R"(\.incbin\b)");
  std::vector<std::string> problems;
  const long candidate_asm = Count(candidate_expanded, asm_re);
  const long head_asm = Count(head_expanded, asm_re);
  if (candidate_asm > head_asm)
    problems.push_back(fmt::format(
        "{}: inline assembly once its macros are expanded ({} statement(s), HEAD's has {}): "
        "kernels use intrinsics (inline assembly can read any file into the object with .incbin, "
        "or make system calls)",
        relative, candidate_asm, head_asm));
  if (Count(candidate_expanded, incbin_re) > Count(head_expanded, incbin_re))
    problems.push_back(fmt::format("{}: `.incbin` once its macros are expanded", relative));
  return problems;
}

}  // namespace rlvr
