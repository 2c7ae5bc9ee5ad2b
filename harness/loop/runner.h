// The loop's engine behind RunLoop (loop.h), internal to the loop part: one LoopRunner per run,
// holding what the run has done so far. Its members are defined by concern: the run, its budgets
// and the model call (loop.cpp); what it says about stop signals (stop_notices.cpp); what the
// model is shown (prompt_input.cpp); the ledger rows of attempts (record.cpp); rounds judged in
// this process (local_round.cpp) and rounds judged by an executor, with the recovery of a killed
// loop's evaluations (executor_round.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/executors/executor.h"
#include "harness/ledger/ledger.h"
#include "harness/llm/client.h"
#include "harness/loop/loop.h"
#include "harness/loop/model_bandit.h"
#include "harness/loop/models.h"
#include "harness/loop/prompt.h"
#include "harness/loop/strategy.h"
#include "harness/loop/target_schedule.h"
#include "harness/verify/evaluate.h"

namespace rlvr {

class LoopRunner {
 public:
  // The references must outlive the runner; `settings` as RunLoop takes them.
  LoopRunner(const Project& project, CandidateJudge& evaluator, std::vector<LoopModel> models,
             Ledger& ledger, const LoopSettings& settings, std::ostream& out);

  // Runs the loop under a new ledger run, as RunLoop says. Call once.
  LoopResult Run(const nlohmann::json& settings_json);

 private:
  using Clock = std::chrono::steady_clock;
  static double SecondsSince(Clock::time_point start);
  // The strategy of that name (strategy.h); throws std::invalid_argument for an unknown one.
  static Strategy StrategyOrThrow(const std::string& name);

  // ---- The run (loop.cpp) ----

  // One line to the terminal, whole (the stop notices come from another thread).
  void Print(const std::string& line);

  // Sets stop_reason_ when a budget is spent or a stop was requested; true if so.
  bool CheckBudgets();

  // Whether the stop reason still lets replies already paid for be judged: only a spending
  // budget ran out (max-tokens, max-cost). Precondition: stop_reason_ is set.
  bool OnlySpendingStopped() const {
    // A replay (or the loop bench's simulated models) that ran out: the replies it gave are
    // still judged, like paid ones.
    return *stop_reason_ == "max-tokens" || *stop_reason_ == "max-cost" ||
           *stop_reason_ == "replay exhausted";
  }

  // Asks the model; on failure records an 'llm' error attempt and updates the failure count.
  // `repair` is 0 for the first turn. Returns nothing when the model gave no usable reply (the
  // stop reason is set when that ends the run).
  // The request goes to `model` (a repair turn: the model of the conversation), else to the
  // model the bandit chooses; asked_model_ says which.
  std::optional<LlmResponse> Ask(const Target& target, int round, int candidate, int repair,
                                 const std::vector<ChatMessage>& messages, int n,
                                 std::optional<size_t> model);

  // The index in models_ of the model named `name`; nothing when none is (a row of another run).
  std::optional<size_t> ModelIndexOf(const std::string& name) const;

  // ---- Stop signals (stop_notices.cpp) ----

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

  // What the loop does about the `count`-th stop signal (1 or 2; "" after), given what it is
  // doing: said at once, whatever the main thread is blocked on.
  std::string StopNotice(int count);

  // Prints a notice for each stop signal not yet announced. Called by the watcher thread, and by
  // the main thread before it leaves a step a signal cut short, so the notice names that step.
  void AnnounceStopSignals();

  // Announces each stop signal as it arrives (polled every 50 ms) until `done`.
  void WatchStopSignals(const std::atomic<bool>& done);

  // ---- What the model is shown (prompt_input.cpp) ----

  // The prompt shows what the candidate will be applied to: the files as committed at HEAD (the
  // evaluator patches HEAD in a scratch worktree), never the user's uncommitted edits. Sets
  // prompt_commit_ to that HEAD.
  PromptInput MakePromptInput(const Target& target);

  // Says which of the targets' files have uncommitted edits, each once until it is clean again:
  // the model never sees those edits and its patches do not include them.
  void WarnAboutUncommittedEdits(const std::vector<const Target*>& targets);

  // ---- The ledger rows of attempts (record.cpp) ----

  // A row of this run for the attempt `round`.`candidate`[.`repair`] of `target`, its prompt the
  // flattened `messages`; nothing recorded yet.
  AttemptRecord NewAttempt(const Target& target, int round, int candidate, int repair,
                           const std::vector<ChatMessage>& messages);

  // Adds `a` to the ledger (setting a.id) and prints its line. Returns the id.
  int64_t Record(AttemptRecord& a);

