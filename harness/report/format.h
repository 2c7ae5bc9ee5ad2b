// Number formatting shared by the report's HTML, Markdown and summary, so every page states a
// figure the same way (times with units, speed-ups as percentages, token counts abbreviated).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rlvr {

// 12.3 ms, 850 µs, 1.20 s: three significant digits, unit chosen by magnitude.
std::string FormatNanoseconds(double ns);
// Wall time of attempts: 42 s, 3.5 min, 2.1 h.
std::string FormatWallSeconds(double seconds);
// 950, 12.3k, 4.56M.
std::string FormatCount(int64_t count);
// A speed-up factor (old time / new time) as "+14.0%" (faster) or "-3.0%" (slower).
std::string FormatSpeedup(double factor);
// A candidate/baseline ratio and optional confidence interval as "0.870 [0.85, 0.89]".
std::string FormatRatio(double ratio, std::optional<double> low, std::optional<double> high);
// A value with three significant digits, e.g. 1234 -> "1234", 12.345 -> "12.3", 0.1234 -> "0.123".
std::string FormatSignificant(double value);
// "1 hour", "15 min", "1 day": the width of an attempts-chart bucket.
std::string FormatBucket(int64_t seconds);

}  // namespace rlvr
