// The verifier at the heart of rlvr: given a model reply (or plain patch) for a target, runs the
// gates of harness/verify/gates/ in order (scope, apply, format, build, tests, history, portable,
// sanitizers, allocations, benchmark), cheapest first, stopping at the first failure, and returns a
// Verdict saying whether the candidate may be promoted, with every gate's time, message and
// figures. An Evaluator keeps its scratch worktrees and build directories under <repo>/.rlvr/ warm
// across calls, so a one-file candidate rebuilds incrementally. The user's working tree is never
// touched, except by Promote, which commits a promotable candidate (and its baseline) atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/bench/figure.h"
#include "harness/verify/judge.h"
#include "harness/verify/progress.h"

namespace rlvr {

// Gate names, in the order they run (harness/verify/gates/gate_list.cpp), exactly as DESIGN.md.
inline constexpr const char* kGateOrder[] = {"scope",       "apply",    "format",   "build",
                                             "tests",       "history",  "portable", "sanitizers",
                                             "allocations", "benchmark"};

// The gates a split evaluation runs only in its checks stage (EvaluateOptions::
// benchmark_stage_only skips them, with kRunByTheChecksStage as their message).
bool IsChecksStageGate(std::string_view gate);
inline constexpr const char* kRunByTheChecksStage = "skipped: run by the checks stage";

enum class GateStatus { kPass, kFail, kSkipped };
const char* GateStatusName(GateStatus status);  // "pass" | "fail" | "skipped"

struct GateResult {
  std::string name;  // one of kGateOrder
  GateStatus status = GateStatus::kSkipped;
  double seconds = 0;
  std::string message;  // one line: why it failed / key figure
  std::string detail;   // first lines of a compiler error, failing test, ... (may be empty)
};

struct Verdict {
  std::string target;
  bool promotable = false;
  std::string failed_gate;  // first failing gate, empty if none
  std::string message;      // one-line summary
  std::vector<GateResult> gates;
  std::string metric = "real_time";
  std::vector<BenchmarkFigure> figures;
  double primary_ratio = 0;  // geometric mean over the primary benchmarks; 0 when not measured
  std::string patch;         // canonical diff of what was applied
  std::vector<std::string> changed_files;
  std::vector<std::pair<std::string, std::string>> new_contents;  // path -> candidate content
  std::string head_commit;  // the commit the candidate was evaluated against
  double seconds = 0;
  bool suspicious = false;            // too-good speed-up, re-verified before passing
  uint64_t seed = 0;                  // the fresh RLVR_TEST_SEED of this evaluation
  std::vector<uint64_t> extra_seeds;  // seeds of the re-verification of a suspicious candidate
  std::string host_drift;             // machine/compiler differences from the stored baseline
  // Why the gate that failed says nothing about the candidate: the machine's fault (the disk of
  // the build and state folders nearly full when it failed) or the harness's own error. Empty
  // for a real verdict. Such a verdict is recorded as an error, never as the candidate's failure.
  std::string machine_fault;
  // A stop request (base/signals.h) cut the evaluation short at gate `stopped_at`: its killed
  // processes say nothing about the candidate, and no later gate ran. Never promotable.
  bool stopped = false;
  std::string stopped_at;

  const GateResult* FindGate(std::string_view name) const;
  // Everything; its gates and figures are SummaryJson of each, plus detail, flags and samples.
  nlohmann::json ToJson() const;
  // Human-readable verdict: one line per gate (status, time, message) and the figures.
  std::string Render() const;
};

// The compact forms the ledger stores (DESIGN.md): a gate's name, status, seconds and message; a
// figure's name, times, ratio, interval and p-value.
nlohmann::json SummaryJson(const GateResult& gate);
nlohmann::json SummaryJson(const BenchmarkFigure& figure);

struct EvaluateOptions {
  bool check_format_only = false;  // unformatted => fail instead of formatting
  bool sanitizers = true;          // run the tests under ASan+UBSan
  bool benchmark = true;           // false: stop after allocations (no promotion possible)
  // The second stage of a split evaluation (executors/slurm.h): the checks that need no quiet
  // machine (tests, history, portable, sanitizers, allocations) passed in an earlier evaluation
  // of the same candidate on the same commit and are skipped here; scope, apply, format and build
  // run again (the benchmark needs both builds on this machine), then the benchmark. Such a
  // verdict is never promotable by itself: StagedVerdict (executors/staged_verdict.h) joins it
  // with the checks' verdict.
  bool benchmark_stage_only = false;
  int jobs = 2;                    // build parallelism
  uint64_t seed = 0;               // 0 = draw a fresh random test seed per evaluation
  int suspicious_extra_seeds = 3;  // fresh seeds re-run for a suspicious speed-up
  double suspicious_speedup = 10;  // ratio below 1/this is suspicious
  double build_timeout_seconds = 1200;
  // The edited files' compile may take this multiple of HEAD's compile of the same files (timed
  // without ccache), but at least the floor: a few lines of constexpr work could otherwise hold
  // the machine for the whole build limit, per candidate, all night.
  double compile_time_multiple = 10;
  double compile_time_floor_seconds = 60;
  double test_timeout_seconds = 120;  // per test-binary run
  double bench_timeout_seconds = 900;
  size_t max_reply_bytes = size_t{1} << 20;
  int bench_rounds = 0;             // 0 = the benchmark runner's default
  std::filesystem::path state_dir;  // default <repo>/.rlvr
  // A gate failing while the state folder's filesystem has less free space than this is the
  // disk's fault, not the candidate's (Verdict::machine_fault).
  uint64_t min_free_disk_bytes = uint64_t{256} << 20;  // base/disk_space.h
  bool verbose = false;                                // every gate's result on stderr
  // Progress lines on stderr with or without `verbose`: each long gate's steps as they start and
  // a heartbeat at least every heartbeat_seconds (verify/progress.h).
  ProgressSettings progress;
};

struct PromoteResult {
  bool promoted = false;
  std::string commit;   // sha of the new commit
  std::string message;  // commit message, or why promotion was refused
};

class Evaluator : public CandidateJudge {
 public:
  Evaluator(const Project& project, EvaluateOptions options = {});
  ~Evaluator() override;
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  // Never throws for a bad candidate: every failure is a gate result. Throws only when the
  // harness itself cannot work (no git repository, cannot create .rlvr/). `base_commit` is the
  // commit the candidate is applied to (the one its prompt showed); empty = HEAD now.
  Verdict Evaluate(const Target& target, std::string_view reply,
                   std::string_view base_commit = {}) override;

  // Commits the candidate's edit and baselines/<target>.json (the candidate's figures) on the
  // current branch in one commit. Refuses (promoted=false, message says why) when the verdict is
  // not promotable, HEAD moved since evaluation, or the user's working tree has uncommitted
  // changes in the files involved. Atomic: on any failure the branch is unchanged. A non-empty
  // `trailer` ends the commit message (the loop's "Rlvr-Attempt: N", see loop/reconcile.h).
  PromoteResult Promote(const Target& target, const Verdict& verdict,
                        const std::string& trailer = "") override;

  const Project& project() const override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rlvr
