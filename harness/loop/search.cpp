// LoopRunner (runner.h): the strategy's choices — what a round shows the model, archive parents,
// repeats never judged twice, the target schedule's feedback, the independent strategy's end.
#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/base/scratch_tree.h"
#include "harness/bench/roofline.h"
#include "harness/git/commit_files.h"
#include "harness/git/head_files.h"
#include "harness/git/worktree.h"
#include "harness/loop/attempt.h"
#include "harness/loop/runner.h"
#include "harness/patch/apply.h"
#include "harness/patch/diff.h"

namespace rlvr {

namespace {

constexpr size_t kArchiveSize = 4;       // parents kept per target besides HEAD
constexpr size_t kInspirations = 3;      // earlier candidates shown by greedy and archive
constexpr int kInspirationHistory = 60;  // of the target's most recent attempts

}  // namespace

LoopRunner::RoundPrompt LoopRunner::MakeRoundPrompt(const Target& target) {
  PromptInput in = MakePromptInput(target);
  RoundPrompt out;
  switch (strategy_) {
    case Strategy::kBestOfN:
    case Strategy::kIndependent:
      // Independent samples: what earlier samples did is not shown.
      in.history.clear();
      break;
    case Strategy::kGreedy:
    case Strategy::kArchive:
      in.inspirations = SelectInspirations(ledger_.RecentAttempts(target.name, kInspirationHistory),
                                           kInspirations);
      break;
  }
  if (strategy_ == Strategy::kArchive) {
    std::vector<ArchiveMember>& members = archive_[target.name];
    // A member whose files are HEAD's (it was promoted) is HEAD itself.
    members.erase(std::remove_if(members.begin(), members.end(),
                                 [&](const ArchiveMember& m) {
                                   for (const auto& [path, content] : m.files) {
                                     for (const PromptFile& f : in.editable)
                                       if (f.path == path && f.content != content) return false;
                                   }
                                   return true;
                                 }),
                  members.end());
    // HEAD half the time, else one of the kept candidates.
    std::uniform_int_distribution<size_t> pick(0, 2 * members.size() - (members.empty() ? 0 : 1));
    size_t choice = members.empty() ? 0 : pick(rng_);
    if (!members.empty() && choice < members.size()) {
      out.parent = members[choice];
      for (PromptFile& f : in.editable) {
        for (const auto& [path, content] : out.parent->files)
          if (f.path == path) f.content = content;
      }
      in.description += fmt::format(
          "\n\nThe editable files shown are those of earlier candidate {} ({}{}), not HEAD's: "
          "edit them; the result is judged as a change of HEAD.",
          out.parent->attempt_id, out.parent->passed ? "passed every gate" : "a near miss",
          out.parent->ratio > 0 ? fmt::format(", {:.3f}x HEAD's time", out.parent->ratio) : "");
    }
  }
  out.messages = BuildPrompt(in);
  return out;
}

std::string LoopRunner::ReplyForHead(const Target& target, const RoundPrompt& prompt,
                                     const std::string& reply) {
  if (!prompt.parent) return reply;
  // The commit's editable files with the parent's in their place: what the model was shown.
  std::map<std::string, std::string> head =
      CommitFiles(project_.root, prompt_commit_, target.editable);
  std::map<std::string, std::string> shown = head;
  for (const auto& [path, content] : prompt.parent->files) {
    if (shown.count(path)) shown[path] = content;
  }
  ScratchTree scratch("rlvr-parent", shown);
  ApplyOptions options;
  options.allowed_globs = target.editable;
  ApplyResult applied = ApplyReply(scratch.root(), reply, options);
  if (!applied.applied) return reply;
  auto before = [&](const std::string& path) -> std::optional<std::string> {
    auto it = head.find(path);
    return it == head.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  std::vector<FileContents> files;
  for (const std::string& path : applied.changed_files)
    files.push_back({path, before(path), ReadFileText(scratch.root() / path)});
  // The parent's own edits in files the reply left alone belong to the candidate too.
  for (const auto& [path, content] : prompt.parent->files) {
    if (std::find(applied.changed_files.begin(), applied.changed_files.end(), path) !=
        applied.changed_files.end())
      continue;
    std::optional<std::string> was = before(path);
    if (was && *was == content) continue;
    files.push_back({path, was, content});
  }
  std::string diff = GitDiff(files);
  return diff.empty() ? reply : diff;
}

std::optional<AttemptRecord> LoopRunner::EarlierJudgement(const Target& target,
                                                          const std::string& key) {
  if (key.empty()) return std::nullopt;
  auto it = judged_keys_.find(key);
  if (it != judged_keys_.end()) return ledger_.FindAttempt(it->second);
  return ledger_.FindJudgedByKey(target.name, key);
}

void LoopRunner::RecordRepeat(AttemptRecord& a, const AttemptRecord& earlier, double llm_seconds) {
  a.verdict = "repeat";
  a.repeat_of = earlier.id;
  a.patch = earlier.patch;
  a.primary_ratio = earlier.primary_ratio;
  a.failed_gate = earlier.failed_gate;
  // An earlier copy of the same round is still being judged.
  std::string what =
      earlier.gates_json.empty() && earlier.verdict == "error"
          ? std::string("judged in this round")
          : earlier.verdict + (earlier.failed_gate ? " at " + *earlier.failed_gate : "");
  a.message =
      fmt::format("repeat of attempt {} ({}): the same change of the same commit, not judged again",
                  earlier.id, what);
  a.seconds = llm_seconds;
  Judged(a);
}

CandidateOutcome LoopRunner::OutcomeOf(const Verdict& verdict) {
  if (verdict.promotable) return CandidateOutcome::kPassed;
  // Right but not (shown to be) faster: the model is close.
  if (verdict.failed_gate == "benchmark" || verdict.failed_gate.empty())
    return CandidateOutcome::kNearMiss;
  return CandidateOutcome::kFailed;
}

void LoopRunner::KeepInArchive(const Target& target, const AttemptRecord& a, const Verdict& verdict,
                               CandidateOutcome outcome) {
  if (strategy_ != Strategy::kArchive) return;
  if (outcome != CandidateOutcome::kPassed && outcome != CandidateOutcome::kNearMiss) return;
  if (verdict.new_contents.empty()) return;
  std::vector<ArchiveMember>& members = archive_[target.name];
  ArchiveMember m;
  m.attempt_id = a.id;
  m.ratio = verdict.primary_ratio;
  m.passed = outcome == CandidateOutcome::kPassed;
  m.files = verdict.new_contents;
  members.push_back(std::move(m));
  // Passing before near misses, then the fastest first.
  std::stable_sort(members.begin(), members.end(),
                   [](const ArchiveMember& x, const ArchiveMember& y) {
                     if (x.passed != y.passed) return x.passed;
                     double rx = x.ratio > 0 ? x.ratio : 1e9, ry = y.ratio > 0 ? y.ratio : 1e9;
                     return rx < ry;
                   });
  if (members.size() > kArchiveSize) members.resize(kArchiveSize);
}

std::optional<double> LoopRunner::RooflineFractionAtHead(const Target& target) {
  HeadFiles head(project_.root);
  std::optional<std::string> text = head.Text("baselines/" + target.name + ".json");
  if (!text) return std::nullopt;
  nlohmann::json baseline = nlohmann::json::parse(*text, nullptr, false);
  if (baseline.is_discarded()) return std::nullopt;
  return RooflineFraction(Headroom(baseline, target.primary));
}

void LoopRunner::RecordRoundOutcome(const Target& target, const RoundOutcome& outcome) {
  if (!schedule_) return;
  schedule_->Record(target.name, outcome,
                    outcome.promoted ? RooflineFractionAtHead(target) : std::nullopt);
  PrintRestNotices();
}

void LoopRunner::PrintRestNotices() {
  if (!schedule_) return;
  std::vector<std::string> notices = schedule_->RestNotices();
  for (; rest_notices_printed_ < notices.size(); ++rest_notices_printed_)
    Print(fmt::format("[{}] {}", ClockNow(), notices[rest_notices_printed_]));
}

void LoopRunner::PromoteDeferred() {
  bool budget_end = !result_.stopped_by_signal && !result_.model_unusable;
  for (auto& [name, passing] : deferred_) {
    if (passing.empty()) continue;
    const Target& target = *passing.front().target;
    std::stable_sort(passing.begin(), passing.end(), [](const auto& x, const auto& y) {
      return x.verdict.primary_ratio < y.verdict.primary_ratio;
    });
    if (!budget_end) {
      Print(fmt::format(
          "rlvr iterate: independent: {} passing candidate(s) of {} left unpromoted because the "
          "run did not end on a budget; the fastest is attempt {} ({:.3f})",
          passing.size(), name, passing.front().attempt.id, passing.front().verdict.primary_ratio));
      continue;
    }
    PassingCandidate& best = passing.front();
    std::string head = HeadCommit(project_.root);
    if (best.verdict.head_commit != head) {
      Print(
          fmt::format("[{}] {} attempt {}: re-judged against HEAD {} (another target's "
                      "promotion moved it)",
                      ClockNow(), name, best.attempt.id, head.substr(0, 12)));
      Verdict again = evaluator_.Evaluate(target, best.verdict.patch, head);
      if (!again.promotable) {
        Print(fmt::format("[{}] {} attempt {} not promoted: against HEAD {}: {}", ClockNow(), name,
                          best.attempt.id, head.substr(0, 12), VerdictReason(again)));
        continue;
      }
      best.verdict = std::move(again);
    }
    PromoteBest(target, std::move(passing));
  }
  deferred_.clear();
}

}  // namespace rlvr
