#include "harness/base/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "harness/base/child_env.h"
#include "harness/base/process_guard.h"
#include "harness/base/secrets.h"
#include "harness/base/signals.h"
#include "harness/base/write_confinement.h"

extern char** environ;

namespace rlvr {

namespace {

using Clock = std::chrono::steady_clock;

// A fresh directory for a confined run's TMPDIR, removed with everything in it when the run ends.
struct PrivateTemp {
  std::filesystem::path path;
  bool Make() {
    std::error_code ec;
    std::string pattern = (std::filesystem::temp_directory_path(ec) / "rlvr-run-XXXXXX").string();
    if (ec || mkdtemp(pattern.data()) == nullptr) return false;
    path = pattern;
    return true;
  }
  ~PrivateTemp() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
};

// Sets NAME=value in a child environment of "NAME=value" entries.
void SetVariable(std::vector<std::string>& env, const std::string& name, const std::string& value) {
  const std::string prefix = name + "=";
  for (auto& entry : env) {
    if (entry.rfind(prefix, 0) == 0) {
      entry = prefix + value;
      return;
    }
  }
  env.push_back(prefix + value);
}

std::string SignalName(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  return abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", signal);
}

// The child's environment: the allowlisted part of ours (or all of it, if asked), minus
// unset_env, plus env (which wins).
std::vector<std::string> EnvironmentFor(const RunOptions& options) {
  std::map<std::string, std::string> vars;
  if (options.inherit_environment) {
    for (char** entry = environ; entry && *entry; ++entry) {
      std::string_view text(*entry);
      size_t eq = text.find('=');
      if (eq == std::string_view::npos) continue;
      vars[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 1));
    }
  } else {
    vars = ChildEnvironment();
  }
  for (const auto& name : options.unset_env) vars.erase(name);
  for (const auto& [name, value] : options.env) vars[name] = value;
  std::vector<std::string> result;
  result.reserve(vars.size());
  for (const auto& [name, value] : vars) result.push_back(name + "=" + value);
  return result;
}

void SetLimit(int resource, rlim_t value, rlim_t hard_extra = 0) {
  struct rlimit limit = {value, value + hard_extra};
  setrlimit(resource, &limit);
}

// Runs in the forked child: only async-signal-safe calls until exec. On failure writes errno to
// `error_fd` so the parent can say why the program could not start.
[[noreturn]] void ExecChild(char* const* argv, char* const* envp, const char* cwd,
                            const ResourceLimits& limits, int write_ruleset, int stdin_fd,
                            int stdout_fd, int stderr_fd, int error_fd, pid_t parent) {
  // Own session and process group: the parent can kill everything the child spawns at once.
  setsid();
  // The child dies with the thread that started it (which waits for it); the guard ends the rest
  // of the group. A parent already gone before this line is caught by the check after it.
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != parent) _exit(127);
  if (limits.no_network && unshare(CLONE_NEWNET) != 0) {
    // EPERM (no privilege) or EINVAL (no namespaces): run with the network rather than not at all.
  }
  dup2(stdin_fd, 0);
  dup2(stdout_fd, 1);
  dup2(stderr_fd, 2);
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  SetLimit(RLIMIT_CORE, 0);
  if (limits.cpu_seconds > 0) {
    // A second of slack above the soft limit, so the child sees SIGXCPU, not a bare SIGKILL.
    SetLimit(RLIMIT_CPU, rlim_t(std::ceil(limits.cpu_seconds)), 1);
  }
  if (limits.memory_bytes > 0) SetLimit(RLIMIT_AS, limits.memory_bytes);
  if (limits.file_size_bytes > 0) SetLimit(RLIMIT_FSIZE, limits.file_size_bytes);
  // Root ignores RLIMIT_NPROC; the wall-clock kill of the whole group is the backstop.
  if (limits.max_processes > 0) SetLimit(RLIMIT_NPROC, rlim_t(limits.max_processes));
  int error = 0;
  if (write_ruleset >= 0) error = RestrictWritesTo(write_ruleset);
  // Only the three streams (and the error report, closed by exec) reach the program: a descriptor
  // rlvr or its own parent left open would let a candidate write past the confinement.
  if (error_fd > 3) syscall(SYS_close_range, 3u, static_cast<unsigned>(error_fd - 1), 0u);
  syscall(SYS_close_range, static_cast<unsigned>(error_fd + 1), ~0u, 0u);
  if (error != 0) {
    // Confinement asked for and possible, but refused: never run the program unconfined.
  } else if (cwd && chdir(cwd) != 0) {
    error = errno;
  } else {
    execvpe(argv[0], argv, envp);
    error = errno;
  }
  ssize_t ignored = write(error_fd, &error, sizeof error);
  (void)ignored;
  _exit(127);
}

