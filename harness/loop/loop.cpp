#include "harness/loop/loop.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "harness/base/signals.h"
#include "harness/git/head_files.h"
#include "harness/git/worktree.h"
#include "harness/loop/prompt.h"
#include "harness/loop/reconcile.h"
#include "harness/verify/gates/gate.h"
#include "harness/verify/verdict.h"

namespace rlvr {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Wall-clock time of day (UTC) for the attempt lines.
std::string ClockNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string GatesJson(const Verdict& v) {
  json gates = json::array();
  for (const GateResult& g : v.gates) {
    json entry = SummaryJson(g);
    if (!g.detail.empty()) entry["detail"] = g.detail.substr(0, 4000);
    gates.push_back(std::move(entry));
  }
  return gates.dump();
}

std::string FiguresJson(const Verdict& v) {
  if (v.figures.empty()) return "";
  json benchmarks = json::array();
  for (const BenchmarkFigure& f : v.figures) benchmarks.push_back(SummaryJson(f));
  return json{{"metric", v.metric}, {"benchmarks", benchmarks}}.dump();
}

// What the model is told when its candidate failed: the gate's message and detail.
std::string FailureText(const Verdict& v) {
  const GateResult* gate = v.FindGate(v.failed_gate);
  std::string text = v.message;
  if (gate) {
    if (!gate->message.empty() && gate->message != text) text += "\n" + gate->message;
    if (!gate->detail.empty()) text += "\n" + gate->detail;
  }
  return text;
}

// A repair turn helps when the candidate itself is wrong, not when it is merely not faster.
bool Repairable(const Verdict& v) {
  return !v.promotable && !v.failed_gate.empty() && v.failed_gate != "benchmark";
}

// The files `globs` match in the working tree (sorted, repository-relative): new files the user
// has not committed yet are among them.
std::vector<std::string> WorkingTreeMatches(const Project& project,
                                            const std::vector<std::string>& globs) {
  std::set<std::string> files;
  for (const std::string& glob : globs) {
    if (glob.find_first_of("*?") == std::string::npos) {
      if (std::filesystem::is_regular_file(project.root / glob)) files.insert(glob);
      continue;
    }
    for (auto it = std::filesystem::recursive_directory_iterator(project.root);
         it != std::filesystem::recursive_directory_iterator(); ++it) {
      std::string name = it->path().filename().string();
      if (it->is_directory() && (name == ".git" || name == ".rlvr" || name == "build")) {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file()) continue;
      std::string rel = std::filesystem::relative(it->path(), project.root).generic_string();
      if (GlobMatches(glob, rel)) files.insert(rel);
    }
  }
  return {files.begin(), files.end()};
}

class LoopRunner {
 public:
  LoopRunner(const Project& project, Evaluator& evaluator, LlmSource& llm, Ledger& ledger,
             const LoopSettings& settings, std::ostream& out)
      : project_(project),
        evaluator_(evaluator),
        llm_(llm),
        ledger_(ledger),
        settings_(settings),
        out_(out),
        start_(Clock::now()) {}

  LoopResult Run(const json& settings_json) {
    std::vector<const Target*> targets;
    for (const std::string& name : settings_.targets) targets.push_back(&project_.GetTarget(name));
    if (targets.empty()) {
      for (const Target& t : project_.targets) targets.push_back(&t);
    }
    if (targets.empty()) throw ConfigError("rlvr.json has no targets");
    announced_signals_ = StopRequestCount();
    std::atomic<bool> done{false};
    std::thread watcher([&] { WatchStopSignals(done); });
    struct JoinWatcher {
      std::atomic<bool>& done;
      std::thread& thread;
      ~JoinWatcher() {
        done = true;
        thread.join();
      }
    } join_watcher{done, watcher};
    run_id_ = ledger_.BeginRun(llm_.model(), llm_.endpoint(), settings_json.dump(), getpid());
    Print(fmt::format("rlvr iterate: run {} with {} at {} on {} target(s)", run_id_, llm_.model(),
                      llm_.endpoint(), targets.size()));
    try {
      // Verdicts of evaluations a killed loop left on the cluster are recorded before anything new.
      if (settings_.executor) RecoverAdopted();
      WarnAboutUncommittedEdits(targets);
      while (!stop_reason_) {
        for (const Target* target : targets) {
          if (CheckBudgets()) break;
          WarnAboutUncommittedEdits({target});
          // A round is one usable reply judged: rounds where the model could not be used count
          // against --max-endpoint-failures only, not the iteration budget.
          if (settings_.executor ? RunRoundOnExecutor(*target) : RunRound(*target))
            ++result_.rounds;
          if (settings_.max_iterations > 0 && result_.rounds >= settings_.max_iterations &&
              !stop_reason_) {
            stop_reason_ = "max-iterations";
          }
          if (stop_reason_) break;
        }
      }
    } catch (const std::exception& e) {
      // The harness itself failed: close the run with the reason if the ledger still takes
      // writes (a storage fault may be the failure), then let the caller report it.
      try {
        ledger_.FinishRun(run_id_, std::string("harness error: ") + e.what());
      } catch (const std::exception&) {
      }
      throw;
    }
    result_.stop_reason = *stop_reason_;
    ledger_.FinishRun(run_id_, result_.stop_reason);
    Print(
        fmt::format("rlvr iterate: stopped ({}) after {} round(s), {} attempt(s), {} promotion(s)",
                    result_.stop_reason, result_.rounds, result_.attempts, result_.promotions));
    return result_;
  }

