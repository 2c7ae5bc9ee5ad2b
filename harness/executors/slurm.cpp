#include "harness/executors/slurm.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/base/private_file.h"
#include "harness/base/process.h"
#include "harness/executors/slurm_warm_tree.h"
#include "harness/executors/staged_verdict.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {
// The stages of an evaluation: one job for everything (no benchmark stage, or no split), or the
// checks on a shared node and then, for a candidate that passed them, the benchmark on an
// exclusive one (executors/staged_verdict.h).
constexpr const char* kWholeStage = "all";
constexpr const char* kChecksStage = "checks";
constexpr const char* kBenchmarkStage = "benchmark";
}  // namespace

// What the executor remembers of one evaluation, and writes to its folder's job.json.
struct SlurmExecutor::Evaluation {
  EvaluationRequest request;
  fs::path folder;
  std::string head;  // the commit the candidate is judged against
  struct Try {
    std::string job_id;
    double submitted_at = 0;  // Unix time, seconds: sbatch's, or Slurm's requeue of the job
    int restart = 0;          // 0: a submission; n: Slurm's n-th rerun of the same job id
  };
  std::vector<Try> tries;
  std::vector<std::string> events;  // infrastructure faults met so far
  bool waiting = true;              // not submitted (no room yet, or to be resubmitted)
  std::string state = "waiting";    // the scheduler's last word on the current try
  double ended_seen_at = 0;         // when the current try was first seen ended without files
  std::string stage = kWholeStage;  // what the current job runs
  size_t stage_first_try = 0;       // index in `tries` of the current stage's first try
  // The finished checks stage of a split evaluation: where and how long it ran.
  std::string checks_node;
  double checks_queued_seconds = 0, checks_run_seconds = 0;

  // Tries of the current stage: max_tries bounds each stage.
  int StageTries() const { return static_cast<int>(tries.size() - stage_first_try); }

  const std::string& job_id() const {
    static const std::string none;
    return tries.empty() || waiting ? none : tries.back().job_id;
  }
};

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Single-quoted for sh.
std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

std::string LastLines(const std::string& text, size_t count) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!Trimmed(line).empty()) lines.push_back(Trimmed(line));
  std::string out;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : " | ") + lines[i];
  return out;
}

std::string UserName() {
  if (const passwd* entry = getpwuid(getuid()); entry != nullptr) return entry->pw_name;
  return std::to_string(getuid());
}

bool WriteFileAtomically(const fs::path& path, const std::string& text) {
  fs::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return false;
  }
  std::error_code error;
  fs::rename(temporary, path, error);
  return !error;
}

// States in which Slurm has given up on a job for reasons of its own: the evaluation is retried.
bool IsInfrastructureEnd(const std::string& state) {
  static const std::set<std::string> states = {"CANCELLED", "PREEMPTED", "NODE_FAIL",    "TIMEOUT",
                                               "BOOT_FAIL", "DEADLINE",  "OUT_OF_MEMORY"};
  return states.count(state) > 0;
}

// The job script ran to its end (with or without a verdict).
bool IsOwnEnd(const std::string& state) {
  return state == "COMPLETED" || state == "FAILED";
}

// The exit status in the job's end line ("status time restart") when that line is the end of
// run `restart`; nullopt otherwise (no end yet, or a lost run that wrote its end after the
// requeued run started).
std::optional<int> EndStatusOfRun(const fs::path& folder, const std::string& job_id, int restart) {
  std::istringstream end(ReadFileText(folder / ("end." + job_id)));
  int status = -1, end_restart = -1;
  double ended_at = 0;
  if (!(end >> status >> ended_at >> end_restart) || end_restart != restart) return std::nullopt;
  return status;
}

// "rlvr repo=/x key=a17 try=2 run=5" -> "a17" when the repository is `repo`, else "".
std::string KeyFromComment(const std::string& comment, const std::string& repo) {
  std::string prefix = "rlvr repo=" + repo + " key=";
  if (!comment.starts_with(prefix)) return "";
  std::string rest = comment.substr(prefix.size());
  return rest.substr(0, rest.find(' '));
}

