// What `rlvr baseline` and `rlvr calibrate` share: finding the repository and its targets, and
// building the benchmark binary of the committed HEAD in a scratch worktree under .rlvr/ (so
// uncommitted edits in the user's tree never end up in a baseline).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness/base/config.h"

namespace rlvr {

struct BenchSetup {
  Project project;
  std::vector<const Target*> targets;  // the requested ones, or all
  std::filesystem::path bench_binary;
  std::filesystem::path build_dir;  // empty when the binary was given
  std::filesystem::path tree;       // HEAD's worktree (bench commands run there); empty likewise
  std::vector<std::string>
      build_targets;   // what was built (candidate/build.h BuildProject; {} = all)
  std::string commit;  // HEAD sha, empty when unknown
};

// Precondition: the caller holds the repository lock of `repo_root` (harness/base/run_lock.h), so
// no loop measures meanwhile. Throws CLI::RuntimeError (exit status 2) with a clear message on any
// problem. `command` names the subcommand in messages. With a non-empty `given_bench`, nothing is
// built. A repository built by its own command (rlvr.json build.command) is built by it, as the
// evaluator builds it; when a requested target is measured by a bench_command, everything is built
// (it may run any program).
BenchSetup PrepareBench(const std::string& command, const std::filesystem::path& repo_root,
                        const std::vector<std::string>& target_names,
                        const std::string& given_bench, int jobs);

// Runs a command body, turning any exception but CLI::RuntimeError into one with exit status 2
// (main() prints the message).
void ReportFailures(const std::function<void()>& body);

}  // namespace rlvr