  // Writes a reply to the ledger before it is judged, so a loop killed mid-evaluation (or stopped
  // before reaching it) loses nothing the model was paid for. The row stands as an error saying
  // so until Judged (or RecordOutcome) replaces its outcome. Returns its id.
  // `books_request`: this row books the last request's cost (last_call_cost_ and the rest), as
  // the request's first candidate and each repair turn do; the request's other candidates pass
  // false (and zero tokens) so sums stay right.
  int64_t RecordUnjudged(const Target& target, int round, int candidate, int repair,
                         const std::vector<ChatMessage>& messages, const std::string& reply,
                         int64_t prompt_tokens, int64_t completion_tokens, double llm_seconds,
                         bool books_request);

  // Stops the run: the machine, not a candidate, failed (Verdict::machine_fault); RunIterate
  // exits 2.
  void StopForMachineFault(const std::string& fault);

  // The verdict of a reply recorded by RecordUnjudged (a.id): stored and printed.
  void Judged(const AttemptRecord& a);

  // Replies of the round that will not be judged because the loop is stopping: their rows say
  // why, and so does the terminal.
  void ReportUnjudged();

  // Writes an executor's outcome into the attempt's row `a` (recorded by RecordUnjudged) and
  // prints it: the verdict, or 'error' when the infrastructure gave none (never 'failed': the
  // candidate was not judged); where and how it ran, and the infrastructure faults met on the
  // way. Sets *verdict when there is one. Returns the row as written.
  AttemptRecord RecordOutcome(AttemptRecord a, const EvaluationOutcome& outcome, double seconds,
                              std::optional<Verdict>* verdict);

  // ---- The strategy's choices (search.cpp) ----

  // A candidate kept by the archive strategy as a further parent: the files it produced.
  struct ArchiveMember {
    int64_t attempt_id = 0;
    double ratio = 0;                                        // its primary ratio (0: not measured)
    bool passed = false;                                     // passed every gate (else a near miss)
    std::vector<std::pair<std::string, std::string>> files;  // path -> content
  };

  // What a round asks the model: the conversation, and for the archive strategy the parent whose
  // files it shows instead of HEAD's (none: HEAD's).
  struct RoundPrompt {
    std::vector<ChatMessage> messages;
    std::optional<ArchiveMember> parent;
  };

  // The round's prompt as the strategy makes it: history and inspirations (greedy, archive) or
  // none (best-of-n, independent: independent samples); an archive parent's files. Sets
  // prompt_commit_ (MakePromptInput).
  RoundPrompt MakeRoundPrompt(const Target& target);

  // The reply as an edit of the prompt's commit (prompt_commit_, HEAD when the prompt was made):
  // unchanged unless the prompt showed an archive parent, then the reply applied to the parent's
  // files and the result diffed against the commit's (the reply unchanged when it does not apply
  // to the parent: the evaluator then says why).
  std::string ReplyForHead(const Target& target, const RoundPrompt& prompt,
                           const std::string& reply);

  // The earlier judgement of the candidate `key` (this run's, else the ledger's); none for an
  // empty key.
  std::optional<AttemptRecord> EarlierJudgement(const Target& target, const std::string& key);

  // Records `a` as a repeat of `earlier`: not judged again, its row says of which attempt.
  void RecordRepeat(AttemptRecord& a, const AttemptRecord& earlier, double llm_seconds);

  // How the bandit and the scheduler count a verdict.
  static CandidateOutcome OutcomeOf(const Verdict& verdict);

  // Keeps a passing candidate or near miss among the target's archive parents (archive strategy).
  void KeepInArchive(const Target& target, const AttemptRecord& a, const Verdict& verdict,
                     CandidateOutcome outcome);

  // Tells the target schedule what a round of `target` gave; prints targets newly rested.
  void RecordRoundOutcome(const Target& target, const RoundOutcome& outcome);

  // Prints the schedule's rest notices not yet printed.
  void PrintRestNotices();

  // The independent strategy's end: the fastest passing candidate of each target promoted
  // (re-judged first against HEAD when another target's promotion moved it). Only when the run
  // ended on a budget; after a stop signal it says what was left unpromoted.
  void PromoteDeferred();

  // The roofline fraction of `target` at HEAD (bench/roofline.h); none when unknown.
  std::optional<double> RooflineFractionAtHead(const Target& target);

  // ---- Rounds judged in this process (local_round.cpp) ----

  // One round with settings_.executor null: N replies judged one after the other by the
  // evaluator, each with its repair turns, then the fastest passing one promoted. Returns whether
  // the model gave a usable reply to judge (the round counts).
  bool RunRound(const Target& target);

  // Evaluates on a worker thread while this one announces stop signals. A stop kills the running
  // build, test or benchmark (base/process.h) and runs no further gate; `*abandoned` is then set
  // (Verdict::stopped) and the attempt is recorded as not judged. `what` names the attempt for the
  // stop notices.
  Verdict EvaluateAbandonable(const Target& target, const std::string& reply, bool* abandoned,
                              const std::string& what);

