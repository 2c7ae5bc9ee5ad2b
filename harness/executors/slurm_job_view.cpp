#include "harness/executors/slurm_job_view.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>

namespace rlvr {

namespace {

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  size_t first = text.find_first_not_of(' ');
  return first == std::string::npos ? "" : text.substr(first);
}

// Slurm's words for "no value".
std::string KnownOrEmpty(const std::string& field) {
  std::string value = Trimmed(field);
  static const std::set<std::string> unknown = {"N/A", "(null)", "Unknown", "None"};
  return unknown.count(value) ? "" : value;
}

// A whole non-negative number, or `otherwise`.
double NumberOr(const std::string& field, double otherwise) {
  std::string value = Trimmed(field);
  if (value.empty() || value.find_first_not_of("0123456789.") != std::string::npos)
    return otherwise;
  return std::strtod(value.c_str(), nullptr);
}

}  // namespace

std::vector<std::string> SlurmQueueFormatArguments() {
  // -O, not -o: only -O has RestartCnt. No field width (":|" is the separator as a suffix), so
  // nothing is padded or cut; the comment goes last as it may hold a '|'.
  return {"-O", "JobID:|,State:|,NodeList:|,RestartCnt:|,SubmitTime:|,Reason:|,Comment:"};
}

std::map<std::string, SlurmQueueEntry> ParseSlurmQueue(const std::string& squeue_output) {
  constexpr int kFieldsBeforeComment = 6;
  std::map<std::string, SlurmQueueEntry> queue;
  std::istringstream in(squeue_output);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    size_t start = 0;
    for (int i = 0; i < kFieldsBeforeComment; ++i) {
      size_t bar = line.find('|', start);
      if (bar == std::string::npos) break;
      fields.push_back(line.substr(start, bar - start));
      start = bar + 1;
    }
    if (fields.size() != kFieldsBeforeComment) continue;
    std::string job_id = Trimmed(fields[0]);
    double restarts = NumberOr(fields[3], -1);
    if (job_id.empty() || restarts < 0) continue;
    SlurmQueueEntry entry;
    entry.state = Trimmed(fields[1]);
    entry.node = KnownOrEmpty(fields[2]);
    entry.restarts = static_cast<int>(restarts);
    entry.submitted_at = NumberOr(fields[4], 0);
    entry.reason = Trimmed(fields[5]);
    std::string comment = Trimmed(line.substr(start));
    entry.comment = comment == "(null)" ? "" : comment;
    queue[job_id] = std::move(entry);
  }
  return queue;
}

std::string RequeueCause(const std::string& reason) {
  // Reasons any pending job may have, which say nothing of why it went back to the queue.
  static const std::set<std::string> plain = {"",          "None",       "BeginTime",  "Priority",
                                              "Resources", "Dependency", "Reservation"};
  std::string value = Trimmed(reason);
  if (plain.count(value) || value == "(null)") return "a lost node or an administrator's requeue";
  return "Slurm's reason: " + value;
}

bool IsHeldAfterRequeue(const std::string& reason) {
  std::string lower = reason;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("requeued held") != std::string::npos ||
         lower.find("requeued in held state") != std::string::npos;
}

std::vector<JobStart> ParseJobStarts(const std::string& text) {
  std::vector<JobStart> starts;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    JobStart start;
    std::string when, restart;
    if (!(fields >> start.node >> when)) continue;
    start.started_at = NumberOr(when, -1);
    if (start.started_at < 0) continue;
    start.restart = static_cast<int>(fields >> restart ? NumberOr(restart, starts.size())
                                                       : static_cast<double>(starts.size()));
    starts.push_back(std::move(start));
  }
  return starts;
}

int RestartsOfStarts(const std::vector<JobStart>& starts) {
  // Each start after the first is a rerun, whatever count its line gives.
  int restarts = starts.empty() ? 0 : static_cast<int>(starts.size()) - 1;
  for (const JobStart& start : starts) restarts = std::max(restarts, start.restart);
  return restarts;
}

}  // namespace rlvr