// The job script: a warm tree at the judged commit (executors/slurm_warm_tree.h), evaluate,
// leave the verdict (written whole, then renamed) and the try's start and end lines in the
// folder. `stage`: which gates this job runs (a split evaluation's checks or benchmark stage).
std::string JobScript(const fs::path& folder, const fs::path& repo, const std::string& head,
                      const fs::path& rlvr, const std::string& cache_dir,
                      const EvaluationRequest& request, const std::string& stage) {
  const EvaluationSettings& settings = request.settings;
  // No heartbeats: the log's last lines explain a failure.
  std::string flags = "--json --progress-seconds 0";
  if (!settings.sanitizers) flags += " --no-sanitizers";
  if (!settings.benchmark || stage == kChecksStage) flags += " --no-benchmark";
  if (stage == kBenchmarkStage) flags += " --benchmark-stage";
  if (settings.check_format_only) flags += " --check-format";
  if (settings.seed != 0) flags += " --seed " + std::to_string(settings.seed);
  flags += " --test-timeout " + std::to_string(settings.test_timeout_seconds);
  if (settings.bench_rounds > 0) flags += " --rounds " + std::to_string(settings.bench_rounds);
  std::ostringstream s;
  s << "#!/bin/sh\n"
    << "# rlvr evaluation " << request.key << " of target " << request.target << " (" << stage
    << "), written by rlvr's Slurm executor.\n"
    << "dir=" << ShellQuote(folder.string()) << "\n"
    << "job=${SLURM_JOB_ID:-none}\n"
    << "# One line per start: Slurm may run the same job again (a lost node, a requeue).\n"
    << "rm -f \"$dir/end.$job\"\n"
    << "echo \"${SLURMD_NODENAME:-$(hostname)} $(date +%s.%N) ${SLURM_RESTART_COUNT:-0}\" "
       ">>\"$dir/start.$job\"\n"
    << WarmTreeLines(cache_dir, repo, head, rlvr) << ShellQuote(rlvr.string())
    << " evaluate \"$dir/reply.txt\" --target " << ShellQuote(request.target) << " " << flags
    << " -C \"$tree\" >\"$dir/verdict.$job.tmp\" "
    << "2>\"$dir/evaluate.$job.err\"\n"
    << "status=$?\n"
    << "# 0 promotable, 1 rejected: both are verdicts, and the job did its work.\n"
    << "if [ $status -le 1 ] && [ -s \"$dir/verdict.$job.tmp\" ]; then\n"
    << WarmTreeSealLines() << "  mv \"$dir/verdict.$job.tmp\" \"$dir/verdict.json\" && status=0\n"
    << "fi\n"
    << "# The run's restart count: a lost run ending after its requeued successor started must\n"
    << "# not pass for the new run's end.\n"
    << "echo \"$status $(date +%s.%N) ${SLURM_RESTART_COUNT:-0}\" >\"$dir/end.$job\"\n"
    << "exit $status\n";
  return s.str();
}

}  // namespace

SlurmExecutor::SlurmExecutor(SlurmExecutorOptions options) : options_(std::move(options)) {
  if (options_.rlvr_binary.empty())
    throw ExecutorError("slurm executor: the path of rlvr on the nodes is not set");
  if (!options_.environment.count("SLURM_CONF"))
    if (const char* conf = std::getenv("SLURM_CONF"); conf != nullptr && *conf != '\0')
      options_.environment["SLURM_CONF"] = conf;
  if (options_.max_tries < 1) options_.max_tries = 1;
  if (options_.poll_seconds <= 0) options_.poll_seconds = 1;
}

SlurmExecutor::~SlurmExecutor() = default;

namespace {

ProcessResult RunScheduler(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& environment) {
  RunOptions run;
  run.env = environment;
  run.limits.wall_seconds = 120;
  // No address-space or file-size limit: sbatch would hand it on to the job, whose sanitizer runs
  // need terabytes of address space (and the job is submitted with --propagate=NONE anyway).
  run.limits.memory_bytes = 0;
  run.limits.file_size_bytes = 0;
  // A stop cancels the jobs (scancel) and looks at the queue once more: those must still run.
  run.survives_stop = true;
  return RunProcess(argv, run);
}

}  // namespace

void SlurmExecutor::Submit(const EvaluationRequest& request) {
  if (!IsValidEvaluationKey(request.key))
    throw ExecutorError("slurm executor: invalid evaluation key '" + request.key + "'");
  if (evaluations_.count(request.key) || collected_.count(request.key))
    throw ExecutorError("slurm executor: evaluation " + request.key + " is already in flight");

  auto evaluation = std::make_unique<Evaluation>();
  evaluation->request = request;
  std::error_code error;
  evaluation->request.repo = fs::weakly_canonical(fs::absolute(request.repo), error);
  if (error) throw ExecutorError("slurm executor: no repository at " + request.repo.string());
  const fs::path& repo = evaluation->request.repo;
  ProcessResult head = RunScheduler({"git", "-C", repo.string(), "rev-parse", "HEAD"}, {});
  if (!head.ok())
    throw ExecutorError("slurm executor: cannot read HEAD of " + repo.string() + ": " +
                        LastLines(head.err, 2));
  evaluation->head = Trimmed(head.out);

  evaluation->stage =
      request.settings.benchmark && options_.split_stages ? kChecksStage : kWholeStage;
  if (evaluation->stage == kChecksStage) CheckBenchmarkStageSubmits();
  evaluation->folder = EvaluationFolder(repo, request.key);
  // An earlier process's evaluation of that key, never acknowledged: its job may still write there.
  if (fs::exists(evaluation->folder / "job.json", error))
    throw ExecutorError("slurm executor: evaluation " + request.key +
                        " was submitted by an earlier process (" + evaluation->folder.string() +
                        "); Adopt it or choose another key");
  fs::create_directories(evaluation->folder, error);
  if (error)
    throw ExecutorError("slurm executor: cannot create " + evaluation->folder.string() + ": " +
                        error.message());
  // The reply redacted and owner-only (it may quote a key); the job reads it on the node.
  if (!WritePrivateFile(evaluation->folder / "reply.txt", request.reply) ||
      !WriteFileAtomically(
          evaluation->folder / "job.sh",
          JobScript(evaluation->folder, repo, evaluation->head, options_.rlvr_binary,
                    NodeCacheDir(), evaluation->request, evaluation->stage)))
    throw ExecutorError("slurm executor: cannot write into " + evaluation->folder.string());
  fs::permissions(evaluation->folder / "job.sh", fs::perms::owner_all, fs::perm_options::add,
                  error);
  Save(*evaluation);

  Evaluation& stored = *evaluations_.emplace(request.key, std::move(evaluation)).first->second;
  if (options_.max_in_flight == 0 || Submitted() < options_.max_in_flight) {
    try {
      SubmitTry(stored);
    } catch (const ExecutorError&) {
      fs::remove_all(stored.folder, error);
      evaluations_.erase(request.key);
      throw;
    }
  }
}

