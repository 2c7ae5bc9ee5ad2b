#include "harness/evaluate.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>

#include "harness/baseline.h"
#include "harness/build.h"
#include "harness/file_text.h"
#include "harness/benchmark_comparison.h"
#include "harness/candidate_run.h"
#include "harness/patch_apply.h"
#include "harness/process.h"
#include "harness/promote.h"
#include "harness/symbol_check.h"
#include "harness/worktree.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

bool IsCxxSource(const std::string& path) {
  for (const char* ext : {".cpp", ".cc", ".cxx", ".c", ".h", ".hpp", ".hh", ".inl"}) {
    if (path.size() > std::strlen(ext) && path.ends_with(ext)) return true;
  }
  return false;
}

bool IsCompiledSource(const std::string& path) {
  return path.ends_with(".cpp") || path.ends_with(".cc") || path.ends_with(".cxx") ||
         path.ends_with(".c");
}

std::string Join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

}  // namespace

struct Evaluator::State {
  Project project;
  EvaluateOptions options;
  fs::path state_dir;
  std::string baseline_built_commit;  // HEAD the baseline build dir last built successfully

  fs::path BuildDir(const char* name) const { return state_dir / "build" / name; }

  void Log(const std::string& line) const {
    if (options.verbose) std::fprintf(stderr, "[rlvr evaluate] %s\n", line.c_str());
  }
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
  GateSequence(Verdict& verdict, const std::function<void(const std::string&)>& log)
      : verdict_(verdict), log_(log) {}

  bool failed() const { return !verdict_.failed_gate.empty(); }

  // Returns true when the gate passed (or was skipped) and the sequence continues.
  bool Run(const char* name, const std::function<GateResult()>& body) {
    if (failed()) return false;
    double start = Now();
    GateResult result;
    try {
      result = body();
    } catch (const std::exception& e) {
      result.status = GateStatus::kFail;
      result.message = std::string("harness error: ") + e.what();
    }
    result.name = name;
    result.seconds = Now() - start;
    log_(fmt::format("{} {} ({:.1f} s) {}", name, GateStatusName(result.status), result.seconds,
                     result.message));
    if (result.status == GateStatus::kFail) {
      verdict_.failed_gate = name;
      verdict_.message = fmt::format("{} gate failed: {}", name, result.message);
    }
    verdict_.gates.push_back(std::move(result));
    return !failed();
  }

  // Marks every gate not run yet as skipped, in DESIGN.md order.
  void SkipRemaining(const std::string& why) {
    for (const char* name : kGateOrder) {
      if (verdict_.FindGate(name)) continue;
      verdict_.gates.push_back({name, GateStatus::kSkipped, 0, why, ""});
    }
    // Keep the order of kGateOrder even when a gate was recorded out of turn.
    std::vector<GateResult> ordered;
    for (const char* name : kGateOrder) ordered.push_back(*verdict_.FindGate(name));
    verdict_.gates = std::move(ordered);
  }

 private:
  Verdict& verdict_;
  std::function<void(const std::string&)> log_;
};

GateResult Pass(std::string message, std::string detail = "") {
  return {"", GateStatus::kPass, 0, std::move(message), std::move(detail)};
}
GateResult Fail(std::string message, std::string detail = "") {
  return {"", GateStatus::kFail, 0, std::move(message), std::move(detail)};
}
GateResult Skip(std::string message) {
  return {"", GateStatus::kSkipped, 0, std::move(message), ""};
}

}  // namespace

