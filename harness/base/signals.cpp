#include "harness/base/signals.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace rlvr {
namespace {

std::atomic<int> g_stop_requests{0};
std::atomic<int> g_first_signal{0};  // lock-free, so safe in a handler

extern "C" void OnStopSignal(int signal_number) {
  int none = 0;
  g_first_signal.compare_exchange_strong(none, signal_number);
  g_stop_requests.fetch_add(1);
}

}  // namespace

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking wait should notice
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int StopRequestCount() {
  return g_stop_requests.load();
}
int FirstStopSignal() {
  return g_first_signal.load();
}
void ResetStopRequests() {
  g_stop_requests.store(0);
  g_first_signal.store(0);
}
void RequestStop() {
  g_stop_requests.fetch_add(1);
}

bool SleepUnlessStopped(double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (StopRequested()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !StopRequested();
}

}  // namespace rlvr
