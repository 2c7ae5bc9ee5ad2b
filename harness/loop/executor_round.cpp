// LoopRunner (runner.h): rounds judged by an executor, every reply at once; the single promotion
// of a round; the evaluations a killed loop left, adopted at start.
#include "harness/loop/runner.h"

#include <algorithm>

#include <fmt/format.h>

#include "harness/base/signals.h"
#include "harness/git/worktree.h"
#include "harness/loop/attempt.h"
#include "harness/loop/reconcile.h"
#include "harness/loop/repair.h"
#include "harness/loop/repeats.h"

namespace rlvr {

bool LoopRunner::RunRoundOnExecutor(const Target& target) {
  int round = ledger_.LastRound(target.name) + 1;
  std::vector<ChatMessage> messages = BuildPrompt(MakePromptInput(target));
  std::optional<LlmResponse> response =
      Ask(target, round, 1, 0, messages, std::max(1, settings_.candidates), std::nullopt);
  if (!response) return false;
  std::vector<int64_t> ids;
  for (size_t c = 0; c < response->replies.size(); ++c) {
    // The request's tokens and time are booked on its first candidate so sums stay right.
    ids.push_back(RecordUnjudged(target, round, static_cast<int>(c) + 1, 0, messages,
                                 response->replies[c], c == 0 ? response->prompt_tokens : 0,
                                 c == 0 ? response->completion_tokens : 0,
                                 c == 0 ? last_call_seconds_ : 0, c == 0));
  }
  std::vector<PassingCandidate> passing;
  // A stop or the clock ends the round before its evaluations; replies already paid for are
  // still judged when only a spending budget (tokens, cost) ran out.
  if (!(CheckBudgets() && !OnlySpendingStopped())) {
    size_t submitted = 0;
    for (size_t c = 0; c < ids.size(); ++c) {
      if (SubmitUnlessRepeat(target, unjudged_[ids[c]], messages, c == 0 ? last_call_seconds_ : 0))
        ++submitted;
    }
    if (submitted > 0) {
      Print(fmt::format("[{}] {} {}: {} candidate(s) submitted to the {} executor", ClockNow(),
                        target.name, round, submitted, settings_.executor->name()));
      CollectSubmitted(fmt::format("{} round {}", target.name, round), true, &passing);
    }
  }
  ReportUnjudged();
  RoundOutcome outcome;
  outcome.passed = !passing.empty();
  if (!passing.empty()) outcome.SetPromoted(PromoteBest(target, std::move(passing)));
  RecordRoundOutcome(target, outcome);
  return true;
}

bool LoopRunner::SubmitUnlessRepeat(const Target& target, AttemptRecord a,
                                    const std::vector<ChatMessage>& conversation,
                                    double llm_seconds) {
  a.candidate_key = CandidateKey(project_.root, target, prompt_commit_, a.reply);
  if (std::optional<AttemptRecord> earlier = EarlierJudgement(target, a.candidate_key)) {
    RecordRepeat(a, *earlier, a.seconds);
    if (std::optional<size_t> model = ModelIndexOf(a.model))
      bandit_.RecordCandidate(*model, CandidateOutcome::kFailed, 0);
    return false;
  }
  // A second copy in the same round is a repeat of this one.
  if (!a.candidate_key.empty()) judged_keys_[a.candidate_key] = a.id;
  unjudged_[a.id] = a;
  SubmitEvaluation(target, a, conversation, llm_seconds);
  return true;
}

void LoopRunner::SubmitEvaluation(const Target& target, const AttemptRecord& attempt,
                                  std::vector<ChatMessage> conversation, double llm_seconds) {
  EvaluationRequest request;
  request.key = EvaluationKey(attempt.id);
  request.repo = project_.root;
  request.target = target.name;
  request.reply = attempt.reply;
  request.settings = settings_.evaluation;
  settings_.executor->Submit(request);
  submitted_[request.key] = {&target, attempt, std::move(conversation), llm_seconds, Clock::now()};
}

void LoopRunner::CancelInFlight() {
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

void LoopRunner::CollectSubmitted(const std::string& what, bool repairs,
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
      AttemptRecord a =
          RecordOutcome(s.attempt, outcome, s.llm_seconds + SecondsSince(s.submitted_at), &verdict);
      executor.Acknowledge(outcome.key);
      if (!verdict) continue;
      if (verdict->promotable) {
        passing->push_back({s.target, std::move(*verdict), a});
        continue;
      }
      if (!repairs || !Repairable(*verdict) || a.repair >= settings_.max_repairs || CheckBudgets())
        continue;
      // Repair turn: same conversation, the model sees its reply and the exact error.
      std::vector<ChatMessage> conversation = s.conversation;
      AddRepairTurn(conversation, a.reply, *verdict, settings_.prompt_max_chars);
      std::optional<LlmResponse> fixed = Ask(*s.target, a.round, a.candidate, a.repair + 1,
                                             conversation, 1, ModelIndexOf(a.model));
      phase.Set();
      if (!fixed) continue;
      int64_t id = RecordUnjudged(*s.target, a.round, a.candidate, a.repair + 1, conversation,
                                  fixed->replies.front(), fixed->prompt_tokens,
                                  fixed->completion_tokens, last_call_seconds_, true);
      SubmitUnlessRepeat(*s.target, unjudged_[id], conversation, last_call_seconds_);
    }
  }
}

std::optional<double> LoopRunner::PromoteBest(const Target& target,
                                              std::vector<PassingCandidate> passing) {
  std::stable_sort(passing.begin(), passing.end(), [](const auto& x, const auto& y) {
    return x.verdict.primary_ratio < y.verdict.primary_ratio;
  });
  std::string head = HeadCommit(project_.root);
  std::optional<int64_t> promoted_id;
  std::optional<double> promoted_ratio;
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
        promoted_ratio = p.verdict.primary_ratio;
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
  return promoted_ratio;
}

void LoopRunner::RecoverAdopted() {
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

}  // namespace rlvr
