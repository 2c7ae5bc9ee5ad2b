#include "harness/bench/setup.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "harness/candidate/build.h"
#include "harness/git/repo.h"
#include "harness/git/worktree.h"

namespace rlvr {

BenchSetup PrepareBench(const std::string& command, const std::filesystem::path& repo_root,
                        const std::vector<std::string>& target_names,
                        const std::string& given_bench, int jobs) {
  auto fail = [&](const std::string& message) {
    return CLI::RuntimeError(fmt::format("rlvr {}: {}", command, message), 2);
  };
  BenchSetup setup;
  const std::filesystem::path* root = &repo_root;
  try {
    setup.project = LoadProject(*root);
    if (target_names.empty()) {
      for (const auto& target : setup.project.targets) setup.targets.push_back(&target);
    }
    for (const auto& name : target_names) {
      setup.targets.push_back(&setup.project.GetTarget(name));
    }
  } catch (const ConfigError& e) {
    throw fail(e.what());
  }
  if (setup.targets.empty()) throw fail("rlvr.json has no targets");
  try {
    setup.commit = HeadCommit(*root);
  } catch (const GitError& e) {
    if (given_bench.empty()) throw fail(e.what());
  }
  if (!given_bench.empty()) {
    setup.bench_binary = std::filesystem::absolute(given_bench);
    if (!std::filesystem::exists(setup.bench_binary)) {
      throw fail(fmt::format("benchmark binary {} does not exist", given_bench));
    }
    return setup;
  }
  std::filesystem::path state_dir = *root / ".rlvr";
  std::filesystem::path tree;
  try {
    EnsureStateDir(state_dir);
    tree = PrepareWorktree(*root, state_dir, "baseline", setup.commit);
  } catch (const std::exception& e) {
    throw fail(fmt::format("cannot prepare a worktree of HEAD: {}", e.what()));
  }
  setup.build_dir = state_dir / "build" / "baseline";
  const BuildConfig& build = setup.project.build;
  // A bench command may run any program of the build: then build everything.
  bool commands = std::any_of(setup.targets.begin(), setup.targets.end(),
                              [](const Target* t) { return t->UsesBenchCommand(); });
  if (!commands) setup.build_targets = BenchBinaryTarget(build);
  std::fprintf(stderr, "rlvr %s: building %s at %.12s in %s\n", command.c_str(),
               setup.build_targets.empty() ? "the repository" : build.bench_binary.c_str(),
               setup.commit.c_str(), setup.build_dir.c_str());
  BuildOutcome built = BuildProject(build, tree, setup.build_dir, setup.build_targets, jobs,
                                    BuildRequest().timeout_seconds);
  if (!built.ok) throw fail(fmt::format("build failed: {}\n{}", built.message, built.detail));
  setup.tree = tree;
  setup.bench_binary = setup.build_dir / build.bench_binary;
  return setup;
}

void ReportFailures(const std::function<void()>& body) {
  try {
    body();
  } catch (const CLI::RuntimeError&) {
    throw;  // main() prints its message
  } catch (const std::exception& e) {
    throw CLI::RuntimeError(std::string("rlvr: error: ") + e.what(), 2);
  }
}

}  // namespace rlvr
