// Nothing rlvr starts outlives it: the guard ends a dead owner's process groups (SIGKILL of the
// owner, of its whole process group, after the guard itself was replaced), a stop request ends a
// running child at once, and a later rlvr ends what an owner and its guard both left, by the
// groups recorded — never an unrelated process that got a recorded id later.
#include "harness/base/process_guard.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/leftover_processes.h"
#include "harness/base/process.h"
#include "harness/base/signals.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

// A `sleep` argument no other process on the machine has: how a test finds its own sleepers.
std::string UniqueSleep() {
  static std::mt19937_64 random{std::random_device{}()};
  return fmt::format("300.{}", random() % 1000000000 + 1);
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Live (not zombie) `sleep <marker>` processes.
std::vector<pid_t> ProcessesWith(const std::string& marker) {
  std::vector<pid_t> found;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadAll(entry.path() / "cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.rfind("sleep " + marker, 0) != 0) continue;
    std::string stat = ReadAll(entry.path() / "stat");
    size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z') continue;
    found.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return found;
}

bool WaitUntil(const std::function<bool()>& condition, double seconds) {
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The guard a process started: its child named rlvr-guard; 0 when none.
pid_t GuardOf(pid_t owner) {
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadAll(entry.path() / "stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos || stat.find("(rlvr-guard)") == std::string::npos) continue;
    long ppid = 0;
    char state = 0;
    if (std::sscanf(stat.c_str() + paren + 1, " %c %ld", &state, &ppid) == 2 && ppid == owner)
      return static_cast<pid_t>(std::stol(name));
  }
  return 0;
}

// Forks an owner that runs `sleep <marker> & sleep <marker>` under RunProcess (a child and a
// grandchild, as a build's compilers under make), optionally recording its groups in
// `record_dir` and in a process group of its own. Returns once both sleepers run.
pid_t StartOwner(const std::string& marker, const fs::path& record_dir = {},
                 bool own_group = false) {
  pid_t owner = fork();
  if (owner == 0) {
    if (own_group) setpgid(0, 0);
    if (!record_dir.empty()) RecordProcessGroupsIn(record_dir);
    RunOptions options;
    options.limits.wall_seconds = 120;
    RunProcess({"/bin/sh", "-c", fmt::format("sleep {0} & sleep {0}; wait", marker)}, options);
    _exit(0);
  }
  EXPECT_TRUE(WaitUntil([&] { return ProcessesWith(marker).size() >= 2; }, 10));
  return owner;
}

void KillAndReap(pid_t pid, bool whole_group = false) {
  kill(whole_group ? -pid : pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST(ProcessGuard, EndsTheGroupsOfAnOwnerKilledBySigkill) {
  std::string marker = UniqueSleep();
  pid_t owner = StartOwner(marker);
  ASSERT_EQ(ProcessesWith(marker).size(), 2u);
  KillAndReap(owner);
  // The sleepers would run for 300 s (no limit of theirs ends them sooner).
  EXPECT_TRUE(WaitUntil([&] { return ProcessesWith(marker).empty(); }, 5))
      << ProcessesWith(marker).size() << " sleepers still alive";
}

TEST(ProcessGuard, SurvivesAKillOfTheOwnersProcessGroup) {
  std::string marker = UniqueSleep();
  pid_t owner = StartOwner(marker, {}, /*own_group=*/true);
  pid_t guard = GuardOf(owner);
  ASSERT_GT(guard, 0);
  KillAndReap(owner, /*whole_group=*/true);  // as a service manager or `kill -9 -PGID` would
  EXPECT_TRUE(WaitUntil([&] { return ProcessesWith(marker).empty(); }, 5));
  // Its work done, the guard is gone too.
  EXPECT_TRUE(WaitUntil([&] { return kill(guard, 0) != 0; }, 5));
}

TEST(ProcessGuard, ASuccessorTakesOverWhenTheGuardIsKilled) {
  std::string first = UniqueSleep();
  std::string second = UniqueSleep();
  pid_t owner = fork();
  if (owner == 0) {
    RunOptions options;
    options.limits.wall_seconds = 120;
    std::thread running([&] {
      RunProcess({"/bin/sh", "-c", fmt::format("sleep {}; true", first)}, options);
    });
    while (ProcessGuardPid() == 0 || ProcessesWith(first).empty()) usleep(10000);
    kill(ProcessGuardPid(), SIGKILL);
    usleep(100000);
    // The next child finds the guard gone and starts another that knows both groups.
    RunProcess({"/bin/sh", "-c", fmt::format("sleep {}; true", second)}, options);
    _exit(0);
  }
  ASSERT_TRUE(WaitUntil([&] { return !ProcessesWith(second).empty(); }, 10));
  KillAndReap(owner);
  EXPECT_TRUE(WaitUntil([&] { return ProcessesWith(first).empty(); }, 5));
  EXPECT_TRUE(WaitUntil([&] { return ProcessesWith(second).empty(); }, 5));
}

TEST(ProcessGuard, AFinishedGroupIsReleased) {
  RunProcess({"/bin/true"});
  EXPECT_TRUE(GuardedProcessGroups().empty());
  EXPECT_GT(ProcessGuardPid(), 0);
  EXPECT_EQ(kill(ProcessGuardPid(), 0), 0);  // it stays for the next child
}

TEST(ProcessStop, AStopRequestEndsARunningChildAtOnce) {
  ResetStopRequests();
  std::string marker = UniqueSleep();
  std::thread stopper([&] {
    WaitUntil([&] { return ProcessesWith(marker).size() >= 2; }, 10);
    RequestStop();
  });
  auto start = Clock::now();
  RunOptions options;
  options.limits.wall_seconds = 120;
  ProcessResult r =
      RunProcess({"/bin/sh", "-c", fmt::format("sleep {0} & sleep {0}; wait", marker)}, options);
  stopper.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_TRUE(r.stopped);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.Describe(), "stopped: rlvr was asked to stop");
  EXPECT_LT(seconds, 10);
  EXPECT_TRUE(WaitUntil([&] { return ProcessesWith(marker).empty(); }, 2));

  // Once stopping, nothing new starts, except what must run while rlvr stops.
  ProcessResult not_started = RunProcess({"/bin/echo", "hi"});
  EXPECT_TRUE(not_started.stopped);
  EXPECT_THAT(not_started.err, HasSubstr("not started"));
  RunOptions survives;
  survives.survives_stop = true;
  ProcessResult cancel = RunProcess({"/bin/echo", "hi"}, survives);
  EXPECT_TRUE(cancel.ok());
  EXPECT_EQ(cancel.out, "hi\n");
  ResetStopRequests();
}

class LeftoverProcesses : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("rlvr-leftovers-{}", getpid());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(LeftoverProcesses, ALaterRlvrEndsWhatAnOwnerAndItsGuardLeft) {
  std::string marker = UniqueSleep();
  pid_t owner = StartOwner(marker, dir_);
  pid_t guard = GuardOf(owner);
  ASSERT_GT(guard, 0);
  ASSERT_TRUE(WaitUntil([&] { return !fs::is_empty(dir_); }, 5));
  // A live owner's record is not touched.
  EXPECT_TRUE(EndLeftoverProcessGroups(dir_).empty());
  EXPECT_EQ(ProcessesWith(marker).size(), 2u);
  // Both die at once (`kill -9` of everything named rlvr): the sleepers are left behind.
  kill(guard, SIGKILL);
  KillAndReap(owner);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(ProcessesWith(marker).size(), 2u);

  std::vector<std::string> ended = EndLeftoverProcessGroups(dir_);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_THAT(ended[0], HasSubstr(fmt::format("left by rlvr {}", owner)));
  // The two sleepers; their sh, the owner's direct child, died with it (parent-death signal).
  EXPECT_THAT(ended[0], HasSubstr("(2 processes)"));
  EXPECT_TRUE(WaitUntil([&] { return ProcessesWith(marker).empty(); }, 2));
  EXPECT_TRUE(fs::is_empty(dir_));  // the record is gone with them
}

TEST_F(LeftoverProcesses, AGroupIdReusedAfterTheRecordIsLeftAlone) {
  // A process group started after a dead owner last wrote its record only shares the id.
  std::string marker = UniqueSleep();
  pid_t unrelated = fork();
  if (unrelated == 0) {
    setpgid(0, 0);
    execlp("sleep", "sleep", marker.c_str(), nullptr);
    _exit(127);
  }
  ASSERT_TRUE(WaitUntil([&] { return !ProcessesWith(marker).empty(); }, 5));
  pid_t dead_owner = fork();
  if (dead_owner == 0) _exit(0);
  waitpid(dead_owner, nullptr, 0);
  fs::create_directories(dir_);
  fs::path record = dir_ / fmt::format("{}.12345.groups", dead_owner);
  std::ofstream(record) << unrelated << " 0\n";
  // Written an hour ago, long before the unrelated group started.
  struct utimbuf old_times = {time(nullptr) - 3600, time(nullptr) - 3600};
  utime(record.c_str(), &old_times);

  EXPECT_TRUE(EndLeftoverProcessGroups(dir_).empty());
  EXPECT_EQ(ProcessesWith(marker).size(), 1u);
  EXPECT_FALSE(fs::exists(record));  // a dead owner's record is done with either way
  KillAndReap(unrelated);
}

}  // namespace
}  // namespace rlvr