struct Pipe {
  int read = -1;
  int write = -1;
  bool Open() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0];
    write = fds[1];
    return true;
  }
  void CloseRead() {
    if (read >= 0) close(read);
    read = -1;
  }
  void CloseWrite() {
    if (write >= 0) close(write);
    write = -1;
  }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
};

// Appends what `fd` has to `out`, keeping at most `cap` bytes; returns false at end of file.
bool Drain(int fd, std::string& out, size_t cap, size_t& dropped) {
  char buffer[65536];
  ssize_t n = read(fd, buffer, sizeof buffer);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  size_t room = out.size() < cap ? cap - out.size() : 0;
  size_t keep = std::min(room, size_t(n));
  out.append(buffer, keep);
  dropped += size_t(n) - keep;
  return true;
}

// Reads what `fd` holds right now, without waiting for more.
void DrainRest(int fd, std::string& out, size_t cap, size_t& dropped) {
  if (fd < 0) return;
  fcntl(fd, F_SETFL, O_NONBLOCK);
  char buffer[65536];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    size_t room = out.size() < cap ? cap - out.size() : 0;
    size_t keep = std::min(room, size_t(n));
    out.append(buffer, keep);
    dropped += size_t(n) - keep;
  }
}

void NoteDropped(std::string& out, size_t dropped) {
  if (dropped > 0) out += fmt::format("\n[rlvr: output truncated, {} bytes dropped]\n", dropped);
}

}  // namespace

