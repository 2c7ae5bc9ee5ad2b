// UTC times as ISO 8601 text (2026-11-23T16:00:00Z), the form the ledger and the baselines store:
// the current time, formatting and parsing (the report buckets attempts and reads --since).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rlvr {

// Seconds since the Unix epoch of "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM:SS" with an
// optional trailing "Z" (space accepted for "T"); nullopt if the text is not such a time.
std::optional<int64_t> ParseUtcTime(const std::string& text);

// "2026-11-23T16:00:00Z".
std::string FormatUtcTime(int64_t epoch_seconds);

// The current time as FormatUtcTime writes it.
std::string UtcNowIso8601();

// The lower bound --since names, as ISO text comparable with the ledger's created_at: an absolute
// time accepted by ParseUtcTime, or a span back from `now` like "90m", "12h", "7d", "2w".
// Throws std::invalid_argument with a readable message otherwise.
std::string ResolveSince(const std::string& since, int64_t now);

// Current time, seconds since the Unix epoch.
int64_t UnixNow();

}  // namespace rlvr