 private:
  // What the loop is doing, for the stop notices.
  enum class Phase { kIdle, kAsking, kEvaluating, kEvaluatingJobs, kPromoting };

  // Sets the phase for its lifetime (back to idle after).
  class ActivityScope {
   public:
    ActivityScope(LoopRunner* runner, Phase phase, std::string what) : runner_(runner) {
      std::lock_guard<std::mutex> lock(runner_->activity_mu_);
      runner_->phase_ = phase;
      runner_->activity_ = std::move(what);
    }
    ~ActivityScope() {
      std::lock_guard<std::mutex> lock(runner_->activity_mu_);
      runner_->phase_ = Phase::kIdle;
      runner_->activity_.clear();
    }
    ActivityScope(const ActivityScope&) = delete;
    ActivityScope& operator=(const ActivityScope&) = delete;

   private:
    LoopRunner* runner_;
  };

  // What the loop does about the `count`-th stop signal, given what it is doing: said at once,
  // whatever the main thread is blocked on.
  std::string StopNotice(int count) {
    std::lock_guard<std::mutex> lock(activity_mu_);
    const std::string& what = activity_;
    if (count == 1) {
      switch (phase_) {
        case Phase::kAsking:
          return fmt::format(
              "rlvr iterate: stop requested: abandoning the model request for {} now (no reply "
              "has arrived, nothing is lost), then stopping",
              what);
        case Phase::kEvaluating:
          return fmt::format(
              "rlvr iterate: stop requested: finishing the evaluation of {} first, then stopping "
              "({}); Ctrl-C again (or a second SIGTERM) abandons it now",
              what, settings_.evaluation_limits);
        case Phase::kEvaluatingJobs:
          return fmt::format(
              "rlvr iterate: stop requested: cancelling the {} evaluations of {} now, then "
              "stopping (replies not judged yet stay in the ledger as not judged)",
              settings_.executor ? settings_.executor->name() : std::string("executor"), what);
        case Phase::kPromoting:
          return fmt::format(
              "rlvr iterate: stop requested: finishing the promotion of {} (one git commit, "
              "seconds), then stopping",
              what);
        case Phase::kIdle:
          break;
      }
      return "rlvr iterate: stop requested: stopping before the next step";
    }
    if (count == 2) {
      switch (phase_) {
        case Phase::kEvaluating:
          return fmt::format(
              "rlvr iterate: second stop signal: abandoning the evaluation of {} now (its builds "
              "and tests are killed; the attempt is recorded as abandoned)",
              what);
        case Phase::kPromoting:
          return fmt::format(
              "rlvr iterate: second stop signal: the promotion of {} is one git commit and "
              "finishes in seconds, then the loop stops",
              what);
        default:
          return "rlvr iterate: second stop signal: stopping now";
      }
    }
    return "";
  }

  // Prints a notice for each stop signal not yet announced. Called by the watcher thread, and by
  // the main thread before it leaves a step a signal cut short, so the notice names that step.
  void AnnounceStopSignals() {
    std::lock_guard<std::mutex> lock(announce_mu_);
    for (int count = StopRequestCount(); announced_signals_ < count; ++announced_signals_) {
      std::string notice = StopNotice(announced_signals_ + 1);
      if (!notice.empty()) Print(notice);
    }
  }

