// `rlvr init [-C DIR] [--force]`: reads a kernel repository (repo/inspect.h) and writes a
// starting rlvr.json at its root: the build, the test and benchmark binaries, one target per
// kernel source that a benchmark names, each with a "_comment" (JSON has no comments; rlvr
// ignores fields starting with '_') and "TODO" wherever a guess needs a human. Never overwrites
// an existing rlvr.json without --force. Prints what it found and what the user must check;
// `rlvr check` then verifies the result by building and running everything.
#include <cstdio>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "harness/bench/setup.h"
#include "harness/cli/commands.h"
#include "harness/git/repo.h"
#include "harness/repo/inspect.h"

namespace rlvr {

namespace {

struct InitArgs {
  std::string directory = ".";
  bool force = false;
};

void RunInit(const InitArgs& args) {
  auto root = FindRepoRoot(std::filesystem::absolute(args.directory));
  if (!root)
    throw CLI::RuntimeError(
        fmt::format("rlvr init: {} is not inside a git repository (rlvr judges commits: run "
                    "`git init` and commit the sources first)",
                    args.directory),
        2);
  std::filesystem::path config_path = *root / "rlvr.json";
  if (std::filesystem::exists(config_path) && !args.force)
    throw CLI::RuntimeError(
        fmt::format("rlvr init: {} exists and was left as it is (--force writes a new one over "
                    "it; `rlvr check` verifies the one there)",
                    config_path.string()),
        1);
  RepoInspection inspection = InspectRepository(*root);
  StarterConfig starter = MakeStarterConfig(inspection);
  std::printf("rlvr init: read %s\n", root->c_str());
  for (const auto& line : inspection.findings) std::printf("  found: %s\n", line.c_str());
  for (const auto* guesses : {&inspection.guesses, &starter.guesses})
    for (const auto& line : *guesses) std::printf("  guessed: %s\n", line.c_str());
  {
    std::ofstream out(config_path, std::ios::binary | std::ios::trunc);
    out << starter.config.dump(2) << "\n";
    if (!out)
      throw CLI::RuntimeError(fmt::format("rlvr init: cannot write {}", config_path.string()), 2);
  }
  std::string names;
  for (const auto& target : starter.config["targets"]) {
    names += (names.empty() ? "" : ", ") + target["name"].get<std::string>();
  }
  std::printf("wrote %s: %zu target(s)%s\n", config_path.c_str(), starter.config["targets"].size(),
              names.empty() ? "" : (": " + names).c_str());
  if (!starter.todos.empty()) {
    std::printf("check and edit before use (each is marked TODO or explained in rlvr.json):\n");
    for (const auto& todo : starter.todos) std::printf("  - %s\n", todo.c_str());
  }
  std::printf("next: rlvr check%s (builds, runs the filters, says what to fix)\n",
              args.directory == "." ? "" : (" -C " + args.directory).c_str());
}

}  // namespace

void AddInitCommand(CLI::App& app) {
  auto args = std::make_shared<InitArgs>();
  CLI::App* command =
      app.add_subcommand("init", "read this repository and write a starting rlvr.json");
  command->add_option("-C", args->directory, "run in this directory's repository");
  command->add_flag("--force", args->force, "overwrite an existing rlvr.json");
  command->callback([args] { ReportFailures([&] { RunInit(*args); }); });
}

}  // namespace rlvr
