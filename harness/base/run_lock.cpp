#include "harness/base/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace rlvr {
namespace {

// The lock file holds "<pid> <command>\n".
std::string ReadNote(int fd) {
  char buf[256] = {0};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string note(buf, static_cast<size_t>(n));
  while (!note.empty() && note.back() == '\n') note.pop_back();
  return note;
}

pid_t ReadPid(int fd) {
  return static_cast<pid_t>(std::strtol(ReadNote(fd).c_str(), nullptr, 10));
}

}  // namespace

RunLock::RunLock(const std::filesystem::path& repo_root, const std::string& command) {
  std::filesystem::path path = PathFor(repo_root);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  // O_CLOEXEC: the builds and benchmarks we spawn must not inherit (and so keep) the lock.
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw RunLockError("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string note = ReadNote(fd_);
    close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      size_t space = note.find(' ');
      std::string pid = note.substr(0, space);
      std::string other = space == std::string::npos ? "rlvr iterate" : note.substr(space + 1);
      throw RunLockError("another rlvr process (pid " + pid + ", " + other +
                         ") is using this repository; wait for it to finish or stop it (lock " +
                         path.string() + ")");
    }
    throw RunLockError("cannot lock " + path.string() + ": " + std::strerror(err));
  }
  std::string note = std::to_string(getpid()) + " " + command + "\n";
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, note.data(), note.size(), 0) < 0) {
    // The lock itself holds; only the pid note is missing.
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) {
    if (ftruncate(fd_, 0) != 0) {
      // Nothing to do: the next holder rewrites the pid.
    }
    flock(fd_, LOCK_UN);
    close(fd_);
  }
}

std::optional<pid_t> RunLock::Holder(const std::filesystem::path& repo_root) {
  int fd = open(PathFor(repo_root).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<pid_t> holder;
  if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
    holder = ReadPid(fd);
  } else {
    flock(fd, LOCK_UN);
  }
  close(fd);
  return holder;
}

}  // namespace rlvr