  // Writes the verdict of `a` judged in this process (started at `start`, its request having
  // taken `llm_seconds`) into its row and prints it. Returns false when the run must stop: the
  // evaluation was abandoned by a stop (recorded as not judged, its reply kept for the next run)
  // or the machine failed (recorded as not judged, the run stopped for the machine's fault).
  bool RecordLocalVerdict(AttemptRecord& a, const Verdict& verdict, bool abandoned,
                          double llm_seconds, Clock::time_point start);

  // ---- Replies earlier runs left unjudged (leftover_replies.cpp) ----

  // Judges, before the first request, the replies a stopped or killed run paid for and never
  // judged (Ledger::UnjudgedReplies): each applied to HEAD in its own row, a repeat recorded as
  // such, the best passing one per target promoted. With an executor they are only named.
  void JudgeLeftoverReplies(const std::vector<const Target*>& targets);

  // ---- Rounds judged by an executor (executor_round.cpp): every reply at once, in parallel ----

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

  // A round on the executor: one request for N replies, all submitted at once, repairs as their
  // verdicts come back, then at most one promotion. Returns whether the model gave usable replies.
  // Precondition: settings_.executor is set (so for every executor member below).
  bool RunRoundOnExecutor(const Target& target);

  // Hands the reply of `attempt` (recorded by RecordUnjudged) to the executor, keyed
  // EvaluationKey(attempt.id); `conversation` is kept for its repair turn.
  void SubmitEvaluation(const Target& target, const AttemptRecord& attempt,
                        std::vector<ChatMessage> conversation, double llm_seconds);

  // Submits `a` (recorded by RecordUnjudged) unless its candidate key was judged before (this
  // run, this round or the ledger): then it is recorded as a repeat. Returns whether submitted.
  // The key is of the reply applied to prompt_commit_.
  bool SubmitUnlessRepeat(const Target& target, AttemptRecord a,
                          const std::vector<ChatMessage>& conversation, double llm_seconds);

  // Cancels every evaluation in flight (a stop signal): says which, so nobody wonders about jobs.
  void CancelInFlight();

  // Collects the submitted evaluations until none is in flight, recording each as it comes back
  // (then acknowledging it: a restarted loop would get it again otherwise). Failed candidates get
  // their repair turn, submitted at once, when `repairs`. A stop signal cancels what is left.
  // Passing candidates are appended to *passing; `what` names the collection in stop notices.
  void CollectSubmitted(const std::string& what, bool repairs,
                        std::vector<PassingCandidate>* passing);

  // Promotes at most one of `passing` (one target): the fastest whose base commit is still HEAD.
  // The others keep 'passed' and say why they were not promoted. Returns the promoted one's
  // primary ratio; nothing when none was promoted.
  std::optional<double> PromoteBest(const Target& target, std::vector<PassingCandidate> passing);

  // The evaluations a killed loop submitted and never recorded: adopted, collected, recorded in
  // their rows (of the earlier run), and the best passing one per target promoted if its base is
  // still HEAD. No repair turns for them: their conversation belongs to the dead loop.
  void RecoverAdopted();

  const Project& project_;
  CandidateJudge& evaluator_;
  std::vector<LoopModel> models_;  // at least one
  size_t asked_model_ = 0;         // index in models_ of the last request's model
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
  // The last request's dollars (unset: its model has no price), whether its usage was estimated,
  // and its cached prompt tokens; booked by RecordUnjudged like its tokens.
  std::optional<double> last_call_cost_;
  bool last_call_cost_estimated_ = false;
  int64_t last_call_cached_tokens_ = 0;
  double cost_used_ = 0;  // dollars of this run's priced requests (the max-cost budget)
  std::optional<std::string> stop_reason_;
  std::string prompt_commit_;  // the commit the last prompt showed; candidates apply to it
  std::map<int64_t, AttemptRecord> unjudged_;   // rows of RecordUnjudged not judged yet
  std::map<std::string, Submitted> submitted_;  // evaluations in the executor, by key
  std::set<std::string> reported_dirty_;  // target files whose uncommitted edits were reported
  LoopResult result_;
  uint64_t seed_ = 0;  // settings_.seed, or drawn at start when 0
  Strategy strategy_ = Strategy::kGreedy;
  ModelBandit bandit_;
  std::mt19937_64 rng_;  // the archive strategy's choice of parent
  std::optional<TargetSchedule> schedule_;
  size_t rest_notices_printed_ = 0;
  std::map<std::string, int64_t> judged_keys_;  // candidate key -> attempt judged in this run
  std::map<std::string, std::vector<ArchiveMember>> archive_;      // by target
  std::map<std::string, std::vector<PassingCandidate>> deferred_;  // independent, by target
};

}  // namespace rlvr
