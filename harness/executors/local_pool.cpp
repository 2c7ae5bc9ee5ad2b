#include "harness/executors/local_pool.h"

#include <unistd.h>

#include <chrono>
#include <system_error>

#include "harness/base/leftover_processes.h"
#include "harness/base/private_file.h"
#include "harness/base/process.h"
#include "harness/base/process_guard.h"
#include "harness/verify/verdict.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// The last line of `text` that is not blank, for an error message.
std::string LastLine(const std::string& text) {
  std::string trimmed = Trimmed(text);
  size_t newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

RunOptions Plain(double wall_seconds) {
  RunOptions run;
  run.limits.wall_seconds = wall_seconds;
  run.limits.memory_bytes = 0;  // rlvr evaluate limits the candidate's processes itself
  run.limits.file_size_bytes = 0;
  run.max_output_bytes = size_t{64} << 20;  // a verdict carries the candidate's files
  // The child records its builds and tests where this process records its own.
  if (fs::path dir = ProcessRecordDir(); !dir.empty()) run.env[kProcessRecordDirVariable] = dir;
  return run;
}

}  // namespace

LocalPoolExecutor::LocalPoolExecutor(LocalPoolOptions options) : options_(std::move(options)) {
  if (options_.rlvr_binary.empty())
    throw ExecutorError("local pool executor: the path of rlvr is not set");
  if (options_.parallel < 1) options_.parallel = 1;
  for (int i = 0; i < options_.parallel; ++i) workers_.emplace_back([this] { Work(); });
}

LocalPoolExecutor::~LocalPoolExecutor() {
  CancelAll();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void LocalPoolExecutor::Submit(const EvaluationRequest& request) {
  if (!IsValidEvaluationKey(request.key))
    throw ExecutorError("local pool executor: invalid evaluation key '" + request.key + "'");
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const EvaluationRequest& queued : queue_)
      if (queued.key == request.key)
        throw ExecutorError("local pool executor: evaluation " + request.key + " is in flight");
    if (running_.count(request.key))
      throw ExecutorError("local pool executor: evaluation " + request.key + " is in flight");
    queue_.push_back(request);
  }
  work_cv_.notify_one();
}

void LocalPoolExecutor::Work() {
  while (true) {
    EvaluationRequest request;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      request = std::move(queue_.front());
      queue_.pop_front();
      running_.insert(request.key);
    }
    EvaluationOutcome outcome;
    try {
      outcome = Evaluate(request);
    } catch (const std::exception& e) {
      // A worker thread must not end the process: the candidate is then simply not judged.
      outcome = EvaluationOutcome();
      outcome.key = request.key;
      outcome.job_id = "local";
      outcome.error = std::string("the evaluation could not run: ") + e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_.erase(request.key);
      if (cancelled_.erase(request.key) == 0) done_.push_back(std::move(outcome));
    }
    done_cv_.notify_all();
  }
}

void LocalPoolExecutor::LockChecks() {
  std::unique_lock<std::mutex> lock(lock_mu_);
  lock_cv_.wait(lock, [this] { return !benchmark_running_ && benchmarks_waiting_ == 0; });
  ++checks_running_;
}

void LocalPoolExecutor::UnlockChecks() {
  {
    std::lock_guard<std::mutex> lock(lock_mu_);
    --checks_running_;
  }
  lock_cv_.notify_all();
}

void LocalPoolExecutor::LockBenchmark() {
  std::unique_lock<std::mutex> lock(lock_mu_);
  ++benchmarks_waiting_;
  lock_cv_.wait(lock, [this] { return !benchmark_running_ && checks_running_ == 0; });
  --benchmarks_waiting_;
  benchmark_running_ = true;
}

void LocalPoolExecutor::UnlockBenchmark() {
  {
    std::lock_guard<std::mutex> lock(lock_mu_);
    benchmark_running_ = false;
  }
  lock_cv_.notify_all();
}

