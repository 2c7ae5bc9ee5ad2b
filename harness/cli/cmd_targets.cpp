// `rlvr targets [--json] [-C DIR]`: lists the targets of rlvr.json — name, editable files,
// primary benchmark, how its tests and benchmarks run (a GoogleTest filter or test commands, the
// benchmark binary or command) and its differential oracle — so a user knows what `rlvr evaluate
// --target` accepts and what will judge it.
#include <cstdio>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/cli/commands.h"
#include "harness/git/repo.h"

namespace rlvr {

namespace {

struct TargetsArgs {
  bool json = false;
  std::string directory = ".";
};

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// "GoogleTest tests/kernel_tests --gtest_filter=Gemm*" or "commands: unit (./test_vsum), ..."
std::string TestsLine(const Project& project, const Target& t) {
  if (t.UsesGoogleTest())
    return fmt::format("GoogleTest {} --gtest_filter={}", project.build.test_binary, t.tests);
  std::vector<std::string> commands;
  for (const auto& test : t.test_commands)
    commands.push_back(
        fmt::format("{} ({}; {})", test.name, fmt::join(test.command, " "), test.kind));
  return "commands: " + Join(commands);
}

std::string BenchLine(const Project& project, const Target& t) {
  if (t.UsesBenchCommand())
    return fmt::format("command {} ({}), filtered by rlvr with {}",
                       fmt::join(t.bench_command.command, " "), t.bench_command.format,
                       t.benchmarks);
  return fmt::format("Google Benchmark {} --benchmark_filter={}", project.build.bench_binary,
                     t.benchmarks);
}

std::string OracleLine(const Target& t) {
  if (!t.oracle.enabled()) return "none";
  return fmt::format("{} ({} seeds, {})", fmt::join(t.oracle.command, " "), t.oracle.seeds,
                     t.oracle.tolerance > 0
                         ? fmt::format("relative tolerance {}", t.oracle.tolerance)
                         : std::string("exact"));
}

void RunTargets(const TargetsArgs& args) {
  std::optional<std::filesystem::path> root = FindRepoRoot(args.directory);
  if (!root)
    throw CLI::RuntimeError("rlvr targets: " + args.directory + " is not inside a git repository",
                            2);
  Project project;
  try {
    project = LoadProject(*root);
  } catch (const ConfigError& e) {
    throw CLI::RuntimeError(std::string("rlvr targets: ") + e.what(), 2);
  }
  if (args.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : project.targets) {
      nlohmann::json tests = nlohmann::json::array();
      for (const auto& test : t.test_commands)
        tests.push_back({{"name", test.name}, {"command", test.command}, {"kind", test.kind}});
      nlohmann::json entry = {{"name", t.name},
                              {"description", t.description},
                              {"editable", t.editable},
                              {"primary", t.primary},
                              {"tests", t.tests},
                              {"test_commands", tests},
                              {"benchmarks", t.benchmarks},
                              {"bench_command", t.bench_command.command},
                              {"oracle", t.oracle.command}};
      out.push_back(entry);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  size_t name_width = 6, file_width = 8;
  for (const auto& t : project.targets) {
    name_width = std::max(name_width, t.name.size());
    file_width = std::max(file_width, Join(t.editable).size());
  }
  std::printf("%s", fmt::format("{:<{}}  {:<{}}  {}\n", "target", name_width, "editable",
                                file_width, "primary benchmark")
                        .c_str());
  for (const auto& t : project.targets) {
    std::printf("%s", fmt::format("{:<{}}  {:<{}}  {}\n", t.name, name_width, Join(t.editable),
                                  file_width, Join(t.primary))
                          .c_str());
    // How the target is judged, indented under it.
    std::printf(
        "%s",
        fmt::format("{:<{}}  tests:      {}\n", "", name_width, TestsLine(project, t)).c_str());
    std::printf(
        "%s",
        fmt::format("{:<{}}  benchmarks: {}\n", "", name_width, BenchLine(project, t)).c_str());
    if (t.oracle.enabled())
      std::printf("%s",
                  fmt::format("{:<{}}  oracle:     {}\n", "", name_width, OracleLine(t)).c_str());
  }
  if (project.build.UsesBuildCommand())
    std::printf("built by: %s\n", fmt::format("{}", fmt::join(project.build.command, " ")).c_str());
}

}  // namespace

void AddTargetsCommand(CLI::App& app) {
  auto args = std::make_shared<TargetsArgs>();
  CLI::App* command = app.add_subcommand("targets", "List the optimisation targets of rlvr.json");
  command->add_flag("--json", args->json, "machine-readable output");
  command->add_option("-C", args->directory, "run as if started in this directory");
  // A failure's message reaches stderr once, from main.
  command->callback([args] { RunTargets(*args); });
}

}  // namespace rlvr