int SlurmExecutor::Submitted() const {
  int count = 0;
  for (const auto& [key, evaluation] : evaluations_) count += evaluation->waiting ? 0 : 1;
  return count;
}

void SlurmExecutor::CheckBenchmarkStageSubmits() {
  if (benchmark_stage_checked_) return;
  // The benchmark stage is submitted only after the checks: a partition or constraint the
  // controller refuses must be refused now, at Submit, not after minutes of checks.
  std::vector<std::string> argv = {"sbatch", "--test-only", "--exclusive", "--propagate=NONE"};
  for (const std::string& argument : BenchmarkStageArguments()) argv.push_back(argument);
  argv.insert(argv.end(), options_.sbatch_args.begin(), options_.sbatch_args.end());
  argv.insert(argv.end(), {"--wrap", "true"});
  ProcessResult result = RunScheduler(argv, options_.environment);
  if (!result.ok())
    throw ExecutorError("sbatch --test-only of the benchmark stage " + result.Describe() + ": " +
                        LastLines(result.err, 3));
  benchmark_stage_checked_ = true;
}

std::vector<std::string> SlurmExecutor::BenchmarkStageArguments() const {
  std::vector<std::string> argv;
  const std::string& partition =
      options_.bench_partition.empty() ? options_.partition : options_.bench_partition;
  if (!partition.empty()) argv.push_back("--partition=" + partition);
  if (!options_.bench_constraint.empty())
    argv.push_back("--constraint=" + options_.bench_constraint);
  return argv;
}

void SlurmExecutor::SubmitTry(Evaluation& evaluation) {
  const EvaluationRequest& request = evaluation.request;
  int attempt = static_cast<int>(evaluation.tries.size()) + 1;
  std::string comment = "rlvr repo=" + request.repo.string() + " key=" + request.key +
                        " try=" + std::to_string(attempt) + " run=" + options_.run_tag +
                        " stage=" + evaluation.stage;
  std::vector<std::string> argv = {"sbatch", "--parsable", "--job-name=rlvr-" + request.key,
                                   "--comment=" + comment,
                                   "--output=" + (evaluation.folder / "slurm-%j.out").string(),
                                   "--chdir=" + evaluation.folder.string(),
                                   // The node's resource limits, not those of the loop's shell.
                                   "--propagate=NONE"};
  bool measures = evaluation.stage == kBenchmarkStage ||
                  (evaluation.stage == kWholeStage && request.settings.benchmark);
  if (measures) {
    // The A/B benchmark needs the node to itself: nothing else runs there while HEAD and the
    // candidate are timed side by side.
    argv.push_back("--exclusive");
    for (const std::string& argument : BenchmarkStageArguments()) argv.push_back(argument);
  } else if (!options_.partition.empty()) {
    argv.push_back("--partition=" + options_.partition);
  }
  argv.insert(argv.end(), options_.sbatch_args.begin(), options_.sbatch_args.end());
  argv.push_back((evaluation.folder / "job.sh").string());
  double submitted_at = Now();
  ProcessResult result = RunScheduler(argv, options_.environment);
  std::string job_id = Trimmed(result.out.substr(0, result.out.find(';')));
  if (!result.ok() || job_id.empty() || job_id.find_first_not_of("0123456789") != std::string::npos)
    throw ExecutorError("sbatch " + result.Describe() + ": " + LastLines(result.err, 3));
  evaluation.tries.push_back({job_id, submitted_at});
  evaluation.waiting = false;
  evaluation.state = "PENDING";
  evaluation.ended_seen_at = 0;
  Save(evaluation);
}

