#include "kernels/tokenizer_unicode.h"

#include <algorithm>

namespace rlvr {
namespace {

constexpr CodePointRange kRanges[] = {
#include "kernels/tokenizer_unicode_table.inc"
};

}  // namespace

std::span<const CodePointRange> CodePointClassRanges() {
  return kRanges;
}

CodePointClass ClassifyCodePoint(uint32_t cp) {
  // The first range whose last >= cp; cp is in it if its first <= cp.
  const CodePointRange* end = kRanges + std::size(kRanges);
  const CodePointRange* it = std::lower_bound(
      kRanges, end, cp,
      [](const CodePointRange& range, uint32_t value) { return range.last < value; });
  if (it != end && it->first <= cp) return it->cls;
  return CodePointClass::kOther;
}

}  // namespace rlvr
