// The repository lock that keeps two loops off one repository: .rlvr/lock, held with flock for
// the life of the loop and holding the holder's pid. The kernel drops a flock when its holder
// dies, so a crashed loop never leaves a stale lock behind.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <stdexcept>

namespace rlvr {

class RunLockError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RunLock {
 public:
  // Takes the lock or throws RunLockError naming the pid that holds it.
  explicit RunLock(const std::filesystem::path& repo_root);
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