void SlurmExecutor::Save(const Evaluation& evaluation) const {
  const EvaluationRequest& request = evaluation.request;
  nlohmann::json tries = nlohmann::json::array();
  for (const Evaluation::Try& t : evaluation.tries)
    tries.push_back(
        {{"job_id", t.job_id}, {"submitted_at", t.submitted_at}, {"restart", t.restart}});
  nlohmann::json json = {{"key", request.key},
                         {"repo", request.repo.string()},
                         {"target", request.target},
                         {"head", evaluation.head},
                         {"run_tag", options_.run_tag},
                         {"settings",
                          {{"sanitizers", request.settings.sanitizers},
                           {"benchmark", request.settings.benchmark},
                           {"check_format_only", request.settings.check_format_only},
                           {"seed", request.settings.seed},
                           {"test_timeout_seconds", request.settings.test_timeout_seconds},
                           {"bench_rounds", request.settings.bench_rounds}}},
                         {"tries", tries},
                         {"waiting", evaluation.waiting},
                         {"events", evaluation.events},
                         {"stage", evaluation.stage},
                         {"stage_first_try", evaluation.stage_first_try},
                         {"checks_node", evaluation.checks_node},
                         {"checks_queued_seconds", evaluation.checks_queued_seconds},
                         {"checks_run_seconds", evaluation.checks_run_seconds}};
  WriteFileAtomically(evaluation.folder / "job.json", json.dump(2) + "\n");
}

SlurmExecutor::Queue SlurmExecutor::LookAtQueue(bool* ok) const {
  // -t all: finished jobs too, for as long as the controller keeps them (MinJobAge).
  std::vector<std::string> argv = {"squeue", "-h", "-t", "all", "-u", UserName()};
  for (const std::string& argument : SlurmQueueFormatArguments()) argv.push_back(argument);
  std::map<std::string, std::string> environment = options_.environment;
  environment["SLURM_TIME_FORMAT"] = kSlurmTimeFormat;
  ProcessResult result = RunScheduler(argv, environment);
  *ok = result.ok();
  if (!*ok) return {};
  return ParseSlurmQueue(result.out);
}

void SlurmExecutor::SubmitWaiting(std::vector<EvaluationOutcome>& finished) {
  for (auto it = evaluations_.begin(); it != evaluations_.end();) {
    Evaluation& evaluation = *it->second;
    bool room = options_.max_in_flight == 0 || Submitted() < options_.max_in_flight;
    if (!evaluation.waiting || !room) {
      ++it;
      continue;
    }
    try {
      SubmitTry(evaluation);
      ++it;
    } catch (const ExecutorError& e) {
      EvaluationOutcome outcome = Finish(evaluation);
      outcome.error = std::string("could not resubmit the evaluation: ") + e.what();
      finished.push_back(std::move(outcome));
      it = evaluations_.erase(it);
    }
  }
}

EvaluationOutcome SlurmExecutor::Finish(Evaluation& evaluation) {
  EvaluationOutcome outcome;
  outcome.key = evaluation.request.key;
  outcome.tries = static_cast<int>(evaluation.tries.size());
  outcome.infrastructure_events = evaluation.events;
  collected_[evaluation.request.key] = evaluation.folder;
  if (evaluation.tries.empty()) return outcome;
  const Evaluation::Try& last = evaluation.tries.back();
  outcome.job_id = last.job_id;
  // The last start of the job: an earlier one was a run Slurm lost and requeued.
  std::vector<JobStart> starts =
      ParseJobStarts(ReadFileText(evaluation.folder / ("start." + last.job_id)));
  double started_at = 0;
  if (!starts.empty() && starts.back().restart >= last.restart) {
    outcome.node = starts.back().node;
    started_at = starts.back().started_at;
  }
  std::istringstream end(ReadFileText(evaluation.folder / ("end." + last.job_id)));
  int status = -1;
  double ended_at = 0;
  end >> status >> ended_at;
  if (started_at > 0) {
    outcome.queued_seconds = std::max(0.0, started_at - last.submitted_at);
    outcome.run_seconds = std::max(0.0, (ended_at > 0 ? ended_at : Now()) - started_at);
  }
  if (evaluation.stage == kBenchmarkStage) {
    // Both stages' jobs: the node list names the checks node first, the benchmark node second.
    outcome.queued_seconds += evaluation.checks_queued_seconds;
    outcome.run_seconds += evaluation.checks_run_seconds;
    if (!evaluation.checks_node.empty())
      outcome.node = evaluation.checks_node + (outcome.node.empty() ? "" : "," + outcome.node);
  }
  // A warm tree found corrupt (or that git could not check out) was rebuilt: the node's fault,
  // worth the operator's eye, though it cost no try. An unsealed one (its last job was cancelled
  // or lost) is routine and stays in the note.
  std::set<std::string> seen;
  for (const Evaluation::Try& t : evaluation.tries) {
    if (!seen.insert(t.job_id).second) continue;
    std::istringstream notes(ReadFileText(evaluation.folder / ("warm." + t.job_id)));
    for (std::string line; std::getline(notes, line);)
      if (line.find(" corrupt ") != std::string::npos ||
          line.find("checkout failed") != std::string::npos)
        outcome.infrastructure_events.push_back("job " + t.job_id + ": " + line);
  }
  return outcome;
}

