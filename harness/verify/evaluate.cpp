#include "harness/verify/evaluate.h"

#include "harness/base/signals.h"

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "harness/base/disk_space.h"
#include "harness/base/secrets.h"
#include "harness/base/signals.h"
#include "harness/bench/baseline.h"
#include "harness/candidate/machine_fault.h"
#include "harness/candidate/run.h"
#include "harness/git/worktree.h"
#include "harness/verify/gates/gate.h"
#include "harness/verify/promote.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// What a gate that can take minutes does first, for its progress line; null for the quick ones.
const char* LongGateStep(std::string_view gate) {
  if (gate == "build") return "building HEAD (the baseline) and the candidate";
  if (gate == "tests") return "running the candidate's tests";
  if (gate == "history") return "running the tests of earlier versions";
  if (gate == "portable") return "building and testing other instruction-set levels";
  if (gate == "sanitizers") return "building and testing under ASan and UBSan";
  if (gate == "allocations") return "counting allocations";
  if (gate == "benchmark") return "measuring HEAD against the candidate";
  return nullptr;
}

}  // namespace

bool IsChecksStageGate(std::string_view gate) {
  return gate == "tests" || gate == "history" || gate == "portable" || gate == "sanitizers" ||
         gate == "allocations";
}

struct Evaluator::State {
  Project project;
  EvaluateOptions options;
  fs::path state_dir;

  fs::path BuildDir(const char* name) const { return state_dir / "build" / name; }
};

Evaluator::Evaluator(const Project& project, EvaluateOptions options)
    : state_(std::make_unique<State>()) {
  state_->project = project;
  state_->options = options;
  state_->state_dir = options.state_dir.empty() ? project.root / ".rlvr" : options.state_dir;
  state_->state_dir = fs::absolute(state_->state_dir);
}

Evaluator::~Evaluator() = default;

const Project& Evaluator::project() const {
  return state_->project;
}

namespace {

// Runs the gates one after another; a gate body returns its result, a thrown exception is that
// gate's failure (a harness problem, reported rather than crashing the loop).
class GateSequence {
 public:
  explicit GateSequence(GateContext& context) : context_(context) {}

  bool failed() const { return !context_.verdict.failed_gate.empty(); }

  // Returns true when the gate passed (or was skipped) and the sequence continues.
  bool Run(const Gate& gate) {
    Verdict& verdict = context_.verdict;
    if (StopRequested()) {
      // Nothing more runs: what a killed process said would be no verdict on the candidate.
      verdict.stopped = true;
      verdict.stopped_at = gate.name;
      verdict.failed_gate = gate.name;
      verdict.message =
          fmt::format("not judged: stopped at the {} gate (rlvr was asked to stop)", gate.name);
      return false;
    }
    double start = Now();
    TakeMachineFault();  // a fault of an earlier gate that passed anyway is not this gate's
    if (context_.progress != nullptr) {
      if (const char* step = LongGateStep(gate.name))
        context_.progress->Stage(gate.name, step);
      else
        context_.progress->Idle();
    }
    GateResult result;
    bool harness_error = false;
    try {
      result = gate.run(context_);
    } catch (const std::exception& e) {
      result.status = GateStatus::kFail;
      result.message = std::string("harness error: ") + e.what();
      harness_error = true;
    }
    result.name = gate.name;
    result.seconds = Now() - start;
    if (context_.progress != nullptr) context_.progress->Idle();
    if (StopRequested() && result.status == GateStatus::kFail) {
      // The gate failed because its processes were killed by the stop, most likely.
      verdict.stopped = true;
      verdict.stopped_at = gate.name;
      verdict.failed_gate = gate.name;
      verdict.message =
          fmt::format("not judged: stopped at the {} gate (rlvr was asked to stop)", gate.name);
      result.status = GateStatus::kSkipped;
      result.message = "not judged: stopped (" + result.message + ")";
      verdict.gates.push_back(std::move(result));
      return false;
    }
    context_.Log(fmt::format("{} {} ({:.1f} s) {}", gate.name, GateStatusName(result.status),
                             result.seconds, result.message));
    if (result.status == GateStatus::kFail) {
      verdict.failed_gate = gate.name;
      verdict.message = fmt::format("{} gate failed: {}", gate.name, result.message);
      // A failure on a full disk, or the harness's own, is no verdict on the candidate.
      std::string low = LowDiskSpace(context_.state_dir, context_.options.min_free_disk_bytes);
      std::string noted = TakeMachineFault();  // a build tool missing, a compiler killed
      if (!low.empty()) {
        verdict.machine_fault = low;
      } else if (harness_error) {
        verdict.machine_fault = result.message;
      } else if (!noted.empty()) {
        verdict.machine_fault = noted;
      }
    }
    verdict.gates.push_back(std::move(result));
    return !failed();
  }

