#include "harness/executors/local.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <system_error>

#include "harness/base/config.h"
#include "harness/base/process.h"

namespace rlvr {

namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The last `max_lines` lines of `text`, for an error message.
std::string Tail(const std::string& text, size_t max_lines) {
  size_t end = text.find_last_not_of("\n ");
  if (end == std::string::npos) return "";
  size_t pos = end + 1;
  for (size_t lines = 0; lines < max_lines && pos > 0; ++lines) {
    size_t newline = text.rfind('\n', pos - 1);
    pos = newline == std::string::npos ? 0 : newline;
    if (newline == std::string::npos) break;
  }
  return text.substr(pos == 0 ? 0 : pos + 1, end + 1 - (pos == 0 ? 0 : pos + 1));
}

}  // namespace

LocalExecutor::LocalExecutor(LocalExecutorOptions options) : options_(std::move(options)) {
  if (options_.evaluator == nullptr && options_.rlvr_binary.empty())
    throw ExecutorError("local executor: neither an evaluator nor an rlvr binary was given");
}

void LocalExecutor::Submit(const EvaluationRequest& request) {
  if (!IsValidEvaluationKey(request.key))
    throw ExecutorError("local executor: invalid evaluation key '" + request.key + "'");
  if (keys_.count(request.key))
    throw ExecutorError("local executor: evaluation " + request.key + " is already in flight");
  keys_.insert(request.key);
  queue_.push_back(request);
}

std::vector<EvaluationOutcome> LocalExecutor::Collect(double /*timeout_seconds*/) {
  if (queue_.empty() || StopRequested()) return {};
  EvaluationRequest request = std::move(queue_.front());
  queue_.pop_front();
  EvaluationOutcome outcome =
      options_.evaluator != nullptr ? RunInProcess(request) : RunChild(request);
  return {std::move(outcome)};
}

EvaluationOutcome LocalExecutor::RunInProcess(const EvaluationRequest& request) {
  EvaluationOutcome outcome;
  outcome.key = request.key;
  outcome.job_id = "local";
  outcome.node = HostName();
  outcome.tries = 1;
  auto start = std::chrono::steady_clock::now();
  try {
    const Project& project = options_.evaluator->project();
    std::error_code ignored;
    if (!std::filesystem::equivalent(project.root, request.repo, ignored))
      throw ExecutorError("the evaluator judges " + project.root.string() + ", not " +
                          request.repo.string());
    Verdict verdict =
        options_.evaluator->Evaluate(project.GetTarget(request.target), request.reply);
    outcome.verdict_json = verdict.ToJson();
    outcome.has_verdict = true;
  } catch (const std::exception& e) {
    outcome.error = std::string("the evaluation could not run: ") + e.what();
  }
  outcome.run_seconds = SecondsSince(start);
  return outcome;
}

EvaluationOutcome LocalExecutor::RunChild(const EvaluationRequest& request) {
  EvaluationOutcome outcome;
  outcome.key = request.key;
  outcome.job_id = "local";
  outcome.node = HostName();
  outcome.tries = 1;
  std::filesystem::path folder = EvaluationFolder(request.repo, request.key);
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  std::filesystem::path reply_file = folder / "reply.txt";
  {
    std::ofstream out(reply_file, std::ios::binary | std::ios::trunc);
    out << request.reply;
    if (!out.flush()) {
      outcome.error = "cannot write " + reply_file.string();
      return outcome;
    }
  }
  folders_.emplace_back(request.key, folder);

  std::vector<std::string> argv = {options_.rlvr_binary.string(), "evaluate", reply_file.string(),
                                   "--target", request.target, "--json",
                                   // No heartbeats: its stderr's last lines explain a failure.
                                   "--progress-seconds", "0", "-C", request.repo.string()};
  const EvaluationSettings& settings = request.settings;
  if (!settings.sanitizers) argv.push_back("--no-sanitizers");
  if (!settings.benchmark) argv.push_back("--no-benchmark");
  if (settings.check_format_only) argv.push_back("--check-format");
  if (settings.seed != 0) argv.insert(argv.end(), {"--seed", std::to_string(settings.seed)});
  argv.insert(argv.end(), {"--test-timeout", std::to_string(settings.test_timeout_seconds)});
  if (settings.bench_rounds > 0)
    argv.insert(argv.end(), {"--rounds", std::to_string(settings.bench_rounds)});

  RunOptions run;
  run.limits.wall_seconds = options_.timeout_seconds;
  run.limits.memory_bytes = 0;  // the evaluator limits the candidate's processes itself
  run.limits.file_size_bytes = 0;
  run.max_output_bytes = size_t{64} << 20;  // a verdict carries the candidate's files
  ProcessResult result = RunProcess(argv, run);
  outcome.run_seconds = result.wall_seconds;
  // `rlvr evaluate` exits 0 (promotable) or 1 (rejected) with a verdict; 2 is a harness error.
  if (!result.timed_out && result.signal == 0 && (result.exit_code == 0 || result.exit_code == 1)) {
    try {
      outcome.verdict_json = nlohmann::json::parse(result.out);
      outcome.has_verdict = true;
      return outcome;
    } catch (const nlohmann::json::exception& e) {
      outcome.error = std::string("rlvr evaluate printed no verdict JSON: ") + e.what();
      return outcome;
    }
  }
  outcome.error = "rlvr evaluate " + result.Describe() + ": " + Tail(result.err, 5);
  return outcome;
}

void LocalExecutor::Acknowledge(const std::string& key) {
  keys_.erase(key);
  auto it = std::find_if(folders_.begin(), folders_.end(),
                         [&](const auto& entry) { return entry.first == key; });
  if (it == folders_.end()) return;
  std::error_code ignored;
  std::filesystem::remove_all(it->second, ignored);
  folders_.erase(it);
}

void LocalExecutor::Cancel(const std::string& key) {
  auto it = std::find_if(queue_.begin(), queue_.end(),
                         [&](const EvaluationRequest& request) { return request.key == key; });
  if (it != queue_.end()) queue_.erase(it);
  keys_.erase(key);
}

void LocalExecutor::CancelAll() {
  for (const EvaluationRequest& request : queue_) keys_.erase(request.key);
  queue_.clear();
}

std::vector<InFlightEvaluation> LocalExecutor::InFlight() const {
  std::vector<InFlightEvaluation> in_flight;
  for (const EvaluationRequest& request : queue_)
    in_flight.push_back({request.key, "", "waiting", 0});
  return in_flight;
}

std::vector<std::string> LocalExecutor::Adopt(const std::filesystem::path& /*repo*/) {
  return {};
}

}  // namespace rlvr
