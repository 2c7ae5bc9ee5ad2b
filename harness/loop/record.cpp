// LoopRunner (runner.h): the ledger rows of attempts, written as they happen and printed.
#include "harness/loop/runner.h"

#include <fmt/format.h>

#include "harness/loop/attempt.h"

namespace rlvr {

AttemptRecord LoopRunner::NewAttempt(const Target& target, int round, int candidate, int repair,
                                     const std::vector<ChatMessage>& messages) {
  AttemptRecord a;
  a.run_id = run_id_;
  a.target = target.name;
  a.model = models_[asked_model_].name;
  a.round = round;
  a.candidate = candidate;
  a.repair = repair;
  a.prompt = FlattenConversation(messages);
  return a;
}

int64_t LoopRunner::Record(AttemptRecord& a) {
  a.id = ledger_.AddAttempt(a);
  ++result_.attempts;
  Print(AttemptLine(a));
  return a.id;
}

int64_t LoopRunner::RecordUnjudged(const Target& target, int round, int candidate, int repair,
                                   const std::vector<ChatMessage>& messages,
                                   const std::string& reply, int64_t prompt_tokens,
                                   int64_t completion_tokens, double llm_seconds,
                                   bool books_request) {
  AttemptRecord a = NewAttempt(target, round, candidate, repair, messages);
  a.reply = reply;
  a.verdict = "error";
  a.message = "not judged: the loop stopped or was killed before this reply was evaluated";
  a.prompt_tokens = prompt_tokens;
  a.completion_tokens = completion_tokens;
  a.seconds = llm_seconds;
  if (books_request) {
    a.cost = last_call_cost_;
    a.cost_estimated = last_call_cost_estimated_;
    a.cached_prompt_tokens = last_call_cached_tokens_;
  }
  a.id = ledger_.AddAttempt(a);
  // A row of the ledger is an attempt of the run, judged or not.
  ++result_.attempts;
  unjudged_[a.id] = a;
  return a.id;
}

void LoopRunner::Judged(const AttemptRecord& a) {
  ledger_.UpdateAttempt(a);
  unjudged_.erase(a.id);
  Print(AttemptLine(a));
}

void LoopRunner::ReportUnjudged() {
  for (auto& [id, a] : unjudged_) {
    a.message = fmt::format("not judged: the loop stopped ({}) before this reply was evaluated",
                            stop_reason_.value_or("unknown reason"));
    ledger_.UpdateAttempt(a);
    Print(AttemptLine(a));
  }
  unjudged_.clear();
}

void LoopRunner::StopForMachineFault(const std::string& fault) {
  if (!stop_reason_) stop_reason_ = "machine fault: " + fault;
  result_.machine_fault = true;
}

AttemptRecord LoopRunner::RecordOutcome(AttemptRecord a, const EvaluationOutcome& outcome,
                                        double seconds, std::optional<Verdict>* verdict) {
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
    // Not judged: the same change may be judged later.
    if (!a.candidate_key.empty()) judged_keys_.erase(a.candidate_key);
    a.verdict = "error";
    a.failed_gate.reset();
    a.message = "not judged (infrastructure, not the candidate): " + outcome.error;
  } else {
    Verdict v = outcome.verdict();
    if (!v.machine_fault.empty()) StopForMachineFault(v.machine_fault);
    a.patch = v.patch;
    a.gates_json = GatesJson(v);
    a.figures_json = FiguresJson(v);
    if (v.primary_ratio > 0) a.primary_ratio = v.primary_ratio;
    a.verdict = LedgerVerdict(v);
    if (!v.failed_gate.empty() && v.machine_fault.empty()) a.failed_gate = v.failed_gate;
    a.message = VerdictReason(v);
    // The model's record for the bandit (a verdict of this run's models only).
    std::optional<size_t> model = ModelIndexOf(a.model);
    if (model && v.machine_fault.empty())
      bandit_.RecordCandidate(*model, OutcomeOf(v),
                              v.promotable && v.primary_ratio > 0 ? 1 / v.primary_ratio - 1 : 0);
    *verdict = std::move(v);
  }
  ledger_.UpdateAttempt(a);
  unjudged_.erase(a.id);
  std::string where = fmt::format("  [job {} on {}, queued {:.1f}s, ran {:.1f}s", outcome.job_id,
                                  outcome.node.empty() ? "?" : outcome.node, outcome.queued_seconds,
                                  outcome.run_seconds);
  if (outcome.tries > 1) where += fmt::format(", try {}", outcome.tries);
  if (!outcome.infrastructure_events.empty())
    where += fmt::format(", {} infrastructure event(s): {}", outcome.infrastructure_events.size(),
                         outcome.infrastructure_events.back());
  Print(AttemptLine(a) + where + "]");
  return a;
}

}  // namespace rlvr