void SlurmExecutor::VerdictArrived(Evaluation& evaluation,
                                   std::vector<EvaluationOutcome>& finished) {
  if (evaluation.stage == kWholeStage) {
    finished.push_back(FinishWithVerdict(evaluation));
    return;
  }
  const fs::path verdict_file = evaluation.folder / "verdict.json";
  const fs::path checks_file = evaluation.folder / "checks.json";
  if (evaluation.stage == kBenchmarkStage) {
    EvaluationOutcome outcome = FinishWithVerdict(evaluation);
    if (outcome.has_verdict) {
      try {
        outcome.verdict_json =
            StagedVerdict(nlohmann::json::parse(ReadFileText(checks_file)), outcome.verdict_json);
      } catch (const nlohmann::json::exception& e) {
        outcome.has_verdict = false;
        outcome.error = std::string("the checks stage's checks.json is not JSON: ") + e.what();
      }
    }
    finished.push_back(std::move(outcome));
    return;
  }
  // The checks stage ended with a verdict: final unless it passed, then the benchmark stage.
  EvaluationOutcome checks = FinishWithVerdict(evaluation);
  if (!checks.has_verdict || !ChecksStagePassed(checks.verdict_json)) {
    finished.push_back(std::move(checks));
    return;
  }
  collected_.erase(evaluation.request.key);  // not finished yet
  std::error_code error;
  fs::rename(verdict_file, checks_file, error);
  if (!error &&
      !WriteFileAtomically(
          evaluation.folder / "job.sh",
          JobScript(evaluation.folder, evaluation.request.repo, evaluation.head,
                    options_.rlvr_binary, NodeCacheDir(), evaluation.request, kBenchmarkStage)))
    error = std::make_error_code(std::errc::io_error);
  if (error) {
    checks.has_verdict = false;
    checks.error = "cannot start the benchmark stage in " + evaluation.folder.string() + ": " +
                   error.message();
    finished.push_back(std::move(checks));
    collected_[evaluation.request.key] = evaluation.folder;
    return;
  }
  evaluation.checks_node = checks.node;
  evaluation.checks_queued_seconds = checks.queued_seconds;
  evaluation.checks_run_seconds = checks.run_seconds;
  evaluation.stage = kBenchmarkStage;
  evaluation.stage_first_try = evaluation.tries.size();
  evaluation.waiting = true;
  evaluation.state = "waiting";
  evaluation.ended_seen_at = 0;
  Save(evaluation);
}

std::string SlurmExecutor::NodeCacheDir() const {
  if (options_.node_cache_dir == "none") return "";
  if (options_.node_cache_dir.empty()) return kDefaultNodeCacheDir;
  return ShellQuote(options_.node_cache_dir);
}

EvaluationOutcome SlurmExecutor::FinishWithVerdict(Evaluation& evaluation) {
  EvaluationOutcome outcome = Finish(evaluation);
  try {
    outcome.verdict_json = nlohmann::json::parse(ReadFileText(evaluation.folder / "verdict.json"));
    outcome.has_verdict = true;
  } catch (const nlohmann::json::exception& e) {
    outcome.error = std::string("the job's verdict.json is not JSON: ") + e.what();
  }
  return outcome;
}

void SlurmExecutor::Retry(Evaluation& evaluation, const std::string& fault,
                          std::vector<EvaluationOutcome>& finished) {
  int done = evaluation.StageTries();
  if (done < options_.max_tries) {
    evaluation.events.push_back(fault + "; resubmitted as try " + std::to_string(done + 1) +
                                " of " + std::to_string(options_.max_tries));
    evaluation.waiting = true;
    evaluation.state = "waiting";
    Save(evaluation);
    return;
  }
  evaluation.events.push_back(fault + "; no tries left");
  EvaluationOutcome outcome = Finish(evaluation);
  outcome.error = "no verdict after " + std::to_string(done) +
                  " tries on the cluster (infrastructure): " + fault;
  finished.push_back(std::move(outcome));
}

