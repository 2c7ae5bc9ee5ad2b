#include "harness/repo/check_report.h"

#include <cstdio>

#include <fmt/format.h>

namespace rlvr {

void CheckReport::Ok(const std::string& subject, const std::string& message) {
  Add(Status::kOk, subject, message);
  ++ok_;
}

void CheckReport::Warning(const std::string& subject, const std::string& message) {
  Add(Status::kWarning, subject, message);
  ++warnings_;
}

void CheckReport::Fail(const std::string& subject, const std::string& message) {
  Add(Status::kFail, subject, message);
  ++failures_;
}

std::string CheckReport::Summary() const {
  return fmt::format("rlvr check: {} ok, {} warning(s), {} FAIL", ok_, warnings_, failures_);
}

void CheckReport::Add(Status status, const std::string& subject, const std::string& message) {
  const char* word = status == Status::kOk ? "ok" : status == Status::kWarning ? "warning" : "FAIL";
  std::printf("%-7s %s: %s\n", word, subject.c_str(), message.c_str());
  std::fflush(stdout);
  lines_.push_back({status, subject, message});
}

std::string QuoteForCheck(const std::string& text) {
  return "\"" + text + "\"";
}

std::string JoinForCheck(const std::vector<std::string>& items, size_t max_items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_items; ++i)
    out += (out.empty() ? "" : ", ") + items[i];
  if (items.size() > max_items) out += fmt::format(", ... ({} in all)", items.size());
  return out;
}

}  // namespace rlvr
