#include "harness/base/leftover_processes.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "harness/base/process_guard.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

std::mutex g_mu;
fs::path g_dir;   // the record folder, empty = no record
fs::path g_file;  // this process's record file in it

struct ProcessFacts {
  char state = 0;  // 'Z' for a zombie: dead, only waiting for its reaper
  pid_t pgrp = 0;
  uint64_t start_ticks = 0;
};

bool ReadProcessFacts(pid_t pid, ProcessFacts* facts) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  // Fields 3.. after the command name; pgrp is field 5, starttime field 22.
  for (int number = 3; number <= 22 && fields >> field; ++number) {
    if (number == 3) facts->state = field[0];
    if (number == 5) facts->pgrp = static_cast<pid_t>(std::strtol(field.c_str(), nullptr, 10));
    if (number == 22) facts->start_ticks = std::strtoull(field.c_str(), nullptr, 10);
  }
  return facts->start_ticks > 0;
}

// Seconds since the epoch at which the machine booted (/proc/stat "btime").
double BootTime() {
  std::ifstream stat("/proc/stat");
  std::string key;
  double value = 0;
  while (stat >> key) {
    if (key == "btime") {
      stat >> value;
      return value;
    }
    stat.ignore(1 << 20, '\n');
  }
  return 0;
}

std::map<pid_t, ProcessFacts> AllProcesses() {
  std::map<pid_t, ProcessFacts> all;
  DIR* proc = opendir("/proc");
  if (!proc) return all;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    ProcessFacts facts;
    if (ReadProcessFacts(static_cast<pid_t>(pid), &facts)) all[static_cast<pid_t>(pid)] = facts;
  }
  closedir(proc);
  return all;
}

}  // namespace

uint64_t ProcessStartTicks(pid_t pid) {
  ProcessFacts facts;
  return ReadProcessFacts(pid, &facts) ? facts.start_ticks : 0;
}

void RecordProcessGroupsIn(const fs::path& dir) {
  fs::create_directories(dir);
  std::lock_guard<std::mutex> lock(g_mu);
  g_dir = fs::absolute(dir);
  g_file = g_dir / fmt::format("{}.{}.groups", getpid(), ProcessStartTicks(getpid()));
}

fs::path ProcessRecordDir() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_dir;
}

void RecordProcessGroups(const std::vector<RecordedGroup>& groups) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_file.empty()) return;
  std::error_code ignored;
  if (groups.empty()) {
    fs::remove(g_file, ignored);
    return;
  }
  fs::path temporary = g_file;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    for (const RecordedGroup& g : groups) out << g.group << " " << g.leader_start_ticks << "\n";
    if (!out) return;
  }
  fs::rename(temporary, g_file, ignored);
}

std::vector<std::string> EndLeftoverProcessGroups(const fs::path& dir) {
  std::vector<std::string> ended;
  std::error_code error;
  if (!fs::is_directory(dir, error)) return ended;
  long ticks_per_second = sysconf(_SC_CLK_TCK);
  double boot = BootTime();
  std::map<pid_t, ProcessFacts> all;
  bool scanned = false;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    std::string name = entry.path().filename().string();
    unsigned long owner = 0;
    unsigned long long owner_start = 0;
    if (std::sscanf(name.c_str(), "%lu.%llu.groups", &owner, &owner_start) != 2 ||
        entry.path().extension() != ".groups")
      continue;
    if (ProcessStartTicks(static_cast<pid_t>(owner)) == owner_start) continue;  // still alive
    struct stat info {};
    if (stat(entry.path().c_str(), &info) != 0) continue;
    // The record's last write, in ticks after boot, with two seconds of slack for rounding.
    double written = double(info.st_mtim.tv_sec) + info.st_mtim.tv_nsec * 1e-9;
    uint64_t written_ticks = uint64_t((written - boot + 2) * double(ticks_per_second));
    if (!scanned) {
      all = AllProcesses();
      scanned = true;
    }
    std::ifstream in(entry.path());
    long group = 0;
    unsigned long long leader_start = 0;
    while (in >> group >> leader_start) {
      int members = 0;
      for (const auto& [pid, facts] : all) {
        if (facts.state != 'Z' && facts.pgrp == group && facts.start_ticks >= leader_start &&
            facts.start_ticks <= written_ticks)
          ++members;
      }
      if (members == 0) continue;
      KillProcessGroupUntilGone(static_cast<pid_t>(group));
      ended.push_back(fmt::format("process group {} ({} process{}) left by rlvr {}", group, members,
                                  members == 1 ? "" : "es", owner));
    }
    fs::remove(entry.path(), error);
  }
  return ended;
}

}  // namespace rlvr
