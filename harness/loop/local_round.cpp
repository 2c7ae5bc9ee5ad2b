// LoopRunner (runner.h): rounds judged in this process by the evaluator, one candidate at a time.
#include "harness/loop/runner.h"

#include <unistd.h>

#include <algorithm>
#include <future>

#include <fmt/format.h>

#include "harness/base/signals.h"
#include "harness/loop/attempt.h"
#include "harness/loop/reconcile.h"
#include "harness/loop/repair.h"

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
                                      c == 0 ? last_call_seconds_ : 0, c == 0));
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
      // for are still judged when only a spending budget (tokens, cost) ran out.
      if (CheckBudgets() && !OnlySpendingStopped()) break;
      Clock::time_point start = Clock::now();
      Verdict verdict =
          EvaluateAbandonable(target, reply, &abandoned,
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
      a.verdict = LedgerVerdict(verdict);
      if (!verdict.failed_gate.empty()) a.failed_gate = verdict.failed_gate;
      a.message = VerdictReason(verdict);
      Judged(a);
      if (verdict.promotable) {
        passing.push_back({std::move(verdict), a});
        break;
      }
      if (!Repairable(verdict) || repair >= settings_.max_repairs || CheckBudgets()) break;
      // Repair turn: same conversation, the model sees its reply and the exact error.
      AddRepairTurn(conversation, reply, verdict, settings_.prompt_max_chars);
      std::optional<LlmResponse> fixed = Ask(target, round, candidate, repair + 1, conversation, 1);
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

Verdict LoopRunner::EvaluateAbandonable(const Target& target, const std::string& reply,
                                        bool* abandoned, const std::string& what) {
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

}  // namespace rlvr