EvaluationOutcome LocalPoolExecutor::Evaluate(const EvaluationRequest& request) {
  EvaluationOutcome outcome;
  outcome.key = request.key;
  outcome.job_id = "local";
  outcome.node = HostName();
  outcome.tries = 1;
  auto start = std::chrono::steady_clock::now();
  auto finish = [&](EvaluationOutcome& o) {
    o.run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  fs::path scratch = request.repo / ".rlvr" / "pool" / request.key;
  std::error_code error;
  fs::remove_all(scratch, error);
  fs::create_directories(scratch, error);
  struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{scratch};
  // Redacted and owner-only: a reply may quote a key (the model saw it somewhere).
  if (!WritePrivateFile(scratch / "reply.txt", request.reply)) {
    outcome.error = "cannot write " + (scratch / "reply.txt").string();
    finish(outcome);
    return outcome;
  }
  fs::path clone = scratch / "repo";
  ProcessResult head = RunProcess({"git", "-C", request.repo.string(), "rev-parse", "HEAD"});
  ProcessResult cloned = head.ok() ? RunProcess({"git", "clone", "-q", "--shared", "--no-checkout",
                                                 request.repo.string(), clone.string()},
                                                Plain(600))
                                   : head;
  if (cloned.ok())
    cloned = RunProcess(
        {"git", "-C", clone.string(), "checkout", "-q", "--detach", Trimmed(head.out)}, Plain(600));
  if (!cloned.ok()) {
    outcome.error = "cannot clone the repository for the evaluation: " + LastLine(cloned.err);
    finish(outcome);
    return outcome;
  }
  const EvaluationSettings& settings = request.settings;
  auto evaluate = [&](bool benchmark) {
    std::vector<std::string> argv = {options_.rlvr_binary.string(), "evaluate",
                                     (scratch / "reply.txt").string(), "--target", request.target,
                                     "--json",
                                     // No heartbeats: its stderr's last line explains a failure.
                                     "--progress-seconds", "0", "-C", clone.string()};
    if (!settings.sanitizers) argv.push_back("--no-sanitizers");
    if (!benchmark) argv.push_back("--no-benchmark");
    if (settings.check_format_only) argv.push_back("--check-format");
    if (settings.seed != 0) argv.insert(argv.end(), {"--seed", std::to_string(settings.seed)});
    argv.insert(argv.end(), {"--test-timeout", std::to_string(settings.test_timeout_seconds)});
    if (benchmark && settings.bench_rounds > 0)
      argv.insert(argv.end(), {"--rounds", std::to_string(settings.bench_rounds)});
    return RunProcess(argv, Plain(options_.timeout_seconds));
  };
  auto verdict_of = [&](const ProcessResult& result) {
    // `rlvr evaluate` exits 0 (promotable) or 1 (rejected) with a verdict; 2 is a harness error.
    outcome.has_verdict = false;
    if (!result.timed_out && result.signal == 0 &&
        (result.exit_code == 0 || result.exit_code == 1)) {
      try {
        outcome.verdict_json = nlohmann::json::parse(result.out);
        outcome.has_verdict = true;
        return;
      } catch (const nlohmann::json::exception& e) {
        outcome.error = std::string("rlvr evaluate printed no verdict JSON: ") + e.what();
        return;
      }
    }
    outcome.error = "rlvr evaluate " + result.Describe() + ": " + LastLine(result.err);
  };

  LockChecks();
  ProcessResult checks = evaluate(false);
  UnlockChecks();
  verdict_of(checks);
  bool passed_checks = outcome.has_verdict && outcome.verdict().failed_gate.empty();
  if (settings.benchmark && passed_checks) {
    // The whole evaluation again in the warm clone, alone on the machine: the verdict is this
    // one (its checks ran twice, with different test seeds).
    LockBenchmark();
    ProcessResult measured = evaluate(true);
    UnlockBenchmark();
    verdict_of(measured);
  }
  finish(outcome);
  return outcome;
}

std::vector<EvaluationOutcome> LocalPoolExecutor::Collect(double timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  std::unique_lock<std::mutex> lock(mu_);
  while (done_.empty() && (!queue_.empty() || !running_.empty()) && !StopRequested() &&
         std::chrono::steady_clock::now() < deadline) {
    done_cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  std::vector<EvaluationOutcome> outcomes = std::move(done_);
  done_.clear();
  return outcomes;
}

void LocalPoolExecutor::Acknowledge(const std::string& /*key*/) {}

void LocalPoolExecutor::Cancel(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->key == key) {
      queue_.erase(it);
      return;
    }
  }
  if (running_.count(key)) cancelled_.insert(key);  // it finishes; its outcome is dropped
}

void LocalPoolExecutor::CancelAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.clear();
    cancelled_.insert(running_.begin(), running_.end());
    done_.clear();
    if (running_.empty()) return;
  }
  KillGuardedProcessGroups();
}

std::vector<InFlightEvaluation> LocalPoolExecutor::InFlight() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<InFlightEvaluation> in_flight;
  for (const std::string& key : running_)
    if (!cancelled_.count(key)) in_flight.push_back({key, "local", "RUNNING", 1});
  for (const EvaluationRequest& request : queue_)
    in_flight.push_back({request.key, "", "waiting", 0});
  // Finished, not collected yet: still in flight for the caller.
  for (const EvaluationOutcome& outcome : done_)
    in_flight.push_back({outcome.key, "local", "COMPLETED", 1});
  return in_flight;
}

std::vector<std::string> LocalPoolExecutor::Adopt(const fs::path& repo) {
  // Nothing to take over, but a killed predecessor's clones are removed (its processes were
  // ended by then: loop/start.cpp EndLeftoverProcessGroups).
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(repo / ".rlvr" / "pool", error)) {
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
  }
  return {};
}

}  // namespace rlvr
