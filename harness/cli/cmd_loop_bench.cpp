// `rlvr loop-bench SETTINGS`: runs the real loop against simulated models serving a labelled
// proposal library, per strategy and seed, in a clone of the repository (harness/loopbench/), and
// prints what each strategy achieved. Exit 0; 1 when a 'wrong' or 'cheat' proposal was promoted (a
// verifier hole); 2 for bad settings; 128 + signal when stopped.
#include <signal.h>

#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "harness/base/file_text.h"
#include "harness/base/signals.h"
#include "harness/cli/commands.h"
#include "harness/llm/proposal_library.h"
#include "harness/loopbench/bench.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

struct LoopBenchArgs {
  std::string settings;
  std::string directory = ".";
  std::string work;
  std::string json;
};

LoopBenchSettings ReadSettings(const std::string& path) {
  if (!fs::exists(path)) throw CLI::RuntimeError("rlvr loop-bench: no settings file " + path, 2);
  nlohmann::json json = nlohmann::json::parse(ReadFileText(path), nullptr, false);
  if (json.is_discarded())
    throw CLI::RuntimeError("rlvr loop-bench: " + path + " is not valid JSON", 2);
  try {
    return ParseLoopBenchSettings(json);
  } catch (const LoopBenchSettingsError& e) {
    throw CLI::RuntimeError(std::string("rlvr loop-bench: ") + e.what(), 2);
  }
}

void RunLoopBenchCommand(const LoopBenchArgs& args) {
  fs::path root = RepoRootOrFail("loop-bench", args.directory);
  LoopBenchSettings settings = ReadSettings(args.settings);
  fs::path library = settings.library.is_absolute() ? settings.library : root / settings.library;
  std::vector<Proposal> proposals;
  try {
    proposals = LoadProposalLibrary(library);
  } catch (const std::exception& e) {
    throw CLI::RuntimeError(
        std::string("rlvr loop-bench: cannot read the proposal library: ") + e.what(), 2);
  }
  if (proposals.empty())
    throw CLI::RuntimeError(
        "rlvr loop-bench: the proposal library " + library.string() + " holds no proposal", 2);
  ResetStopRequests();
  InstallStopHandlers();
  LoopBenchResult result;
  try {
    result = RunLoopBench(settings, proposals, {root, args.work}, std::cout);
  } catch (const LoopBenchSettingsError& e) {
    throw CLI::RuntimeError(std::string("rlvr loop-bench: ") + e.what(), 2);
  } catch (const std::exception& e) {
    throw CLI::RuntimeError(std::string("rlvr loop-bench: ") + e.what(), 2);
  }
  std::cout << result.Render() << std::flush;
  if (!args.json.empty()) {
    std::ofstream out(args.json, std::ios::trunc);
    out << result.ToJson(settings).dump(2) << "\n";
    if (!out.flush()) throw CLI::RuntimeError("rlvr loop-bench: cannot write " + args.json, 2);
  }
  if (result.interrupted) {
    int signal_number = FirstStopSignal();
    throw CLI::RuntimeError(128 + (signal_number > 0 ? signal_number : SIGINT));
  }
  if (result.false_promotions > 0) throw CLI::RuntimeError(1);
}

}  // namespace

void AddLoopBenchCommand(CLI::App& app) {
  auto args = std::make_shared<LoopBenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "loop-bench",
      "Run the loop against simulated models serving labelled proposals, per strategy and seed");
  cmd->add_option("settings", args->settings, "Settings file (JSON; see README)")->required();
  cmd->add_option("-C", args->directory, "Run as if started in DIR");
  cmd->add_option("--work", args->work,
                  "Folder for the bench's clone, verdicts, ledgers and logs "
                  "(default .rlvr/loop-bench/)");
  cmd->add_option("--json", args->json, "Also write the whole result as JSON to FILE");
  cmd->callback([args] { RunLoopBenchCommand(*args); });
}

}  // namespace rlvr
