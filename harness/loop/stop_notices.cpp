// LoopRunner (runner.h): what the loop says about each stop signal, given what it is doing.
#include "harness/loop/runner.h"

#include <thread>

#include <fmt/format.h>

#include "harness/base/signals.h"

namespace rlvr {

std::string LoopRunner::StopNotice(int count) {
  std::lock_guard<std::mutex> lock(activity_mu_);
  const std::string& what = activity_;
  if (count == 1) {
    switch (phase_) {
      case Phase::kAsking:
        return fmt::format(
            "rlvr iterate: stop requested: abandoning the model request for {} now (no reply "
            "has arrived, nothing is lost), then stopping",
            what);
      case Phase::kEvaluating:
        return fmt::format(
            "rlvr iterate: stop requested: abandoning the evaluation of {} now (its builds, "
            "tests and benchmarks are killed; the attempt is recorded as not judged and its "
            "reply kept), then stopping",
            what);
      case Phase::kEvaluatingJobs:
        return fmt::format(
            "rlvr iterate: stop requested: cancelling the {} evaluations of {} now, then "
            "stopping (replies not judged yet stay in the ledger as not judged)",
            settings_.executor ? settings_.executor->name() : std::string("executor"), what);
      case Phase::kPromoting:
        return fmt::format(
            "rlvr iterate: stop requested: finishing the promotion of {} (one git commit, "
            "seconds), then stopping",
            what);
      case Phase::kIdle:
        break;
    }
    return "rlvr iterate: stop requested: stopping before the next step";
  }
  if (count == 2) {
    if (phase_ == Phase::kPromoting)
      return fmt::format(
          "rlvr iterate: second stop signal: the promotion of {} is one git commit and finishes "
          "in seconds, then the loop stops",
          what);
    return "rlvr iterate: second stop signal: already stopping";
  }
  return "";
}

void LoopRunner::AnnounceStopSignals() {
  std::lock_guard<std::mutex> lock(announce_mu_);
  for (int count = StopRequestCount(); announced_signals_ < count; ++announced_signals_) {
    std::string notice = StopNotice(announced_signals_ + 1);
    if (!notice.empty()) Print(notice);
  }
}

void LoopRunner::WatchStopSignals(const std::atomic<bool>& done) {
  while (!done.load()) {
    AnnounceStopSignals();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace rlvr