  // Announces each stop signal as it arrives (polled every 50 ms) until `done`.
  void WatchStopSignals(const std::atomic<bool>& done) {
    while (!done.load()) {
      AnnounceStopSignals();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // One line to the terminal, whole (the stop notices come from another thread).
  void Print(const std::string& line) {
    std::lock_guard<std::mutex> lock(out_mu_);
    out_ << line << "\n" << std::flush;
  }

  // Sets stop_reason_ when a budget is spent or a stop was requested; true if so.
  bool CheckBudgets() {
    if (stop_reason_) return true;
    if (AbandonRequested()) {
      stop_reason_ = "abandoned (second stop signal)";
    } else if (StopRequested()) {
      stop_reason_ = "stop signal";
    } else if (settings_.max_hours > 0 && SecondsSince(start_) >= settings_.max_hours * 3600) {
      stop_reason_ = "max-hours";
    } else if (settings_.max_tokens > 0 && tokens_used_ >= settings_.max_tokens) {
      stop_reason_ = "max-tokens";
    }
    return stop_reason_.has_value();
  }

  // The prompt shows what the candidate will be applied to: the files as committed at HEAD (the
  // evaluator patches HEAD in a scratch worktree), never the user's uncommitted edits.
  PromptInput MakePromptInput(const Target& target) {
    HeadFiles head(project_.root);
    prompt_commit_ = head.commit();  // candidates are applied to exactly what the prompt shows
    PromptInput in;
    in.target = target.name;
    in.description = target.description;
    in.primary = target.primary;
    in.max_chars = settings_.prompt_max_chars;
    for (const std::string& path : head.Matching(target.editable)) {
      in.editable.push_back({path, head.Text(path).value_or("")});
    }
    for (const std::string& path : target.context) {
      if (std::optional<std::string> text = head.Text(path)) in.context.push_back({path, *text});
    }
    if (std::optional<std::string> baseline = head.Text("baselines/" + target.name + ".json")) {
      in.baseline = json::parse(*baseline, nullptr, false);
      if (in.baseline.is_discarded()) in.baseline = nullptr;
    }
    in.history = ledger_.RecentAttempts(target.name, settings_.history_attempts);
    // What the model is told comes from the repository and rlvr.json, not from our own kernels.
    std::vector<std::string> editable_paths;
    for (const PromptFile& file : in.editable) editable_paths.push_back(file.path);
    in.language = LanguageOf(editable_paths);
    for (const Gate* gate : VerifierGates()) {
      std::string line = std::string(gate->name) + ": " + gate->checks;
      if (std::string_view(gate->name) == "history" && target.history_tests.empty())
        line += " (not configured for this target)";
      if (std::string_view(gate->name) == "allocations" && target.alloc_tests.empty())
        line += " (no allocation tests configured; benchmark loop counts where reported)";
      in.checks.push_back(std::move(line));
    }
    in.naming = NamingRule(in.language, target.symbols.namespace_name, target.symbols.prefix);
    in.formatting = head.Text(".clang-format")
                        ? "the changed lines must follow the repository's .clang-format"
                        : "the repository has no .clang-format: keep the file's existing style";
    return in;
  }

  // Says which of the targets' files have uncommitted edits, each once until it is clean again:
  // the model never sees those edits and its patches do not include them.
  void WarnAboutUncommittedEdits(const std::vector<const Target*>& targets) {
    HeadFiles head(project_.root);
    std::set<std::string> paths;
    for (const Target* target : targets) {
      for (const std::string& path : head.Matching(target->editable)) paths.insert(path);
      for (const std::string& path : WorkingTreeMatches(project_, target->editable))
        paths.insert(path);
      paths.insert(target->context.begin(), target->context.end());
    }
    std::vector<std::string> dirty = DirtyPaths(project_.root, {paths.begin(), paths.end()});
    for (const std::string& path : paths) {
      if (std::find(dirty.begin(), dirty.end(), path) == dirty.end()) reported_dirty_.erase(path);
    }
    std::string fresh;
    for (const std::string& path : dirty) {
      if (reported_dirty_.insert(path).second) fresh += (fresh.empty() ? "" : ", ") + path;
    }
    if (fresh.empty()) return;
    Print(fmt::format(
        "rlvr iterate: uncommitted edits in {} are ignored: the model is shown, and its patches "
        "are applied to, the committed version at HEAD ({}); a candidate changing such a file "
        "is not promoted while they stay uncommitted: commit or stash them",
        fresh, head.commit().substr(0, 12)));
  }

  // Asks the model; on failure records an 'llm' error attempt and updates the failure count.
  std::optional<LlmResponse> Ask(const Target& target, int round, int candidate, int repair,
                                 const std::vector<ChatMessage>& messages, int n) {
    Clock::time_point start = Clock::now();
    ActivityScope activity(this, Phase::kAsking,
                           fmt::format("{} {}.{}{}", target.name, round, candidate,
                                       repair > 0 ? fmt::format(".{}", repair) : std::string()));
    try {
      LlmResponse response = llm_.Complete(target.name, messages, n);
      consecutive_failures_ = 0;
      tokens_used_ += response.prompt_tokens + response.completion_tokens;
      last_call_seconds_ = SecondsSince(start);
      return response;
    } catch (const LlmError& e) {
      // The notice of the signal that cut the request short names the request.
      if (e.cancelled()) AnnounceStopSignals();
      if (e.exhausted()) {
        // A replay that has given all its replies ends the run normally; nothing to record.
        stop_reason_ = "replay exhausted";
        return std::nullopt;
      }
      AttemptRecord a = NewAttempt(target, round, candidate, repair, messages);
      a.verdict = "error";
      a.failed_gate = "llm";
      a.message = e.what();
      a.seconds = SecondsSince(start);
      Record(a);
      if (e.cancelled()) {
        // Our own stop request, not the endpoint's fault: no failure counted.
        CheckBudgets();
        if (!stop_reason_) stop_reason_ = "stop signal";
        return std::nullopt;
      }
      ++consecutive_failures_;
      if (e.permanent()) {
        stop_reason_ = std::string("endpoint error: ") + e.what();
        result_.model_unusable = true;
      } else if (consecutive_failures_ >= settings_.max_endpoint_failures) {
        stop_reason_ = fmt::format("{} consecutive endpoint failures", consecutive_failures_);
        result_.model_unusable = true;
      }
      return std::nullopt;
    }
  }

  AttemptRecord NewAttempt(const Target& target, int round, int candidate, int repair,
                           const std::vector<ChatMessage>& messages) {
    AttemptRecord a;
    a.run_id = run_id_;
    a.target = target.name;
    a.model = llm_.model();
    a.round = round;
    a.candidate = candidate;
    a.repair = repair;
    a.prompt = FlattenConversation(messages);
    return a;
  }

  int64_t Record(AttemptRecord& a) {
    a.id = ledger_.AddAttempt(a);
    ++result_.attempts;
    Print(AttemptLine(a));
    return a.id;
  }

  // Writes a reply to the ledger before it is judged, so a loop killed mid-evaluation (or stopped
  // before reaching it) loses nothing the model was paid for. The row stands as an error saying
  // so until Judged replaces its outcome. Returns its id.
  int64_t RecordUnjudged(const Target& target, int round, int candidate, int repair,
                         const std::vector<ChatMessage>& messages, const std::string& reply,
                         int64_t prompt_tokens, int64_t completion_tokens, double llm_seconds) {
    AttemptRecord a = NewAttempt(target, round, candidate, repair, messages);
    a.reply = reply;
    a.verdict = "error";
    a.message = "not judged: the loop stopped or was killed before this reply was evaluated";
    a.prompt_tokens = prompt_tokens;
    a.completion_tokens = completion_tokens;
    a.seconds = llm_seconds;
    a.id = ledger_.AddAttempt(a);
    // A row of the ledger is an attempt of the run, judged or not.
    ++result_.attempts;
    unjudged_[a.id] = a;
    return a.id;
  }

  // The verdict of a reply recorded by RecordUnjudged (a.id): stored and printed.
  void Judged(const AttemptRecord& a) {
    ledger_.UpdateAttempt(a);
    unjudged_.erase(a.id);
    Print(AttemptLine(a));
  }

  // Replies of the round that will not be judged because the loop is stopping: their rows say
  // why, and so does the terminal.
  void ReportUnjudged() {
    for (auto& [id, a] : unjudged_) {
      a.message = fmt::format("not judged: the loop stopped ({}) before this reply was evaluated",
                              stop_reason_.value_or("unknown reason"));
      ledger_.UpdateAttempt(a);
      Print(AttemptLine(a));
    }
    unjudged_.clear();
  }

  // Evaluates on a worker thread so a second stop signal can abandon it: the evaluator's child
  // process groups are killed, its gates fail fast, and the attempt is recorded as abandoned.
  Verdict EvaluateAbandonable(const Target& target, const std::string& reply, bool* abandoned,
                              const std::string& what) {
    ActivityScope activity(this, Phase::kEvaluating, what);
    auto future = std::async(std::launch::async,
                             [&] { return evaluator_.Evaluate(target, reply, prompt_commit_); });
    *abandoned = false;
    while (future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      if (AbandonRequested()) {
        *abandoned = true;
        KillChildProcessGroups();
      }
    }
    AnnounceStopSignals();
    return future.get();
  }

  // ---- Rounds judged by an executor (settings_.executor): every reply at once, in parallel ----

  // One evaluation handed to the executor and not yet recorded.
  struct Submitted {
    const Target* target = nullptr;
    AttemptRecord attempt;  // the row as recorded before judgement (id, conversation, reply)
    std::vector<ChatMessage> conversation;
    double llm_seconds = 0;
    Clock::time_point submitted_at;
  };

  // A candidate that passed every gate, waiting for the round's single promotion.
  struct PassingCandidate {
    const Target* target = nullptr;
    Verdict verdict;
    AttemptRecord attempt;
  };

  void SubmitEvaluation(const Target& target, const AttemptRecord& attempt,
                        std::vector<ChatMessage> conversation, double llm_seconds) {
    EvaluationRequest request;
    request.key = EvaluationKey(attempt.id);
    request.repo = project_.root;
    request.target = target.name;
    request.reply = attempt.reply;
    request.settings = settings_.evaluation;
    settings_.executor->Submit(request);
    submitted_[request.key] = {&target, attempt, std::move(conversation), llm_seconds,
                               Clock::now()};
  }

  // Writes an executor's outcome into the attempt's row and prints it: the verdict, or 'error'
  // when the infrastructure gave none (never 'failed': the candidate was not judged); where and
  // how it ran, and the infrastructure faults met on the way. Sets *verdict when there is one.
  AttemptRecord RecordOutcome(AttemptRecord a, const EvaluationOutcome& outcome, double seconds,
                              std::optional<Verdict>* verdict) {
    a.job_id = outcome.job_id;
    a.node = outcome.node;
    a.queued_seconds = outcome.queued_seconds;
    a.run_seconds = outcome.run_seconds;
    a.tries = outcome.tries;
    a.infrastructure_events.clear();
    for (const std::string& event : outcome.infrastructure_events)
      a.infrastructure_events += (a.infrastructure_events.empty() ? "" : "\n") + event;
    a.seconds = seconds;
    if (!outcome.has_verdict) {
      a.verdict = "error";
      a.failed_gate.reset();
      a.message = "not judged (infrastructure, not the candidate): " + outcome.error;
    } else {
      Verdict v = outcome.verdict();
      a.patch = v.patch;
      a.gates_json = GatesJson(v);
      a.figures_json = FiguresJson(v);
      if (v.primary_ratio > 0) a.primary_ratio = v.primary_ratio;
      a.verdict = v.promotable ? "passed" : "failed";
      if (!v.failed_gate.empty()) a.failed_gate = v.failed_gate;
      a.message = VerdictReason(v);
      *verdict = std::move(v);
    }
    ledger_.UpdateAttempt(a);
    unjudged_.erase(a.id);
    std::string where = fmt::format("  [job {} on {}, queued {:.1f}s, ran {:.1f}s", outcome.job_id,
                                    outcome.node.empty() ? "?" : outcome.node,
                                    outcome.queued_seconds, outcome.run_seconds);
    if (outcome.tries > 1) where += fmt::format(", try {}", outcome.tries);
    if (!outcome.infrastructure_events.empty())
      where += fmt::format(", {} infrastructure event(s): {}", outcome.infrastructure_events.size(),
                           outcome.infrastructure_events.back());
    Print(AttemptLine(a) + where + "]");
    return a;
  }

  // Cancels every evaluation in flight (a stop signal): says which, so nobody wonders about jobs.
  void CancelInFlight() {
    Executor& executor = *settings_.executor;
    std::vector<InFlightEvaluation> left = executor.InFlight();
    std::string which;
    for (const InFlightEvaluation& e : left) {
      which += (which.empty() ? "" : ", ") + e.key;
      if (!e.job_id.empty()) which += " (job " + e.job_id + ")";
    }
    executor.CancelAll();
    submitted_.clear();
    if (!left.empty())
      Print(fmt::format("rlvr iterate: cancelled {} {} evaluation(s) in flight: {}", left.size(),
                        executor.name(), which));
    CheckBudgets();
    if (!stop_reason_) stop_reason_ = "stop signal";
  }

  // Collects the submitted evaluations until none is in flight, recording each as it comes back
  // (then acknowledging it: a restarted loop would get it again otherwise). Failed candidates get
  // their repair turn, submitted at once, when `repairs`. A stop signal cancels what is left.
  void CollectSubmitted(const std::string& what, bool repairs,
                        std::vector<PassingCandidate>* passing) {
    Executor& executor = *settings_.executor;
    // The whole collection is one phase for the stop notices (a repair request, which has its
    // own, sets it again after).
    struct CollectingPhase {
      LoopRunner* runner;
      std::string what;
      void Set() {
        std::lock_guard<std::mutex> lock(runner->activity_mu_);
        runner->phase_ = Phase::kEvaluatingJobs;
        runner->activity_ = what;
      }
      ~CollectingPhase() {
        std::lock_guard<std::mutex> lock(runner->activity_mu_);
        runner->phase_ = Phase::kIdle;
        runner->activity_.clear();
      }
    } phase{this, what};
    phase.Set();
    while (!executor.InFlight().empty()) {
      if (StopRequested()) {
        AnnounceStopSignals();
        CancelInFlight();
        return;
      }
      std::vector<EvaluationOutcome> outcomes = executor.Collect(1.0);
      for (EvaluationOutcome& outcome : outcomes) {
        auto it = submitted_.find(outcome.key);
        if (it == submitted_.end()) {
          executor.Acknowledge(outcome.key);
          continue;
        }
        Submitted s = std::move(it->second);
        submitted_.erase(it);
        std::optional<Verdict> verdict;
        AttemptRecord a = RecordOutcome(s.attempt, outcome,
                                        s.llm_seconds + SecondsSince(s.submitted_at), &verdict);
        executor.Acknowledge(outcome.key);
        if (!verdict) continue;
        if (verdict->promotable) {
          passing->push_back({s.target, std::move(*verdict), a});
          continue;
        }
        if (!repairs || !Repairable(*verdict) || a.repair >= settings_.max_repairs ||
            CheckBudgets())
          continue;
        // Repair turn: same conversation, the model sees its reply and the exact error.
        std::vector<ChatMessage> conversation = s.conversation;
        conversation.push_back({"assistant", a.reply});
        conversation.push_back(
            {"user", RepairRequest(verdict->failed_gate, FailureText(*verdict))});
        std::optional<LlmResponse> fixed =
            Ask(*s.target, a.round, a.candidate, a.repair + 1, conversation, 1);
        phase.Set();
        if (!fixed) continue;
        int64_t id = RecordUnjudged(*s.target, a.round, a.candidate, a.repair + 1, conversation,
                                    fixed->replies.front(), fixed->prompt_tokens,
                                    fixed->completion_tokens, last_call_seconds_);
        SubmitEvaluation(*s.target, unjudged_[id], conversation, last_call_seconds_);
      }
    }
  }

  // Promotes at most one of `passing` (one target): the fastest whose base commit is still HEAD.
  // The others keep 'passed' and say why they were not promoted.
  void PromoteBest(const Target& target, std::vector<PassingCandidate> passing) {
    std::stable_sort(passing.begin(), passing.end(), [](const auto& x, const auto& y) {
      return x.verdict.primary_ratio < y.verdict.primary_ratio;
    });
    std::string head = HeadCommit(project_.root);
    std::optional<int64_t> promoted_id;
    std::string refusal;
    for (PassingCandidate& p : passing) {
      AttemptRecord& a = p.attempt;
      std::string why;
      if (promoted_id) {
        why = fmt::format("passed; superseded: attempt {} was promoted (HEAD moved to {})",
                          *promoted_id, head.substr(0, 12));
      } else if (!refusal.empty()) {
        why = "passed; not promoted: " + refusal;
      } else if (p.verdict.head_commit != head) {
        why = fmt::format(
            "passed; superseded: HEAD moved from {} to {} since this candidate was evaluated",
            p.verdict.head_commit.substr(0, 12), head.substr(0, 12));
      }
      if (why.empty()) {
        PromoteResult promoted;
        {
          ActivityScope activity(this, Phase::kPromoting,
                                 fmt::format("{} {}.{}", target.name, a.round, a.candidate));
          promoted = evaluator_.Promote(target, p.verdict, AttemptTrailer(a.id));
        }
        if (promoted.promoted) {
          ledger_.MarkPromoted(a.id, promoted.commit);
          ++result_.promotions;
          promoted_id = a.id;
          head = promoted.commit;
          AttemptRecord shown = a;
          shown.verdict = "promoted";
          shown.promoted_commit = promoted.commit;
          Print(AttemptLine(shown));
          continue;
        }
        refusal = promoted.message;
        why = "passed; not promoted: " + refusal;
      }
      a.message = why;
      ledger_.UpdateAttempt(a);
      Print(fmt::format("[{}] {} {}.{}{} {}", ClockNow(), target.name, a.round, a.candidate,
                        a.repair > 0 ? fmt::format(".{}", a.repair) : std::string(), why));
    }
  }

  // A round on the executor: one request for N replies, all submitted at once, repairs as their
  // verdicts come back, then at most one promotion. Returns whether the model gave usable replies.
  bool RunRoundOnExecutor(const Target& target) {
    int round = ledger_.LastRound(target.name) + 1;
    std::vector<ChatMessage> messages = BuildPrompt(MakePromptInput(target));
    std::optional<LlmResponse> response =
        Ask(target, round, 1, 0, messages, std::max(1, settings_.candidates));
    if (!response) return false;
    std::vector<int64_t> ids;
    for (size_t c = 0; c < response->replies.size(); ++c) {
      // The request's tokens and time are booked on its first candidate so sums stay right.
      ids.push_back(RecordUnjudged(target, round, static_cast<int>(c) + 1, 0, messages,
                                   response->replies[c], c == 0 ? response->prompt_tokens : 0,
                                   c == 0 ? response->completion_tokens : 0,
                                   c == 0 ? last_call_seconds_ : 0));
    }
    std::vector<PassingCandidate> passing;
    // A stop or the clock ends the round before its evaluations; replies already paid for are
    // still judged when only the token budget ran out.
    if (!(CheckBudgets() && *stop_reason_ != "max-tokens")) {
      for (size_t c = 0; c < ids.size(); ++c)
        SubmitEvaluation(target, unjudged_[ids[c]], messages, c == 0 ? last_call_seconds_ : 0);
      Print(fmt::format("[{}] {} {}: {} candidate(s) submitted to the {} executor", ClockNow(),
                        target.name, round, ids.size(), settings_.executor->name()));
      CollectSubmitted(fmt::format("{} round {}", target.name, round), true, &passing);
    }
    ReportUnjudged();
    if (!passing.empty()) PromoteBest(target, std::move(passing));
    return true;
  }

  // The evaluations a killed loop submitted and never recorded: adopted, collected, recorded in
  // their rows (of the earlier run), and the best passing one per target promoted if its base is
  // still HEAD. No repair turns for them: their conversation belongs to the dead loop.
  void RecoverAdopted() {
    Executor& executor = *settings_.executor;
    std::vector<std::string> keys = executor.Adopt(project_.root);
    if (keys.empty()) return;
    std::string which;
    for (const InFlightEvaluation& e : executor.InFlight()) {
      which += (which.empty() ? "" : ", ") + e.key;
      if (!e.job_id.empty()) which += " (job " + e.job_id + ")";
    }
    Print(fmt::format(
        "rlvr iterate: adopted {} evaluation(s) a killed loop left on the {} executor: {}; "
        "recording their verdicts first",
        keys.size(), executor.name(), which));
    for (const std::string& key : keys) {
      int64_t id = AttemptIdOfKey(key);
      std::optional<AttemptRecord> row = id > 0 ? ledger_.FindAttempt(id) : std::nullopt;
      const Target* target = nullptr;
      if (row) {
        for (const Target& t : project_.targets)
          if (t.name == row->target) target = &t;
      }
      if (!row || !target) {
        Print(
            fmt::format("rlvr iterate: evaluation {} names no attempt of this ledger's "
                        "targets: cancelled",
                        key));
        executor.Cancel(key);
        continue;
      }
      submitted_[key] = {target, *row, {}, row->seconds, Clock::now()};
    }
    std::vector<PassingCandidate> passing;
    CollectSubmitted("the adopted evaluations", false, &passing);
    std::map<const Target*, std::vector<PassingCandidate>> by_target;
    for (PassingCandidate& p : passing) by_target[p.target].push_back(std::move(p));
    for (auto& [target, list] : by_target) PromoteBest(*target, std::move(list));
  }

  // Returns whether the model gave a usable reply to judge (the round counts).
  bool RunRound(const Target& target) {
    int round = ledger_.LastRound(target.name) + 1;
    std::vector<ChatMessage> messages = BuildPrompt(MakePromptInput(target));
    std::optional<LlmResponse> response =
        Ask(target, round, 1, 0, messages, std::max(1, settings_.candidates));
    if (!response) return false;
    std::vector<int64_t> unjudged;
    for (size_t c = 0; c < response->replies.size(); ++c) {
      // The request's tokens and time are booked on its first candidate so sums stay right.
      unjudged.push_back(RecordUnjudged(target, round, static_cast<int>(c) + 1, 0, messages,
                                        response->replies[c], c == 0 ? response->prompt_tokens : 0,
                                        c == 0 ? response->completion_tokens : 0,
                                        c == 0 ? last_call_seconds_ : 0));
    }

    struct Passing {
      Verdict verdict;
      AttemptRecord attempt;
    };
    std::vector<Passing> passing;
    bool abandoned = false;
    for (size_t c = 0; c < response->replies.size() && !abandoned; ++c) {
      int candidate = static_cast<int>(c) + 1;
      std::vector<ChatMessage> conversation = messages;
      std::string reply = response->replies[c];
      // The round's request tokens are booked on its first candidate so sums stay right.
      int64_t prompt_tokens = c == 0 ? response->prompt_tokens : 0;
      int64_t completion_tokens = c == 0 ? response->completion_tokens : 0;
      double llm_seconds = c == 0 ? last_call_seconds_ : 0;
      int64_t attempt_id = unjudged[c];
      for (int repair = 0;; ++repair) {
        // A stop or the clock ends the round before the next evaluation; replies already paid
        // for are still judged when only the token budget ran out.
        if (CheckBudgets() && *stop_reason_ != "max-tokens") break;
        Clock::time_point start = Clock::now();
        Verdict verdict = EvaluateAbandonable(
            target, reply, &abandoned,
            fmt::format("{} {}.{}{}", target.name, round, candidate,
                        repair > 0 ? fmt::format(".{}", repair) : std::string()));
        AttemptRecord a = NewAttempt(target, round, candidate, repair, conversation);
        a.id = attempt_id;
        a.reply = reply;
        a.patch = verdict.patch;
        a.gates_json = GatesJson(verdict);
        a.figures_json = FiguresJson(verdict);
        if (verdict.primary_ratio > 0) a.primary_ratio = verdict.primary_ratio;
        a.prompt_tokens = prompt_tokens;
        a.completion_tokens = completion_tokens;
        a.seconds = llm_seconds + SecondsSince(start);
        // Judged here, in this process: the ledger's executor columns say so.
        a.job_id = "local";
        a.node = HostName();
        a.queued_seconds = 0.0;
        a.run_seconds = SecondsSince(start);
        a.tries = 1;
        if (abandoned) {
          a.verdict = "error";
          a.message = "abandoned by a second stop signal: " + VerdictReason(verdict);
          if (!verdict.failed_gate.empty()) a.failed_gate = verdict.failed_gate;
          Judged(a);
          stop_reason_ = "abandoned (second stop signal)";
          break;
        }
        a.verdict = verdict.promotable ? "passed" : "failed";
        if (!verdict.failed_gate.empty()) a.failed_gate = verdict.failed_gate;
        a.message = VerdictReason(verdict);
        Judged(a);
        if (verdict.promotable) {
          passing.push_back({std::move(verdict), a});
          break;
        }
        if (!Repairable(verdict) || repair >= settings_.max_repairs || CheckBudgets()) break;
        // Repair turn: same conversation, the model sees its reply and the exact error.
        conversation.push_back({"assistant", reply});
        conversation.push_back({"user", RepairRequest(verdict.failed_gate, FailureText(verdict))});
        std::optional<LlmResponse> fixed =
            Ask(target, round, candidate, repair + 1, conversation, 1);
        if (!fixed) break;
        reply = fixed->replies.front();
        prompt_tokens = fixed->prompt_tokens;
        completion_tokens = fixed->completion_tokens;
        llm_seconds = last_call_seconds_;
        attempt_id = RecordUnjudged(target, round, candidate, repair + 1, conversation, reply,
                                    prompt_tokens, completion_tokens, llm_seconds);
      }
    }
    ReportUnjudged();
    if (passing.empty() || abandoned) return true;
    // Best = smallest primary ratio (fastest); the others stay 'passed'.
    auto best = std::min_element(passing.begin(), passing.end(), [](const auto& x, const auto& y) {
      return x.verdict.primary_ratio < y.verdict.primary_ratio;
    });
    PromoteResult promoted;
    {
      ActivityScope activity(this, Phase::kPromoting,
                             fmt::format("{} {}.{}", target.name, round, best->attempt.candidate));
      promoted = evaluator_.Promote(target, best->verdict, AttemptTrailer(best->attempt.id));
    }
    if (!promoted.promoted) {
      Print(fmt::format("[{}] {} {}.{} not promoted: {}", ClockNow(), target.name, round,
                        best->attempt.candidate, promoted.message));
      return true;
    }
    ledger_.MarkPromoted(best->attempt.id, promoted.commit);
    ++result_.promotions;
    AttemptRecord shown = best->attempt;
    shown.verdict = "promoted";
    shown.promoted_commit = promoted.commit;
    Print(AttemptLine(shown));
    return true;
  }

  const Project& project_;
  Evaluator& evaluator_;
  LlmSource& llm_;
  Ledger& ledger_;
  const LoopSettings& settings_;
  std::ostream& out_;
  std::mutex out_mu_;
  std::mutex announce_mu_;
  int announced_signals_ = 0;  // stop signals whose notice is printed
  std::mutex activity_mu_;
  Phase phase_ = Phase::kIdle;
  std::string activity_;  // "dot 3.1": the attempt being asked for, evaluated or promoted
  Clock::time_point start_;
  int64_t run_id_ = 0;
  int consecutive_failures_ = 0;
  int64_t tokens_used_ = 0;
  double last_call_seconds_ = 0;
  std::optional<std::string> stop_reason_;
  std::string prompt_commit_;  // the commit the last prompt showed; candidates apply to it
  std::map<int64_t, AttemptRecord> unjudged_;   // rows of RecordUnjudged not judged yet
  std::map<std::string, Submitted> submitted_;  // evaluations in the executor, by key
  std::set<std::string> reported_dirty_;  // target files whose uncommitted edits were reported
  LoopResult result_;
};

}  // namespace

LoopResult RunLoop(const Project& project, Evaluator& evaluator, LlmSource& llm, Ledger& ledger,
                   const LoopSettings& settings, const nlohmann::json& settings_json,
                   std::ostream& out) {
  return LoopRunner(project, evaluator, llm, ledger, settings, out).Run(settings_json);
}

std::string EvaluationKey(int64_t attempt_id) {
  return "a" + std::to_string(attempt_id);
}

int64_t AttemptIdOfKey(const std::string& key) {
  if (key.size() < 2 || key[0] != 'a' || key.size() > 19 ||
      key.find_first_not_of("0123456789", 1) != std::string::npos)
    return 0;
  return std::stoll(key.substr(1));
}

std::string VerdictReason(const Verdict& v) {
  const GateResult* gate = v.FindGate(v.failed_gate);
  // The apply gate says "patch does not apply" for every refusal; the applier's first line says
  // which: no patch in the reply, a whole file identical to HEAD, a hunk that does not match...
  if (!gate || gate->name != "apply" || gate->detail.empty()) return v.message;
  std::string first = gate->detail.substr(0, gate->detail.find('\n'));
  if (first.rfind("no patch found", 0) == 0 || first.find("changes nothing") != std::string::npos) {
    return "apply gate failed: " + first;
  }
  return v.message + ": " + first;
}

std::string AttemptLine(const AttemptRecord& a, const std::string& when) {
  std::string clock = when.empty() ? ClockNow() : when;
  std::string id = fmt::format("{}.{}", a.round, a.candidate);
  if (a.repair > 0) id += fmt::format(".{}", a.repair);
  std::string line =
      fmt::format("[{}] {} {} {} {}", clock, a.target, id, a.verdict, a.failed_gate.value_or("-"));
  line += a.primary_ratio ? fmt::format(" {:.3f}", *a.primary_ratio) : std::string(" -");
  line += fmt::format(" {:.1f}s", a.seconds);
  if (a.promoted_commit) line += " commit " + a.promoted_commit->substr(0, 12);
  if (a.verdict == "failed" || a.verdict == "error") {
    // One line of at most kMaxReason characters; "..." marks a cut (the ledger keeps it all).
    constexpr size_t kMaxReason = 200;
    std::string why =
        a.message.size() <= kMaxReason ? a.message : a.message.substr(0, kMaxReason - 3) + "...";
    std::replace(why.begin(), why.end(), '\n', ' ');
    if (!why.empty()) line += "  (" + why + ")";
  }
  return line;
}

}  // namespace rlvr
