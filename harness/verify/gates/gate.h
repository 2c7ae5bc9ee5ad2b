// One gate of the verifier: a name, one line on what it checks, and the function that checks it.
// Evaluator::Evaluate (verify/evaluate.h) runs VerifierGates() in order over a GateContext,
// stopping at the first failure. Adding a gate is one file defining its Gate plus one line in
// gate_list.cpp.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "harness/base/config.h"
#include "harness/verify/evaluate.h"

namespace rlvr {

// What the gates of one evaluation share: the inputs, the verdict they fill in, and the
// directories earlier gates prepared for later ones.
struct GateContext {
  const Project& project;
  const Target& target;
  const EvaluateOptions& options;
  std::string_view reply;
  Verdict& verdict;
  std::filesystem::path state_dir;        // <repo>/.rlvr
  std::filesystem::path worktree;         // the candidate's scratch worktree (scope prepares it)
  std::filesystem::path baseline_tree;    // HEAD's worktree (build prepares it)
  std::filesystem::path candidate_build;  // build dirs under state_dir/build
  std::filesystem::path baseline_build;
  ProgressReporter* progress = nullptr;  // the evaluation's; null: no progress lines

  std::filesystem::path BuildDir(const char* name) const { return state_dir / "build" / name; }
  std::filesystem::path CandidateBinary(const std::string& relative) const {
    return candidate_build / relative;
  }
  // The test and benchmark binaries' CMake targets.
  std::vector<std::string> BinaryTargets() const;
  // A progress line on stderr with --verbose.
  void Log(const std::string& line) const;
  // The current gate moves on to `step` ("building the candidate"): a progress line without
  // --verbose too (ProgressReporter::Step).
  void Step(const std::string& step) const;
  // What the current step is doing now, shown by the next heartbeat (ProgressReporter::Detail).
  void Detail(const std::string& detail) const;
};

struct Gate {
  const char* name;    // as in kGateOrder, verdicts, the ledger and reports
  const char* checks;  // one line for --help, the README and the model's prompt
  GateResult (*run)(GateContext& context);
};

// The gates in the order they run (cheapest first).
const std::vector<const Gate*>& VerifierGates();

// Results a gate body returns (name and time are filled in by the runner).
GateResult Pass(std::string message, std::string detail = "");
GateResult Fail(std::string message, std::string detail = "");
GateResult Skip(std::string message);

// "a, b, c"
std::string JoinNames(const std::vector<std::string>& items, const char* separator = ", ");

}  // namespace rlvr
