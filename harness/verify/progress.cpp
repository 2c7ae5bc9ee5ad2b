#include "harness/verify/progress.h"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace rlvr {

void ProgressLabel::Set(std::string text) {
  std::lock_guard<std::mutex> lock(mu_);
  text_ = std::move(text);
}

std::string ProgressLabel::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return text_;
}

std::string DescribeElapsed(double seconds) {
  long total = std::lround(std::max(seconds, 0.0));
  if (total < 60) return fmt::format("{} s", total);
  if (total < 3600) return fmt::format("{} min {} s", total / 60, total % 60);
  return fmt::format("{} h {} min", total / 3600, total % 3600 / 60);
}

ProgressReporter::ProgressReporter(ProgressSettings settings, Sink sink)
    : settings_(std::move(settings)), sink_(std::move(sink)) {
  if (!sink_) {
    sink_ = [](const std::string& line) {
      std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    };
  }
  last_line_ = Clock::now();
  if (settings_.heartbeat_seconds > 0) ticker_ = std::thread([this] { Tick(); });
}

ProgressReporter::~ProgressReporter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void ProgressReporter::PrintLocked(const std::string& text) {
  std::string label = settings_.label ? settings_.label->Get() : std::string();
  sink_("rlvr: " + (label.empty() ? "" : label + ": ") + text);
  last_line_ = Clock::now();
}

void ProgressReporter::Stage(const std::string& stage, const std::string& step) {
  std::lock_guard<std::mutex> lock(mu_);
  stage_ = stage;
  step_ = step;
  stage_start_ = Clock::now();
  if (settings_.heartbeat_seconds > 0 && settings_.announce_steps)
    PrintLocked(fmt::format("{}: {} ...", stage_, step_));
  wake_.notify_all();
}

void ProgressReporter::Step(const std::string& step) {
  std::lock_guard<std::mutex> lock(mu_);
  step_ = step;
  if (settings_.heartbeat_seconds > 0 && settings_.announce_steps && !stage_.empty())
    PrintLocked(fmt::format("{}: {} ...", stage_, step_));
}

void ProgressReporter::Detail(const std::string& detail) {
  std::lock_guard<std::mutex> lock(mu_);
  step_ = detail;
}

void ProgressReporter::Idle() {
  std::lock_guard<std::mutex> lock(mu_);
  stage_.clear();
  step_.clear();
}

void ProgressReporter::Tick() {
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(settings_.heartbeat_seconds));
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // Idle: wait for a stage; else until an interval has passed since the last line.
    if (stage_.empty()) {
      wake_.wait(lock, [&] { return stopping_ || !stage_.empty(); });
      continue;
    }
    // A heartbeat once the stage has run for an interval and no line came for one.
    auto due = [&] { return std::max(last_line_, stage_start_) + interval; };
    if (wake_.wait_until(lock, due(), [&] { return stopping_; })) break;
    if (stage_.empty() || Clock::now() < due()) continue;
    double elapsed = std::chrono::duration<double>(Clock::now() - stage_start_).count();
    PrintLocked(fmt::format("{}: {}, {}", stage_, step_, DescribeElapsed(elapsed)));
  }
}

}  // namespace rlvr