Verdict Evaluator::Evaluate(const Target& target, std::string_view reply) {
  State& s = *state_;
  const BuildConfig& build = s.project.build;
  const EvaluateOptions& opt = s.options;
  double start = Now();
  Verdict v;
  v.target = target.name;
  v.seed = opt.seed ? opt.seed : FreshSeed();
  GateSequence gates(v, [&s](const std::string& line) { s.Log(line); });

  v.head_commit = HeadCommit(s.project.root);
  fs::path worktree;
  fs::path candidate_build = s.BuildDir("candidate");
  fs::path baseline_build = s.BuildDir("baseline");
  fs::path baseline_tree;
  std::vector<std::string> targets = {TargetNameOf(build.test_binary),
                                      TargetNameOf(build.bench_binary)};

  // scope: the files the reply would change, all within the target's editable globs.
  gates.Run("scope", [&] {
    worktree = PrepareWorktree(s.project.root, s.state_dir, "candidate", v.head_commit);
    ApplyOptions probe;
    probe.dry_run = true;
    probe.max_reply_bytes = opt.max_reply_bytes;
    ApplyResult dry = ApplyReply(worktree, reply, probe);
    if (dry.changed_files.empty()) return Skip("no edit could be read from the reply");
    std::vector<std::string> outside;
    for (const auto& file : dry.changed_files) {
      bool allowed = false;
      for (const auto& glob : target.editable) allowed = allowed || GlobMatches(glob, file);
      if (!allowed) outside.push_back(file);
    }
    if (!outside.empty())
      return Fail(fmt::format("edits {} outside the target's editable files ({})", Join(outside),
                              Join(target.editable)));
    return Pass(fmt::format("{} file(s), all editable", dry.changed_files.size()));
  });

  gates.Run("apply", [&] {
    ApplyOptions apply;
    apply.allowed_globs = target.editable;
    apply.max_reply_bytes = opt.max_reply_bytes;
    ApplyResult result = ApplyReply(worktree, reply, apply);
    if (!result.applied) return Fail("patch does not apply", result.error);
    if (result.changed_files.empty()) return Fail("the reply changes nothing");
    v.changed_files = result.changed_files;
    v.patch = result.diff;
    return Pass(fmt::format("changed {}", Join(result.changed_files)));
  });

  gates.Run("format", [&] {
    std::vector<std::string> unformatted;
    std::string detail;
    RunOptions run;
    run.cwd = worktree;
    run.limits.wall_seconds = 60;
    for (const auto& file : v.changed_files) {
      if (!IsCxxSource(file) || !fs::exists(worktree / file)) continue;
      if (!opt.check_format_only) {
        ProcessResult fix = RunProcess({"clang-format", "-i", "--style=file", file}, run);
        if (!fix.ok())
          return Fail("clang-format failed on " + file + ": " + fix.Describe(), fix.err);
      }
      ProcessResult check =
          RunProcess({"clang-format", "--dry-run", "--Werror", "--style=file", file}, run);
      if (!check.ok()) {
        unformatted.push_back(file);
        detail += check.err.substr(0, 1500);
      }
    }
    // The canonical patch includes the formatting the gate applied.
    RunOptions git = run;
    ProcessResult diff = RunProcess(
        {"git", "-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff", "HEAD", "--"},
        git);
    if (diff.ok()) v.patch = diff.out;
    v.new_contents.clear();
    for (const auto& file : v.changed_files) {
      if (fs::exists(worktree / file))
        v.new_contents.emplace_back(file, ReadFileText(worktree / file));
    }
    if (!unformatted.empty())
      return Fail(fmt::format("not clang-formatted: {} (run clang-format -i)", Join(unformatted)),
                  detail);
    return Pass(opt.check_format_only ? "formatted" : "formatted with the repository's style");
  });

  gates.Run("build", [&] {
    std::vector<std::string> problems = CheckAddedSource(v.patch, worktree);
    if (!problems.empty())
      return Fail(fmt::format("source check: {}", problems.front()), Join(problems, "\n"));
    // The baseline (HEAD) build: compared against in the benchmark gate, and its objects tell the
    // symbol check what the unmodified sources already define.
    baseline_tree = PrepareWorktree(s.project.root, s.state_dir, "baseline", v.head_commit);
    BuildOutcome base = ConfigureAndBuild({baseline_tree, baseline_build, build.configure_args,
                                           targets, opt.jobs, opt.build_timeout_seconds});
    if (!base.ok) return Fail("the baseline (HEAD) does not build: " + base.message, base.detail);
    s.baseline_built_commit = v.head_commit;
    // Compile the edited files alone first and check their symbols before anything links them:
    // a candidate overriding clock_gettime or operator new is refused with that reason.
    BuildRequest request{worktree, candidate_build, build.configure_args,
                         {},       opt.jobs,        opt.build_timeout_seconds};
    BuildOutcome configured = Configure(request);
    if (!configured.ok) return Fail(configured.message, configured.detail);
    std::vector<std::pair<std::string, fs::path>> objects;  // edited file -> its object
    for (const auto& file : v.changed_files) {
      if (!IsCompiledSource(file)) continue;
      fs::path object = FindObjectFile(candidate_build, worktree / file);
      if (!object.empty()) objects.emplace_back(file, object);
    }
    if (!objects.empty()) {
      BuildRequest compile = request;
      for (const auto& [file, object] : objects)
        compile.targets.push_back(fs::relative(object, candidate_build).string());
      BuildOutcome compiled = ConfigureAndBuild(compile);
      if (!compiled.ok) return Fail(compiled.message, compiled.detail);
    }
    std::vector<std::string> forbidden;
    for (const auto& [file, object] : objects) {
      fs::path base_object = FindObjectFile(baseline_build, baseline_tree / file);
      for (auto& symbol : ForbiddenSymbols(object, base_object))
        forbidden.push_back(file + ": " + symbol);
    }
    if (!forbidden.empty())
      return Fail(fmt::format("symbol check: defines symbols outside namespace rlvr: {}",
                              forbidden.front()),
                  Join(forbidden, "\n"));
    request.targets = targets;
    BuildOutcome candidate = ConfigureAndBuild(request);
    if (!candidate.ok) return Fail(candidate.message, candidate.detail);
    return Pass(
        fmt::format("built in {:.1f} s (baseline {:.1f} s)", candidate.seconds, base.seconds));
  });

  fs::path test_binary = candidate_build / build.test_binary;
  gates.Run("tests", [&] {
    TestRunResult fixed =
        RunGoogleTests(test_binary, target.tests, std::nullopt, opt.test_timeout_seconds, false);
    if (!fixed.ok) return Fail(fixed.message, fixed.detail);
    TestRunResult fresh =
        RunGoogleTests(test_binary, target.tests, v.seed, opt.test_timeout_seconds, false);
    if (!fresh.ok) return Fail(fresh.message, fresh.detail);
    return Pass(fmt::format("{} tests passed with the default seed and RLVR_TEST_SEED={}",
                            fixed.passed, v.seed));
  });

  gates.Run("sanitizers", [&] {
    if (!opt.sanitizers) return Skip("skipped (--no-sanitizers)");
    std::vector<std::string> args = build.configure_args;
    args.insert(args.end(), build.sanitize_args.begin(), build.sanitize_args.end());
    fs::path sanitize_build = s.BuildDir("sanitize");
    BuildOutcome built = ConfigureAndBuild({worktree,
                                            sanitize_build,
                                            args,
                                            {TargetNameOf(build.test_binary)},
                                            opt.jobs,
                                            opt.build_timeout_seconds,
                                            /*sanitizer=*/true});
    if (!built.ok) return Fail("sanitizer build: " + built.message, built.detail);
    TestRunResult run = RunGoogleTests(sanitize_build / build.test_binary, target.tests, v.seed,
                                       opt.test_timeout_seconds * 4, true);
    if (!run.ok) return Fail("under ASan+UBSan: " + run.message, run.detail);
    return Pass(fmt::format("{} tests clean under ASan+UBSan", run.passed));
  });

  gates.Run("allocations", [&] {
    std::string summary;
    if (!target.alloc_tests.empty()) {
      TestRunResult alloc = RunGoogleTests(test_binary, target.alloc_tests, std::nullopt,
                                           opt.test_timeout_seconds, false);
      if (!alloc.ok) return Fail("allocation tests: " + alloc.message, alloc.detail);
      summary = fmt::format("{} allocation tests passed", alloc.passed);
    }
    BenchRunResult candidate = RunBenchmarksOnce(
        candidate_build / build.bench_binary, target.benchmarks, 0.01, opt.bench_timeout_seconds);
    if (!candidate.ok) return Fail("candidate benchmarks: " + candidate.message);
    BenchRunResult base = RunBenchmarksOnce(baseline_build / build.bench_binary, target.benchmarks,
                                            0.01, opt.bench_timeout_seconds);
    if (!base.ok) return Fail("baseline benchmarks: " + base.message);
    bool counted = false;
    for (const auto& entry : candidate.entries) counted = counted || entry.allocs_per_iter;
    std::vector<std::string> increases = AllocationIncreases(base.entries, candidate.entries);
    if (!increases.empty())
      return Fail("allocates in the benchmark loop: " + increases.front(), Join(increases, "\n"));
    summary += (summary.empty() ? "" : "; ") +
               std::string(counted ? "no allocations per benchmark iteration"
                                   : "benchmarks report no allocation counters");
    return Pass(summary);
  });

  gates.Run("benchmark", [&] {
    if (!opt.benchmark) return Skip("skipped (--no-benchmark): not promotable");
    ComparisonRequest request;
    request.baseline_binary = baseline_build / build.bench_binary;
    request.candidate_binary = candidate_build / build.bench_binary;
    request.filter = target.benchmarks;
    request.extra = target.references;
    if (opt.bench_rounds > 0) request.rounds = opt.bench_rounds;
    request.timeout_seconds = opt.bench_timeout_seconds;
    Comparison comparison = CompareBenchmarks(request);
    if (!comparison.ok) return Fail(comparison.message);
    BenchmarkDecision decision =
        DecideBenchmarks(target, comparison.figures, opt.suspicious_speedup);
    v.figures = comparison.figures;
    v.primary_ratio = decision.primary_ratio;
    if (!decision.pass) return Fail(decision.message);
    if (decision.suspicious) {
      // A too-good result must survive fresh inputs and a second measurement.
      v.suspicious = true;
      for (int i = 0; i < opt.suspicious_extra_seeds; ++i) {
        uint64_t seed = FreshSeed();
        v.extra_seeds.push_back(seed);
        TestRunResult run =
            RunGoogleTests(test_binary, target.tests, seed, opt.test_timeout_seconds, false);
        if (!run.ok)
          return Fail("suspicious speed-up failed re-verification: " + run.message, run.detail);
      }
      Comparison again = CompareBenchmarks(request);
      if (!again.ok) return Fail("suspicious speed-up, second run: " + again.message);
      BenchmarkDecision second = DecideBenchmarks(target, again.figures, opt.suspicious_speedup);
      if (!second.pass) return Fail("suspicious speed-up not reproduced: " + second.message);
      return Pass(decision.message + " (suspicious: re-verified with " +
                  std::to_string(opt.suspicious_extra_seeds) + " more seeds and a second run)");
    }
    return Pass(decision.message);
  });

  // Say when this machine or compiler differs from the one the stored baseline was measured on.
  try {
    fs::path stored = BaselinePath(s.project.root, target.name);
    if (fs::exists(stored))
      v.host_drift =
          DescribeDrift(ReadBaselineFile(stored).host, CurrentHostFacts(candidate_build));
    if (!v.host_drift.empty())
      v.host_drift = "host differs from the stored baseline: " + v.host_drift;
  } catch (const std::exception& e) {
    v.host_drift = std::string("stored baseline unreadable: ") + e.what();
  }

  gates.SkipRemaining(v.failed_gate.empty() ? "" : "not run: an earlier gate failed");
  v.promotable = v.failed_gate.empty() && opt.benchmark;
  if (v.promotable)
    v.message = "every gate passed: " + v.FindGate("benchmark")->message;
  else if (v.failed_gate.empty())
    v.message = "every gate run passed, but the benchmark gate was skipped";
  v.seconds = Now() - start;
  return v;
}

PromoteResult Evaluator::Promote(const Target& target, const Verdict& verdict,
                                 const std::string& trailer) {
  return PromoteCandidate(state_->project, target, verdict, state_->BuildDir("candidate"), trailer);
}

}  // namespace rlvr