bool SlurmExecutor::NoteRestarts(Evaluation& evaluation, const SlurmQueueEntry* entry,
                                 const std::vector<JobStart>& starts, int restarts,
                                 std::vector<EvaluationOutcome>& finished) {
  const std::string job_id = evaluation.tries.back().job_id;
  std::string cause = RequeueCause(entry == nullptr ? "" : entry->reason);
  for (int restart = evaluation.tries.back().restart + 1; restart <= restarts; ++restart) {
    std::string lost_on;
    for (const JobStart& start : starts)
      if (start.restart == restart - 1 && !start.node.empty()) lost_on = " on " + start.node;
    std::string fault = fmt::format("job {} requeued by Slurm (restart {}; {}): its run{} is lost",
                                    job_id, restart, cause, lost_on);
    int done = evaluation.StageTries();
    if (done >= options_.max_tries) {
      ScancelJobs({job_id});  // it would run again beyond max_tries
      evaluation.events.push_back(fault + "; no tries left, job cancelled");
      EvaluationOutcome outcome = Finish(evaluation);
      outcome.error = "no verdict after " + std::to_string(done) +
                      " tries on the cluster (infrastructure): " + fault;
      finished.push_back(std::move(outcome));
      return false;
    }
    // The rerun's queue time runs from Slurm's requeue (its new submit time); without squeue's
    // word, from the rerun's own start if it left one (no queue time rather than a wrong one),
    // else from now.
    double requeued_at = Now();
    if (entry != nullptr && entry->restarts == restart && entry->submitted_at > 0)
      requeued_at = entry->submitted_at;
    else
      for (const JobStart& start : starts)
        if (start.restart == restart) requeued_at = std::min(requeued_at, start.started_at);
    evaluation.tries.push_back({job_id, requeued_at, restart});
    evaluation.events.push_back(fmt::format("{}; rerun as try {} of {} under the same job id",
                                            fault, done + 1, options_.max_tries));
  }
  evaluation.ended_seen_at = 0;
  Save(evaluation);
  return true;
}

void SlurmExecutor::Advance(Evaluation& evaluation, const Queue& queue,
                            std::vector<EvaluationOutcome>& finished) {
  const std::string job_id = evaluation.tries.back().job_id;
  const fs::path& folder = evaluation.folder;
  auto found = queue.find(job_id);
  const SlurmQueueEntry* entry = found == queue.end() ? nullptr : &found->second;
  std::string state = entry == nullptr ? "" : entry->state;
  if (!state.empty()) evaluation.state = state;
  std::string where = entry == nullptr || entry->node.empty() ? "" : " on " + entry->node;
  std::error_code error;
  bool has_verdict = fs::exists(folder / "verdict.json", error);
  std::vector<JobStart> starts = ParseJobStarts(ReadFileText(folder / ("start." + job_id)));

  // Slurm's own restarts of the job (a lost node, a requeue), from squeue and the start lines.
  int restarts = std::max(entry == nullptr ? 0 : entry->restarts, RestartsOfStarts(starts));
  if (restarts > evaluation.tries.back().restart) {
    if (has_verdict && RestartsOfStarts(starts) < restarts) {
      // A run wrote its verdict, then Slurm requeued the job: the verdict stands, no rerun.
      ScancelJobs({job_id});
      evaluation.events.push_back(fmt::format(
          "job {} requeued by Slurm (restart {}; {}) after its verdict was written: the verdict "
          "is kept and the job cancelled",
          job_id, restarts, RequeueCause(entry == nullptr ? "" : entry->reason)));
      VerdictArrived(evaluation, finished);
      return;
    }
    NoteRestarts(evaluation, entry, starts, restarts, finished);
    return;  // the job is waited for again (or given up): the next look goes on
  }
  Evaluation::Try& current = evaluation.tries.back();
  if (entry != nullptr && current.restart > 0 && entry->restarts == current.restart &&
      entry->submitted_at > 0 && entry->submitted_at != current.submitted_at) {
    // Slurm's requeue time is known only now (the restart was seen in the start lines first).
    current.submitted_at = entry->submitted_at;
    Save(evaluation);
  }
  if (entry != nullptr && current.restart > 0 && state == "PENDING" &&
      IsHeldAfterRequeue(entry->reason)) {
    // Slurm requeued it held (a failed prolog, `scontrol requeuehold`): it would wait for ever.
    ScancelJobs({job_id});
    Retry(evaluation,
          fmt::format("job {} held by Slurm after its requeue ({}), cancelled", job_id,
                      entry->reason),
          finished);
    return;
  }
  // An end line counts only once the current run started: before, it is a lost run's.
  bool current_run_started = !starts.empty() && starts.back().restart >= current.restart;
  const std::optional<int> end_status =
      current_run_started ? EndStatusOfRun(folder, job_id, starts.back().restart) : std::nullopt;
  const bool script_ended = end_status.has_value();

  if (has_verdict &&
      (script_ended || state.empty() || IsOwnEnd(state) || IsInfrastructureEnd(state))) {
    VerdictArrived(evaluation, finished);
    return;
  }
  if (IsInfrastructureEnd(state)) {
    // Cancelled for good first: a job Slurm would requeue itself must not run beside the new try.
    ScancelJobs({job_id});
    Retry(evaluation, "job " + job_id + " " + state + where + " (not by rlvr)", finished);
    return;
  }
  if (script_ended && *end_status >= 128) {
    // rlvr evaluate stopped by a signal (a cancel or preemption whose CANCELLED state squeue does
    // not show yet): the cluster's doing, never the candidate's.
    Retry(evaluation,
          "job " + job_id + " CANCELLED or preempted" + where + " (its evaluation stopped by " +
              "signal " + std::to_string(*end_status - 128) + ", not by rlvr)",
          finished);
    return;
  }
  if (script_ended || IsOwnEnd(state)) {
    // The script's own end without a verdict; give a shared filesystem a moment to show files.
    // A run that started and left no end line yet is most likely still going: Slurm's record
    // may show the lost run's end for a while after a requeue (seen: FAILED while the requeued
    // run was starting). Only a long silence means the script died without its end line.
    if (!script_ended && evaluation.ended_seen_at == 0) evaluation.ended_seen_at = Now();
    // A rerun not started yet: Slurm's record may still be the lost run's end, so wait longer.
    const double grace = current_run_started ? 60 : current.restart > 0 ? 15 : 5;
    if (!script_ended && Now() - evaluation.ended_seen_at < grace) return;
    if (!current_run_started) {
      // Slurm ended the job before its script's first line ran (seen: "Job credential revoked"
      // when a requeued job starts again within the second of its requeue): nothing of the
      // candidate ran, so it is a try lost to the cluster. Any log there is a lost run's. (No end
      // line before the start, so `state` is Slurm's own end here.)
      // Cancelled for good first, in case Slurm's record was a lost run's and it runs again.
      ScancelJobs({job_id});
      Retry(evaluation,
            fmt::format("job {} ended {}{} before its script started{} (Slurm could not launch "
                        "it, not by rlvr)",
                        job_id, state, where,
                        current.restart > 0 ? fmt::format(" for restart {}", current.restart)
                                            : std::string()),
            finished);
      return;
    }
    EvaluationOutcome outcome = Finish(evaluation);
    std::string log = ReadFileText(folder / ("evaluate." + job_id + ".err"));
    if (log.empty()) log = ReadFileText(folder / ("slurm-" + job_id + ".out"));
    outcome.error =
        "the evaluation job " + job_id + where + " ended without a verdict: " + LastLines(log, 4);
    finished.push_back(std::move(outcome));
    return;
  }
  if (state.empty()) {
    Retry(evaluation, "job " + job_id + " vanished from the queue without a verdict", finished);
    return;
  }
  if (state == "PENDING" && options_.max_queue_seconds > 0 &&
      Now() - evaluation.tries.back().submitted_at > options_.max_queue_seconds) {
    ScancelJobs({job_id});
    Retry(evaluation,
          "job " + job_id + " waited in the queue for more than " +
              std::to_string(static_cast<int>(options_.max_queue_seconds)) + " s",
          finished);
  }
}