std::string ProcessResult::Describe() const {
  if (stopped) return "stopped: rlvr was asked to stop";
  if (spawn_failed) return fmt::format("could not start: {}", err);
  if (timed_out) return fmt::format("timed out after {:.0f} s", wall_seconds);
  if (signal != 0) return fmt::format("killed by signal {}", SignalName(signal));
  return fmt::format("exit status {}", exit_code);
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const RunOptions& options) {
  ProcessResult result;
  if (argv.empty()) {
    result.spawn_failed = true;
    result.err = "empty command line";
    return result;
  }
  if (!options.survives_stop && StopRequested()) {
    result.stopped = true;
    result.err = "not started: rlvr was asked to stop";
    return result;
  }
  Pipe in, out, err, error_report;
  if (!in.Open() || !out.Open() || !err.Open() || !error_report.Open()) {
    result.spawn_failed = true;
    result.err = fmt::format("pipe: {}", std::strerror(errno));
    return result;
  }
  // Everything the child needs is prepared before fork: no allocation between fork and exec.
  std::vector<char*> child_argv;
  for (const auto& arg : argv) child_argv.push_back(const_cast<char*>(arg.c_str()));
  child_argv.push_back(nullptr);
  std::vector<std::string> env = EnvironmentFor(options);
  std::string cwd = options.cwd.string();
  PrivateTemp temp;
  int write_ruleset = -1;
  if (options.limits.confine_writes) {
    std::error_code ec;
    std::vector<std::filesystem::path> writable = options.limits.writable;
    writable.push_back(cwd.empty() ? std::filesystem::current_path(ec) : options.cwd);
    if (temp.Make()) {
      writable.push_back(temp.path);
      SetVariable(env, "TMPDIR", temp.path.string());
    }
    // Without Landlock the run is unconfined, as WriteConfinementStatus() tells every report; a
    // kernel that has it but refuses this ruleset must not quietly run candidate code unconfined.
    std::string why;
    write_ruleset = MakeWriteRuleset(writable, &why);
    if (write_ruleset < 0 && WriteConfinementAvailable()) {
      result.spawn_failed = true;
      result.err = "could not confine the program's writes: " + why;
      return result;
    }
  }
  std::vector<char*> child_env;
  for (auto& entry : env) child_env.push_back(entry.data());
  child_env.push_back(nullptr);

  auto start = Clock::now();
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    result.spawn_failed = true;
    result.err = fmt::format("fork: {}", std::strerror(errno));
    if (write_ruleset >= 0) close(write_ruleset);
    return result;
  }
  if (pid == 0) {
    ExecChild(child_argv.data(), child_env.data(), cwd.empty() ? nullptr : cwd.c_str(),
              options.limits, write_ruleset, in.read, out.write, err.write, error_report.write,
              parent);
  }
  if (write_ruleset >= 0) close(write_ruleset);
  // The child calls setsid() itself; setting the group here too closes the race where we would
  // have to kill the group before the child got to it.
  setpgid(pid, pid);
  GuardProcessGroup(pid);
  in.CloseRead();
  out.CloseWrite();
  err.CloseWrite();
  error_report.CloseWrite();

  size_t stdin_written = 0;
  if (options.stdin_text.empty()) in.CloseWrite();
  if (in.write >= 0) fcntl(in.write, F_SETFL, O_NONBLOCK);

  size_t out_dropped = 0, err_dropped = 0;
  bool exited = false;
  int status = 0;
  struct rusage usage {};
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(options.limits.wall_seconds));
  while (true) {
    if (!exited) {
      pid_t done = wait4(pid, &status, WNOHANG, &usage);
      if (done == pid) {
        exited = true;
        // Leftover background processes die with the main one, so the pipes reach end of file.
        KillProcessGroupUntilGone(pid);
      }
    }
    if (exited && out.read < 0 && err.read < 0) break;
    bool out_of_time = options.limits.wall_seconds > 0 && Clock::now() >= deadline;
    bool stop = !options.survives_stop && StopRequested();
    if (!exited && (out_of_time || stop)) {
      result.timed_out = out_of_time && !stop;
      result.stopped = stop;
      kill(-pid, SIGTERM);
      auto grace = Clock::now() + std::chrono::milliseconds(500);
      while (Clock::now() < grace && wait4(pid, &status, WNOHANG, &usage) == 0) usleep(10000);
      KillProcessGroupUntilGone(pid);
      if (wait4(pid, &status, 0, &usage) == pid || errno == ECHILD) exited = true;
      // Drain what the pipes still hold, without blocking on a straggler.
      DrainRest(out.read, result.out, options.max_output_bytes, out_dropped);
      DrainRest(err.read, result.err, options.max_output_bytes, err_dropped);
      break;
    }
    if (exited && stop) {
      // The main process is done, but a straggler holding the pipes open must not delay a stop.
      DrainRest(out.read, result.out, options.max_output_bytes, out_dropped);
      DrainRest(err.read, result.err, options.max_output_bytes, err_dropped);
      break;
    }
    struct pollfd fds[3];
    int count = 0;
    if (out.read >= 0) fds[count++] = {out.read, POLLIN, 0};
    if (err.read >= 0) fds[count++] = {err.read, POLLIN, 0};
    if (in.write >= 0) fds[count++] = {in.write, POLLOUT, 0};
    int ready = poll(fds, count, 20);
    if (ready <= 0) continue;
    for (int i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in.write) {
        ssize_t n = write(in.write, options.stdin_text.data() + stdin_written,
                          options.stdin_text.size() - stdin_written);
        if (n > 0) stdin_written += size_t(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) stdin_written = options.stdin_text.size();
        if (stdin_written >= options.stdin_text.size()) in.CloseWrite();
      } else if (fds[i].fd == out.read) {
        if (!Drain(out.read, result.out, options.max_output_bytes, out_dropped)) out.CloseRead();
      } else if (fds[i].fd == err.read) {
        if (!Drain(err.read, result.err, options.max_output_bytes, err_dropped)) err.CloseRead();
      }
    }
  }
  ReleaseProcessGroup(pid);
  result.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.cpu_seconds = double(usage.ru_utime.tv_sec) + usage.ru_utime.tv_usec * 1e-6 +
                       double(usage.ru_stime.tv_sec) + usage.ru_stime.tv_usec * 1e-6;
  NoteDropped(result.out, out_dropped);
  NoteDropped(result.err, err_dropped);
  // Whatever the child printed is untrusted text on its way into verdicts, the ledger and prompts.
  result.out = RedactSecrets(result.out);
  result.err = RedactSecrets(result.err);

  int exec_error = 0;
  if (read(error_report.read, &exec_error, sizeof exec_error) == sizeof exec_error) {
    result.spawn_failed = true;
    result.err = fmt::format("{}: {}", argv[0], std::strerror(exec_error));
    return result;
  }
  if (exited && !result.timed_out && !result.stopped) {
    if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
    } else if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    }
  }
  return result;
}

}  // namespace rlvr
