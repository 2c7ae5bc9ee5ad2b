// Progress of one evaluation on stderr without --verbose: a cold first evaluation of a large
// repository (a sanitizer build, re-laid-out trees, minutes of benchmark rounds) must not look
// hung. The evaluator owns one ProgressReporter per evaluation; the gates tell it the stage
// ("build") and what it is doing now ("building HEAD (the baseline)", "round 3 of 10"). A line is
// printed when a step starts (unless the settings are heartbeats-only, as in `rlvr iterate`), and a
// ticker thread repeats the current stage with its elapsed time whenever `heartbeat_seconds` passed
// without a line, so a long step shows at least one line per interval and never more.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace rlvr {

// A label another thread may change between evaluations (the loop's "vsum 3.1"), read by the
// reporter for each line. Thread-safe.
class ProgressLabel {
 public:
  void Set(std::string text);
  std::string Get() const;

 private:
  mutable std::mutex mu_;
  std::string text_;
};

struct ProgressSettings {
  double heartbeat_seconds = 30;  // the longest silence while a stage runs; 0 = no progress lines
  bool announce_steps = true;     // a line as each step starts; false: heartbeats only
  std::shared_ptr<ProgressLabel> label;  // optional: "rlvr: <label>: ..." on every line
};

// "45 s", "1 min 40 s", "2 h 5 min".
std::string DescribeElapsed(double seconds);

class ProgressReporter {
 public:
  using Sink = std::function<void(const std::string& line)>;
  // `sink` receives whole lines without the newline; by default they go to stderr. Starts the
  // ticker thread unless settings.heartbeat_seconds is 0.
  explicit ProgressReporter(ProgressSettings settings, Sink sink = {});
  ~ProgressReporter();  // stops and joins the ticker
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // A new stage (a gate's name) begins, doing `step`; its elapsed time starts now. Announced.
  void Stage(const std::string& stage, const std::string& step);
  // The current stage moves on to `step` (a new build, the tests under sanitizers): announced.
  void Step(const std::string& step);
  // What the current stage is doing now, too frequent to announce (a benchmark round): shown by
  // the next heartbeat only.
  void Detail(const std::string& detail);
  // No stage runs: no heartbeat until the next Stage.
  void Idle();

 private:
  using Clock = std::chrono::steady_clock;
  void PrintLocked(const std::string& text);  // precondition: mu_ held
  void Tick();

  ProgressSettings settings_;
  Sink sink_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string stage_;  // empty: idle
  std::string step_;
  Clock::time_point stage_start_;
  Clock::time_point last_line_;
  std::thread ticker_;
};

}  // namespace rlvr
