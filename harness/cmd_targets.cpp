// `rlvr targets [--json] [-C DIR]`: lists the targets of rlvr.json — name, editable files and
// primary benchmark — so a user knows what `rlvr evaluate --target` accepts.
#include <cstdio>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/commands.h"
#include "harness/config.h"
#include "harness/repo.h"

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
      out.push_back({{"name", t.name},
                     {"description", t.description},
                     {"editable", t.editable},
                     {"primary", t.primary},
                     {"tests", t.tests},
                     {"benchmarks", t.benchmarks}});
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
  }
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