std::vector<EvaluationOutcome> SlurmExecutor::Collect(double timeout_seconds) {
  std::vector<EvaluationOutcome> finished;
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  Clock::time_point start = Clock::now();
  while (true) {
    SubmitWaiting(finished);
    bool queue_ok = false;
    Queue queue = LookAtQueue(&queue_ok);
    for (auto it = evaluations_.begin(); it != evaluations_.end();) {
      Evaluation& evaluation = *it->second;
      size_t before = finished.size();
      // Without an answer from the controller only files can tell (a verdict that is there).
      if (!evaluation.waiting && (queue_ok || fs::exists(evaluation.folder / "verdict.json")))
        Advance(evaluation, queue_ok ? queue : Queue{}, finished);
      it = finished.size() > before ? evaluations_.erase(it) : std::next(it);
    }
    SubmitWaiting(finished);
    if (!finished.empty() || evaluations_.empty() || StopRequested() ||
        seconds_since(start) >= timeout_seconds)
      return finished;
    // Sleep in short slices, so a stop signal is answered at once.
    Clock::time_point nap = Clock::now();
    while (seconds_since(nap) < options_.poll_seconds && seconds_since(start) < timeout_seconds &&
           !StopRequested())
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void SlurmExecutor::Acknowledge(const std::string& key) {
  auto it = collected_.find(key);
  if (it == collected_.end()) return;
  std::error_code ignored;
  fs::remove_all(it->second, ignored);
  collected_.erase(it);
}

bool SlurmExecutor::ScancelJobs(const std::vector<std::string>& job_ids) const {
  if (job_ids.empty()) return true;
  std::vector<std::string> argv = {"scancel"};
  argv.insert(argv.end(), job_ids.begin(), job_ids.end());
  return RunScheduler(argv, options_.environment).ok();
}

void SlurmExecutor::Cancel(const std::string& key) {
  auto it = evaluations_.find(key);
  if (it == evaluations_.end()) return;
  ScancelJobs({it->second->job_id()});
  std::error_code ignored;
  fs::remove_all(it->second->folder, ignored);
  evaluations_.erase(it);
}

void SlurmExecutor::CancelAll() {
  std::vector<std::string> job_ids;
  for (const auto& [key, evaluation] : evaluations_)
    if (!evaluation->job_id().empty()) job_ids.push_back(evaluation->job_id());
  ScancelJobs(job_ids);
  std::error_code ignored;
  for (const auto& [key, evaluation] : evaluations_) fs::remove_all(evaluation->folder, ignored);
  evaluations_.clear();
}

std::vector<InFlightEvaluation> SlurmExecutor::InFlight() const {
  std::vector<InFlightEvaluation> in_flight;
  for (const auto& [key, evaluation] : evaluations_)
    in_flight.push_back(
        {key, evaluation->job_id(), evaluation->state, static_cast<int>(evaluation->tries.size())});
  return in_flight;
}

std::vector<std::string> SlurmExecutor::Adopt(const fs::path& repo_path) {
  std::error_code error;
  fs::path repo = fs::weakly_canonical(fs::absolute(repo_path), error);
  std::vector<std::string> adopted;
  fs::path jobs = repo / ".rlvr" / "jobs";
  for (const fs::directory_entry& entry : fs::directory_iterator(jobs, error)) {
    std::string key = entry.path().filename().string();
    if (!IsValidEvaluationKey(key) || evaluations_.count(key) || collected_.count(key)) continue;
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(ReadFileText(entry.path() / "job.json"));
    } catch (const nlohmann::json::exception&) {
      continue;  // not one of ours (a local evaluation's folder), or written by nobody
    }
    auto evaluation = std::make_unique<Evaluation>();
    EvaluationRequest& request = evaluation->request;
    request.key = key;
    request.repo = repo;
    request.target = json.value("target", "");
    request.reply = ReadFileText(entry.path() / "reply.txt");
    const nlohmann::json& settings = json.value("settings", nlohmann::json::object());
    request.settings.sanitizers = settings.value("sanitizers", true);
    request.settings.benchmark = settings.value("benchmark", false);
    request.settings.check_format_only = settings.value("check_format_only", false);
    request.settings.seed = settings.value("seed", uint64_t{0});
    request.settings.test_timeout_seconds = settings.value("test_timeout_seconds", 120.0);
    request.settings.bench_rounds = settings.value("bench_rounds", 0);
    evaluation->folder = entry.path();
    evaluation->head = json.value("head", "");
    for (const nlohmann::json& t : json.value("tries", nlohmann::json::array())) {
      std::string job_id = t.value("job_id", "");
      // job.json of an older rlvr has no restart numbers: its reruns repeat the job id.
      int restart = static_cast<int>(
          std::count_if(evaluation->tries.begin(), evaluation->tries.end(),
                        [&](const Evaluation::Try& earlier) { return earlier.job_id == job_id; }));
      evaluation->tries.push_back(
          {job_id, t.value("submitted_at", 0.0), t.value("restart", restart)});
    }
    for (const nlohmann::json& e : json.value("events", nlohmann::json::array()))
      evaluation->events.push_back(e.get<std::string>());
    evaluation->stage = json.value("stage", std::string(kWholeStage));
    evaluation->stage_first_try =
        std::min(json.value("stage_first_try", size_t{0}), evaluation->tries.size());
    evaluation->checks_node = json.value("checks_node", "");
    evaluation->checks_queued_seconds = json.value("checks_queued_seconds", 0.0);
    evaluation->checks_run_seconds = json.value("checks_run_seconds", 0.0);
    evaluation->waiting = json.value("waiting", true) || evaluation->tries.empty();
    evaluation->state = evaluation->waiting ? "waiting" : "adopted";
    evaluations_.emplace(key, std::move(evaluation));
    adopted.push_back(key);
  }

  // Jobs of this repository that no evaluation owns (a process killed between sbatch and
  // job.json, or after the folder was acknowledged): take the newest try, cancel the rest.
  bool queue_ok = false;
  Queue queue = LookAtQueue(&queue_ok);
  std::vector<std::string> orphans;
  for (const auto& [job_id, job] : queue) {
    if (job.state != "PENDING" && job.state != "RUNNING" && job.state != "CONFIGURING" &&
        job.state != "REQUEUED" && job.state != "SUSPENDED")
      continue;
    std::string key = KeyFromComment(job.comment, repo.string());
    if (key.empty()) continue;
    auto it = evaluations_.find(key);
    if (it == evaluations_.end()) {
      orphans.push_back(job_id);
      continue;
    }
    Evaluation& evaluation = *it->second;
    bool known = std::any_of(evaluation.tries.begin(), evaluation.tries.end(),
                             [&](const Evaluation::Try& t) { return t.job_id == job_id; });
    if (known && job_id == evaluation.tries.back().job_id) continue;
    if (!known && evaluation.waiting) {
      evaluation.tries.push_back({job_id, Now()});
      evaluation.waiting = false;
      evaluation.state = job.state;
      Save(evaluation);
      continue;
    }
    orphans.push_back(job_id);  // an older try, or a duplicate of a live one
  }
  ScancelJobs(orphans);
  return adopted;
}

}  // namespace rlvr
