#include "harness/base/utc_time.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace rlvr {

std::optional<int64_t> ParseUtcTime(const std::string& text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char sep = 0;
  int consumed = 0;
  std::string body = text;
  if (!body.empty() && (body.back() == 'Z' || body.back() == 'z')) body.pop_back();
  bool parsed = false;
  if (std::sscanf(body.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &year, &month, &day, &sep, &hour,
                  &minute, &second, &consumed) == 7 &&
      consumed == static_cast<int>(body.size())) {
    parsed = true;
  } else if (second = 0; std::sscanf(body.c_str(), "%4d-%2d-%2d%c%2d:%2d%n", &year, &month, &day,
                                     &sep, &hour, &minute, &consumed) == 6 &&
                         consumed == static_cast<int>(body.size())) {
    parsed = true;
  } else if (hour = minute = 0, sep = 'T';
             std::sscanf(body.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &consumed) == 3 &&
             consumed == static_cast<int>(body.size())) {
    parsed = true;
  }
  if (!parsed || (sep != 'T' && sep != ' ') || month < 1 || month > 12 || day < 1 || day > 31 ||
      hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm));
}

std::string FormatUtcTime(int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string UtcNowIso8601() {
  return FormatUtcTime(UnixNow());
}

std::string ResolveSince(const std::string& since, int64_t now) {
  if (auto absolute = ParseUtcTime(since)) return FormatUtcTime(*absolute);
  long long amount = 0;
  char unit = 0;
  int consumed = 0;
  if (std::sscanf(since.c_str(), "%lld%c%n", &amount, &unit, &consumed) == 2 &&
      consumed == static_cast<int>(since.size()) && amount >= 0) {
    int64_t seconds_per_unit = unit == 'm'   ? 60
                               : unit == 'h' ? 3600
                               : unit == 'd' ? 86400
                               : unit == 'w' ? 7 * 86400
                                             : 0;
    if (seconds_per_unit != 0) return FormatUtcTime(now - amount * seconds_per_unit);
  }
  throw std::invalid_argument("--since '" + since +
                              "' is neither a UTC time like 2026-11-23 or 2026-11-23T18:00Z nor "
                              "a span like 90m, 12h, 7d, 2w");
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace rlvr
