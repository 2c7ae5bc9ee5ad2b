#include "harness/report/format.h"

#include <fmt/format.h>

#include <cmath>

namespace rlvr {

std::string FormatSignificant(double value) {
  double magnitude = std::abs(value);
  if (magnitude >= 100 || magnitude == 0) return fmt::format("{:.0f}", value);
  if (magnitude >= 10) return fmt::format("{:.1f}", value);
  if (magnitude >= 1) return fmt::format("{:.2f}", value);
  return fmt::format("{:.3g}", value);
}

std::string FormatNanoseconds(double ns) {
  if (!(ns > 0)) return "—";
  if (ns >= 1e9) return FormatSignificant(ns / 1e9) + " s";
  if (ns >= 1e6) return FormatSignificant(ns / 1e6) + " ms";
  if (ns >= 1e3) return FormatSignificant(ns / 1e3) + " µs";
  return FormatSignificant(ns) + " ns";
}

std::string FormatWallSeconds(double seconds) {
  if (seconds < 90) return fmt::format("{:.0f} s", seconds);
  if (seconds < 90 * 60) return fmt::format("{:.1f} min", seconds / 60);
  return fmt::format("{:.1f} h", seconds / 3600);
}

std::string FormatCount(int64_t count) {
  if (count < 1000) return std::to_string(count);
  if (count < 1000000) return fmt::format("{:.1f}k", count / 1e3);
  return fmt::format("{:.2f}M", count / 1e6);
}

std::string FormatSpeedup(double factor) {
  if (!(factor > 0)) return "—";
  return fmt::format("{:+.1f}%", (factor - 1) * 100);
}

std::string FormatRatio(double ratio, std::optional<double> low, std::optional<double> high) {
  if (!(ratio > 0)) return "—";
  std::string text = fmt::format("{:.3f}", ratio);
  if (low && high) text += fmt::format(" [{:.3f}, {:.3f}]", *low, *high);
  return text;
}

std::string FormatBucket(int64_t seconds) {
  if (seconds % 86400 == 0)
    return seconds == 86400 ? "1 day" : fmt::format("{} days", seconds / 86400);
  if (seconds % 3600 == 0)
    return seconds == 3600 ? "1 hour" : fmt::format("{} hours", seconds / 3600);
  if (seconds % 60 == 0) return fmt::format("{} min", seconds / 60);
  return fmt::format("{} s", seconds);
}

}  // namespace rlvr
