#include "harness/base/signals.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
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

int KillChildProcessGroups() {
  pid_t self = getpid();
  pid_t own_group = getpgrp();
  int signalled = 0;
  DIR* proc = opendir("/proc");
  if (!proc) return 0;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(entry->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // Fields after the parenthesised command name: state ppid pgrp ...
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 1));
    char state = 0;
    long ppid = 0, pgrp = 0;
    fields >> state >> ppid >> pgrp;
    if (ppid != self) continue;
    if (pgrp > 0 && pgrp != own_group) {
      kill(-static_cast<pid_t>(pgrp), SIGKILL);
    } else {
      kill(static_cast<pid_t>(pid), SIGKILL);
    }
    ++signalled;
  }
  closedir(proc);
  return signalled;
}

}  // namespace rlvr
