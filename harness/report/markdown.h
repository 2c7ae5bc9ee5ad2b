// The Markdown summary of `rlvr report`, for terminals and pull requests: the summary paragraph,
// each target's standing and promotions (diffs folded in <details>), attempts by gate, the most
// common failure reasons and the latest attempts. Ledger text is escaped (see report/escape.h).
#pragma once

#include <string>

#include "harness/report/data.h"

namespace rlvr {

struct MarkdownOptions {
  int recent_rows = 20;         // attempts listed at the end
  size_t max_patch_lines = 80;  // per promotion diff
};

std::string RenderMarkdown(const ReportData& data, const MarkdownOptions& options = {});

}  // namespace rlvr
