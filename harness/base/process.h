// Runs a child process (a build, a test binary, a candidate's benchmark) in its own process
// group under wall-clock, CPU, memory, file-size and process-count limits, optionally without
// network, capturing its output. A crash, hang or fork bomb comes back as a described result,
// never as a harness failure. The group dies with rlvr, even by SIGKILL (base/process_guard.h),
// and with a stop request unless the caller says otherwise.
//
// The child sees only the allowlisted part of rlvr's environment (base/child_env.h), never the API
// key or any other secret-looking variable, and whatever it prints comes back with every registered
// secret redacted (base/secrets.h), so nothing a candidate prints can carry one into a verdict.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace rlvr {

struct ResourceLimits {
  double wall_seconds = 600;                 // whole process group killed past this
  double cpu_seconds = 0;                    // RLIMIT_CPU; 0 = none
  size_t memory_bytes = size_t{8} << 30;     // RLIMIT_AS
  size_t file_size_bytes = size_t{1} << 30;  // RLIMIT_FSIZE
  int max_processes = 0;                     // RLIMIT_NPROC; 0 = none
  bool no_network = false;                   // unshare(CLONE_NEWNET) when the kernel allows
  // Writes only beneath the run's cwd, `writable` and a private TMPDIR that RunProcess makes for
  // the run and removes after it (base/write_confinement.h; unconfined where the kernel cannot).
  bool confine_writes = false;
  std::vector<std::filesystem::path> writable;
};

struct RunOptions {
  std::filesystem::path cwd;  // empty = current directory
  // Set on top of the allowlisted environment (base/child_env.h); these always win, whatever the
  // name.
  std::map<std::string, std::string> env;
  std::vector<std::string> unset_env;  // removed from the child's environment
  // The whole of rlvr's environment instead of the allowlist, secrets included. For a
  // harness-internal program that never runs candidate code and truly needs it; nothing uses it
  // today.
  bool inherit_environment = false;
  ResourceLimits limits;
  size_t max_output_bytes = size_t{4} << 20;  // per stream; the rest is dropped, noted
  std::string stdin_text;
  // A stop request (base/signals.h: the first Ctrl-C or SIGTERM) ends the child at once — its
  // whole group, SIGTERM then SIGKILL within a second — and a child not started yet is not
  // started. Set for the few commands that must still run while rlvr stops (cancelling cluster
  // jobs).
  bool survives_stop = false;
};

struct ProcessResult {
  int exit_code = -1;  // valid when signal == 0 and !timed_out
  int signal = 0;      // terminating signal, 0 if exited
  bool timed_out = false;
  bool spawn_failed = false;
  bool stopped = false;  // ended (or never started) because rlvr was asked to stop
  std::string out;
  std::string err;
  double wall_seconds = 0;
  double cpu_seconds = 0;  // user + system of the child and its children

  bool ok() const {
    return !timed_out && !spawn_failed && !stopped && signal == 0 && exit_code == 0;
  }
  // "exit status 1", "killed by signal SIGSEGV", "timed out after 60 s", "could not start: ...",
  // "stopped: rlvr was asked to stop"
  std::string Describe() const;
};

ProcessResult RunProcess(const std::vector<std::string>& argv, const RunOptions& options = {});

}  // namespace rlvr
