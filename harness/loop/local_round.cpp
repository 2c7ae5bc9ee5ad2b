// LoopRunner (runner.h): rounds judged in this process by the evaluator, one candidate at a time,
// as the run's strategy (strategy.h) asks for them.
#include "harness/loop/runner.h"

#include <unistd.h>

#include <algorithm>
#include <future>

#include <fmt/format.h>

#include "harness/base/signals.h"
#include "harness/loop/attempt.h"
#include "harness/loop/reconcile.h"
#include "harness/loop/repair.h"
#include "harness/loop/repeats.h"

namespace rlvr {

namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

}  // namespace

bool LoopRunner::RunRound(const Target& target) {
  int round = ledger_.LastRound(target.name) + 1;
  RoundPrompt prompt = MakeRoundPrompt(target);
  const std::vector<ChatMessage>& messages = prompt.messages;
  // best-of-n asks N times for one reply (each request to the model the bandit picks); the other
  // strategies ask once for N replies.
  int wanted = std::max(1, settings_.candidates);
  int requests = strategy_ == Strategy::kBestOfN ? wanted : 1;
  struct Reply {
    std::string text;
    size_t model = 0;
    int64_t id = 0;
    int64_t prompt_tokens = 0, completion_tokens = 0;
    double llm_seconds = 0;
  };
  std::vector<Reply> replies;
  for (int r = 0; r < requests; ++r) {
    if (r > 0 && CheckBudgets()) break;
    int first = static_cast<int>(replies.size()) + 1;
    std::optional<LlmResponse> response =
        Ask(target, round, first, 0, messages, requests > 1 ? 1 : wanted, std::nullopt);
    if (!response) {
      if (stop_reason_ || replies.empty()) break;
      continue;
    }
    for (size_t c = 0; c < response->replies.size(); ++c) {
      Reply reply;
      reply.text = response->replies[c];
      reply.model = asked_model_;
      // The request's tokens and time are booked on its first candidate so sums stay right.
      if (c == 0) {
        reply.prompt_tokens = response->prompt_tokens;
        reply.completion_tokens = response->completion_tokens;
        reply.llm_seconds = last_call_seconds_;
      }
      reply.id = RecordUnjudged(target, round, static_cast<int>(replies.size()) + 1, 0, messages,
                                reply.text, reply.prompt_tokens, reply.completion_tokens,
                                reply.llm_seconds, c == 0);
      replies.push_back(std::move(reply));
    }
  }
  if (replies.empty()) return false;

  std::vector<PassingCandidate> passing;
  RoundOutcome outcome;
  bool abandoned = false;
  for (size_t c = 0; c < replies.size() && !abandoned; ++c) {
    int candidate = static_cast<int>(c) + 1;
    std::vector<ChatMessage> conversation = messages;
    std::string reply = replies[c].text;
    size_t model = replies[c].model;
    int64_t prompt_tokens = replies[c].prompt_tokens;
    int64_t completion_tokens = replies[c].completion_tokens;
    double llm_seconds = replies[c].llm_seconds;
    int64_t attempt_id = replies[c].id;
    for (int repair = 0;; ++repair) {
      // A stop or the clock ends the round before the next evaluation; replies already paid
      // for are still judged when only a spending budget ran out.
      if (CheckBudgets() && !OnlySpendingStopped()) break;
      AttemptRecord a = NewAttempt(target, round, candidate, repair, conversation);
      a.model = models_[model].name;
      a.id = attempt_id;
      a.reply = reply;
      a.prompt_tokens = prompt_tokens;
      a.completion_tokens = completion_tokens;
      // What is judged: the reply as an edit of HEAD (an archive parent's edit made whole).
      std::string judged = ReplyForHead(target, prompt, reply);
      a.candidate_key = CandidateKey(project_.root, target, prompt_commit_, judged);
      if (std::optional<AttemptRecord> earlier = EarlierJudgement(target, a.candidate_key)) {
        RecordRepeat(a, *earlier, llm_seconds);
        bandit_.RecordCandidate(model, CandidateOutcome::kFailed, 0);
        break;
      }
      Clock::time_point start = Clock::now();
      Verdict verdict =
          EvaluateAbandonable(target, judged, &abandoned,
                              fmt::format("{} {}.{}{}", target.name, round, candidate,
                                          repair > 0 ? fmt::format(".{}", repair) : std::string()));
      if (!RecordLocalVerdict(a, verdict, abandoned, llm_seconds, start)) break;
      CandidateOutcome judged_as = OutcomeOf(verdict);
      bandit_.RecordCandidate(model, judged_as,
                              verdict.promotable ? 1 / verdict.primary_ratio - 1 : 0);
      outcome.passed = outcome.passed || judged_as == CandidateOutcome::kPassed;
      outcome.near_miss = outcome.near_miss || judged_as == CandidateOutcome::kNearMiss;
      KeepInArchive(target, a, verdict, judged_as);
      if (verdict.promotable) {
        passing.push_back({&target, std::move(verdict), a});
        break;
      }
      if (!Repairable(verdict) || repair >= settings_.max_repairs || CheckBudgets()) break;
      // Repair turn: same conversation, the same model sees its reply and the exact error.
      AddRepairTurn(conversation, reply, verdict, settings_.prompt_max_chars);
      std::optional<LlmResponse> fixed =
          Ask(target, round, candidate, repair + 1, conversation, 1, model);
      if (!fixed) break;
      reply = fixed->replies.front();
      prompt_tokens = fixed->prompt_tokens;
      completion_tokens = fixed->completion_tokens;
      llm_seconds = last_call_seconds_;
      attempt_id = RecordUnjudged(target, round, candidate, repair + 1, conversation, reply,
                                  prompt_tokens, completion_tokens, llm_seconds, true);
    }
  }
  ReportUnjudged();
  if (!passing.empty() && !abandoned) {
    if (strategy_ == Strategy::kIndependent) {
      // Independent samples all come from the same parent: the best is promoted when the run
      // ends (PromoteDeferred), never in between.
      for (PassingCandidate& p : passing) deferred_[target.name].push_back(std::move(p));
    } else {
      outcome.SetPromoted(PromoteBest(target, std::move(passing)));
    }
  }
  RecordRoundOutcome(target, outcome);
  return true;
}

