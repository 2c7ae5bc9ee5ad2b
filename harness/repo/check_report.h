// The report of `rlvr check`: one line per check on stdout, "ok", "warning" or "FAIL", then the
// subject (an rlvr.json field such as "dot.tests", or "build", "tools") and what was found or what
// to fix; the tally of those lines for the summary and the exit status. Also the two text helpers
// the check lines share (a quoted value, a shortened list).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace rlvr {

class CheckReport {
 public:
  enum class Status { kOk, kWarning, kFail };

  // One printed line, kept for callers that inspect the report (tests).
  struct Line {
    Status status;
    std::string subject;
    std::string message;
  };

  // Each prints "<status> <subject>: <message>" on stdout (status padded to 7 columns), flushes,
  // and counts the line.
  void Ok(const std::string& subject, const std::string& message);
  void Warning(const std::string& subject, const std::string& message);
  void Fail(const std::string& subject, const std::string& message);

  int ok() const { return ok_; }
  int warnings() const { return warnings_; }
  int failures() const { return failures_; }
  const std::vector<Line>& lines() const { return lines_; }

  // "rlvr check: N ok, N warning(s), N FAIL".
  std::string Summary() const;

 private:
  void Add(Status status, const std::string& subject, const std::string& message);

  int ok_ = 0, warnings_ = 0, failures_ = 0;
  std::vector<Line> lines_;
};

// `text` in double quotes (no escaping: for messages only).
std::string QuoteForCheck(const std::string& text);

// The first `max_items` of `items` joined by ", ", with ", ... (N in all)" when there are more.
std::string JoinForCheck(const std::vector<std::string>& items, size_t max_items = 12);

}  // namespace rlvr
