// The one-paragraph summary at the top of every report ("Last run: 37 attempts, 2 promotions,
// gemm BM_Gemm/1024 +14% ..."), also printed by `rlvr report`. Plain text: renderers escape it.
#pragma once

#include <string>

#include "harness/report/data.h"

namespace rlvr {

std::string SummaryParagraph(const ReportData& data);

}  // namespace rlvr
