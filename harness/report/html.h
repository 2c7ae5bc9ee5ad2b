// The HTML page of `rlvr report`: one self-contained file (inline CSS and SVG, no network, no
// external scripts or fonts), readable from phone to desktop widths. A Content-Security-Policy
// allows only the page's own tiny script (by nonce), so even markup that escaped escaping could
// not run; all ledger text is escaped regardless.
#pragma once

#include <string>

#include "harness/report/data.h"

namespace rlvr {

std::string RenderHtml(const ReportData& data);

}  // namespace rlvr