bool LoopRunner::RecordLocalVerdict(AttemptRecord& a, const Verdict& verdict, bool abandoned,
                                    double llm_seconds, Clock::time_point start) {
  a.patch = verdict.patch;
  a.gates_json = GatesJson(verdict);
  a.figures_json = FiguresJson(verdict);
  if (verdict.primary_ratio > 0) a.primary_ratio = verdict.primary_ratio;
  a.seconds = llm_seconds + SecondsSince(start);
  // Judged here, in this process: the ledger's executor columns say so.
  a.job_id = "local";
  a.node = HostName();
  a.queued_seconds = 0.0;
  a.run_seconds = SecondsSince(start);
  a.tries = 1;
  if (abandoned) {
    // Whatever the killed build or test said is no verdict on the candidate.
    a.verdict = "error";
    a.message = fmt::format(
        "not judged: stopped (a stop signal came during its evaluation, at the {} gate); the "
        "reply is kept in the ledger and judged first by the next run",
        verdict.stopped_at.empty() ? "first" : verdict.stopped_at);
    a.failed_gate.reset();
    a.candidate_key.clear();  // not a judgement: the same patch may be judged later
    Judged(a);
    stop_reason_ = "stop signal";
    return false;
  }
  if (!verdict.machine_fault.empty()) {
    // No verdict on the candidate, and none to be had on this machine now: stop before paying
    // for another reply.
    a.verdict = "error";
    a.message = VerdictReason(verdict);
    a.failed_gate.reset();
    a.candidate_key.clear();
    Judged(a);
    StopForMachineFault(verdict.machine_fault);
    return false;
  }
  a.verdict = LedgerVerdict(verdict);
  if (!verdict.failed_gate.empty()) a.failed_gate = verdict.failed_gate;
  a.message = VerdictReason(verdict);
  Judged(a);
  if (!a.candidate_key.empty()) judged_keys_[a.candidate_key] = a.id;
  return true;
}

Verdict LoopRunner::EvaluateAbandonable(const Target& target, const std::string& reply,
                                        bool* abandoned, const std::string& what) {
  ActivityScope activity(this, Phase::kEvaluating, what);
  if (settings_.evaluation_label) settings_.evaluation_label->Set("evaluating " + what);
  auto future = std::async(std::launch::async,
                           [&] { return evaluator_.Evaluate(target, reply, prompt_commit_); });
  // A stop ends the running build, test or benchmark at once (base/process.h) and the evaluator
  // runs no further gate, so the wait below ends within a second or so of the signal.
  while (future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready)
    AnnounceStopSignals();
  AnnounceStopSignals();
  Verdict verdict = future.get();
  *abandoned = verdict.stopped;
  return verdict;
}

}  // namespace rlvr
