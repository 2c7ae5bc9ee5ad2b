#include "harness/base/process_guard.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>

#include "harness/base/leftover_processes.h"

namespace rlvr {

namespace {

// One message from rlvr to its guard (SOCK_SEQPACKET keeps them whole).
struct GuardMessage {
  int32_t op;  // kAdd or kRemove
  int32_t group;
};
constexpr int32_t kAdd = 1;
constexpr int32_t kRemove = 2;
constexpr int kMaxGroups = 4096;

// The guard's whole life, in the forked child of a possibly multithreaded process: only
// async-signal-safe calls, no allocation, and it never returns.
[[noreturn]] void GuardMain(int socket_fd, const pid_t* initial, int initial_count) {
  setsid();  // out of rlvr's process group: a group kill of rlvr (or Ctrl-C) does not reach it
  prctl(PR_SET_NAME, "rlvr-guard", 0, 0, 0);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1,
                  SIGUSR2, SIGALRM})
    signal(sig, SIG_IGN);
  // Nothing of rlvr's but the socket: an inherited lock or pipe must not outlive rlvr here.
  if (socket_fd != 3) {
    dup2(socket_fd, 3);
    socket_fd = 3;
  }
  close_range(4, ~0U, 0);
  for (int fd = 0; fd < 3; ++fd) close(fd);

  static pid_t groups[kMaxGroups];
  int count = 0;
  for (int i = 0; i < initial_count && count < kMaxGroups; ++i) groups[count++] = initial[i];
  while (true) {
    GuardMessage message;
    ssize_t n = recv(socket_fd, &message, sizeof message, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of file (rlvr is gone) or an error: end everything
    if (n != sizeof message) continue;
    if (message.op == kAdd && count < kMaxGroups) {
      groups[count++] = message.group;
    } else if (message.op == kRemove) {
      for (int i = 0; i < count; ++i) {
        if (groups[i] != message.group) continue;
        groups[i] = groups[--count];
        break;
      }
    }
  }
  for (int i = 0; i < count; ++i) KillProcessGroupUntilGone(groups[i]);
  _exit(0);
}

class Guard {
 public:
  void Add(pid_t group) {
    std::lock_guard<std::mutex> lock(mu_);
    ForgetParentsGuard();
    groups_.push_back({group, ProcessStartTicks(group)});
    if (!Send(kAdd, group)) Restart();
    RecordProcessGroups(groups_);
  }

  void Remove(pid_t group) {
    std::lock_guard<std::mutex> lock(mu_);
    ForgetParentsGuard();
    auto it = std::find_if(groups_.begin(), groups_.end(),
                           [&](const RecordedGroup& g) { return g.group == group; });
    if (it == groups_.end()) return;
    groups_.erase(it);
    if (!Send(kRemove, group)) Restart();
    RecordProcessGroups(groups_);
  }

  std::vector<pid_t> Groups() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<pid_t> result;
    for (const RecordedGroup& g : groups_) result.push_back(g.group);
    return result;
  }

  pid_t pid() {
    std::lock_guard<std::mutex> lock(mu_);
    ForgetParentsGuard();
    return pid_;
  }

 private:
  // In a forked copy of the process that started the guard (not exec'd), the guard, the socket
  // and the groups are the parent's: this process needs a guard of its own, which sees its death.
  void ForgetParentsGuard() {
    if (owner_ == getpid()) return;
    if (socket_ >= 0) close(socket_);  // the parent keeps its own copy: its guard sees nothing
    socket_ = -1;
    pid_ = 0;
    groups_.clear();
    owner_ = getpid();
  }

  bool Send(int32_t op, pid_t group) {
    if (socket_ < 0) return false;
    GuardMessage message{op, static_cast<int32_t>(group)};
    while (true) {
      ssize_t n = send(socket_, &message, sizeof message, MSG_NOSIGNAL);
      if (n == sizeof message) return true;
      if (n < 0 && errno == EINTR) continue;
      // Only a guard that is gone calls for a successor: closing the socket of a live one would
      // make it end every running group.
      return !(n < 0 && (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN));
    }
  }

  // Starts a guard that knows every registered group (the first one, or a successor of a guard
  // that died). Called with mu_ held.
  void Restart() {
    if (socket_ >= 0) close(socket_);
    socket_ = -1;
    if (pid_ > 0) waitpid(pid_, nullptr, WNOHANG);  // reap a dead predecessor
    pid_ = 0;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) return;
    std::vector<pid_t> initial;
    for (const RecordedGroup& g : groups_) initial.push_back(g.group);
    pid_t pid = fork();
    if (pid < 0) {
      close(fds[0]);
      close(fds[1]);
      return;
    }
    if (pid == 0) GuardMain(fds[1], initial.data(), static_cast<int>(initial.size()));
    close(fds[1]);
    socket_ = fds[0];
    pid_ = pid;
  }

  std::mutex mu_;
  std::vector<RecordedGroup> groups_;
  int socket_ = -1;
  pid_t pid_ = 0;
  pid_t owner_ = getpid();  // the process these fields belong to
};

Guard& TheGuard() {
  static Guard* guard = new Guard();  // never destroyed: children may run until exit
  return *guard;
}

}  // namespace

void KillProcessGroupUntilGone(pid_t group) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (kill(-group, SIGKILL) != 0) return;  // ESRCH: the group is gone
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, nullptr);
  }
}

void GuardProcessGroup(pid_t group) {
  TheGuard().Add(group);
}

void ReleaseProcessGroup(pid_t group) {
  TheGuard().Remove(group);
}

std::vector<pid_t> GuardedProcessGroups() {
  return TheGuard().Groups();
}

int KillGuardedProcessGroups() {
  int signalled = 0;
  for (pid_t group : GuardedProcessGroups())
    if (kill(-group, SIGKILL) == 0) ++signalled;
  return signalled;
}

pid_t ProcessGuardPid() {
  return TheGuard().pid();
}

}  // namespace rlvr