  // Marks every gate not run as skipped, saying why.
  void SkipRemaining(const std::string& why) {
    Verdict& verdict = context_.verdict;
    for (const Gate* gate : VerifierGates()) {
      if (!verdict.FindGate(gate->name))
        verdict.gates.push_back({gate->name, GateStatus::kSkipped, 0, why, ""});
    }
  }

 private:
  GateContext& context_;
};

// Defence in depth: no registered secret (API keys) in anything the verdict carries, whatever a
// candidate managed to print.
void RedactVerdict(Verdict& v) {
  v.message = RedactSecrets(v.message);
  v.host_drift = RedactSecrets(v.host_drift);
  for (auto& gate : v.gates) {
    gate.message = RedactSecrets(gate.message);
    gate.detail = RedactSecrets(gate.detail);
  }
}

}  // namespace

Verdict Evaluator::Evaluate(const Target& target, std::string_view reply,
                            std::string_view base_commit) {
  State& s = *state_;
  double start = Now();
  Verdict v;
  v.target = target.name;
  v.seed = s.options.seed ? s.options.seed : FreshSeed();
  v.head_commit = base_commit.empty() ? HeadCommit(s.project.root) : std::string(base_commit);
  GateContext context{s.project, target, s.options, reply, v, s.state_dir, {}, {}, {}, {}};
  context.candidate_build = s.BuildDir("candidate");
  context.baseline_build = s.BuildDir("baseline");
  ProgressReporter progress(s.options.progress);
  context.progress = &progress;

  GateSequence sequence(context);
  for (const Gate* gate : VerifierGates()) {
    if (s.options.benchmark_stage_only && IsChecksStageGate(gate->name)) {
      v.gates.push_back({gate->name, GateStatus::kSkipped, 0, kRunByTheChecksStage, ""});
      continue;
    }
    if (!sequence.Run(*gate)) break;
  }

  // Say when this machine or compiler differs from the one the stored baseline was measured on.
  try {
    fs::path stored = BaselinePath(s.project.root, target.name);
    if (fs::exists(stored))
      v.host_drift =
          DescribeDrift(ReadBaselineFile(stored).host, CurrentHostFacts(context.candidate_build));
    if (!v.host_drift.empty())
      v.host_drift = "host differs from the stored baseline: " + v.host_drift;
  } catch (const std::exception& e) {
    v.host_drift = std::string("stored baseline unreadable: ") + e.what();
  }

  sequence.SkipRemaining(v.stopped               ? "not run: rlvr was asked to stop"
                         : v.failed_gate.empty() ? ""
                                                 : "not run: an earlier gate failed");
  v.promotable =
      v.failed_gate.empty() && s.options.benchmark && !v.stopped && !s.options.benchmark_stage_only;
  if (s.options.benchmark_stage_only && v.failed_gate.empty() && !v.stopped)
    v.message = "benchmark stage passed (promotable only with its checks' verdict): " +
                v.FindGate("benchmark")->message;
  else if (v.promotable)
    v.message = "every gate passed: " + v.FindGate("benchmark")->message;
  else if (v.failed_gate.empty())
    v.message = "every gate run passed, but the benchmark gate was skipped";
  RedactVerdict(v);
  v.seconds = Now() - start;
  return v;
}

PromoteResult Evaluator::Promote(const Target& target, const Verdict& verdict,
                                 const std::string& trailer) {
  return PromoteCandidate(state_->project, target, verdict, state_->BuildDir("candidate"), trailer);
}

}  // namespace rlvr
