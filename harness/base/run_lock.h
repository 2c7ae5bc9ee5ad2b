// The repository lock that keeps two rlvr processes that build and measure (iterate, evaluate,
// baseline, calibrate) off one repository and its scratch worktrees: .rlvr/lock, held with flock
// for the life of the command and holding the holder's pid and command. The kernel drops a flock
// when its holder dies, so a crashed loop never leaves a stale lock behind.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace rlvr {

class RunLockError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RunLock {
 public:
  // Takes the lock for `command` (e.g. "rlvr evaluate") or throws RunLockError naming the pid
  // and command that hold it.
  explicit RunLock(const std::filesystem::path& repo_root,
                   const std::string& command = "rlvr iterate");
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  static std::filesystem::path PathFor(const std::filesystem::path& repo_root) {
    return repo_root / ".rlvr" / "lock";
  }
  // The pid of a live holder, or nullopt if nobody holds the lock.
  static std::optional<pid_t> Holder(const std::filesystem::path& repo_root);

 private:
  int fd_ = -1;
};

}  // namespace rlvr
