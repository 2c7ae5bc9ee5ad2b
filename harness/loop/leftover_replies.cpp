// LoopRunner (runner.h): the replies a stopped or killed run paid for and never judged, judged by
// the next run before it asks for anything, in their own rows of the ledger.
#include "harness/loop/runner.h"

#include <fmt/format.h>

#include "harness/git/head_files.h"
#include "harness/loop/repeats.h"

namespace rlvr {

namespace {

// At most this many leftovers are judged at a start: a night of stops must not delay the run
// by hours (the rest wait for the next start).
constexpr int kMaxLeftoverReplies = 8;

}  // namespace

void LoopRunner::JudgeLeftoverReplies(const std::vector<const Target*>& targets) {
  std::vector<AttemptRecord> rows = ledger_.UnjudgedReplies(kMaxLeftoverReplies);
  if (rows.empty()) return;
  if (settings_.executor) {
    Print(fmt::format(
        "rlvr iterate: {} repl{} an earlier run left unjudged stay in the ledger: they are judged "
        "at the start of a run without an executor (first: attempt {})",
        rows.size(), rows.size() == 1 ? "y" : "ies", rows.front().id));
    return;
  }
  Print(fmt::format(
      "rlvr iterate: judging {} repl{} an earlier run paid for and left unjudged, before asking "
      "for more",
      rows.size(), rows.size() == 1 ? "y" : "ies"));
  prompt_commit_ = HeadFiles(project_.root).commit();
  std::map<const Target*, std::vector<PassingCandidate>> passing;
  for (AttemptRecord& a : rows) {
    if (CheckBudgets() && !OnlySpendingStopped()) break;
    const Target* target = nullptr;
    for (const Target* t : targets)
      if (t->name == a.target) target = t;
    if (target == nullptr) {
      Print(
          fmt::format("rlvr iterate: attempt {} is of target {}, not one this run works on: "
                      "left unjudged",
                      a.id, a.target));
      continue;
    }
    if (a.reply.find("\n[cut: ") != std::string::npos) {
      // The ledger keeps only the head of an oversized reply: what is left is not the reply.
      a.message = "not judgeable later: the reply was cut when stored (too large)";
      ledger_.UpdateAttempt(a);
      Print(fmt::format("rlvr iterate: attempt {}: {}", a.id, a.message));
      continue;
    }
    a.candidate_key = CandidateKey(project_.root, *target, prompt_commit_, a.reply);
    if (std::optional<AttemptRecord> earlier = EarlierJudgement(*target, a.candidate_key)) {
      RecordRepeat(a, *earlier, a.seconds);
      continue;
    }
    Clock::time_point start = Clock::now();
    bool abandoned = false;
    Verdict verdict = EvaluateAbandonable(
        *target, a.reply, &abandoned,
        fmt::format("{} {}.{} (attempt {}, left unjudged)", a.target, a.round, a.candidate, a.id));
    if (!RecordLocalVerdict(a, verdict, abandoned, a.seconds, start)) break;
    if (std::optional<size_t> model = ModelIndexOf(a.model))
      bandit_.RecordCandidate(*model, OutcomeOf(verdict),
                              verdict.promotable ? 1 / verdict.primary_ratio - 1 : 0);
    if (verdict.promotable) passing[target].push_back({target, std::move(verdict), a});
  }
  if (stop_reason_ && !OnlySpendingStopped()) return;
  for (auto& [target, candidates] : passing) PromoteBest(*target, std::move(candidates));
}

}  // namespace rlvr
