// The loop's search (loop/strategy.h, model_bandit.h, repeats.h) in process, on the fixture
// repository with scripted models: a repeated patch is recorded as a repeat and never judged
// again; several models are each asked and recorded; best-of-n asks separately and shows no
// history; independent promotes only when the run ends; archive shows an earlier candidate.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <sstream>

#include "harness/executors/local_pool.h"
#include "harness/ledger/ledger.h"
#include "harness/loop/loop.h"
#include "harness/verify/evaluate.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Serves scripted replies in order; records each request's n and last user message.
class ScriptedModel : public LlmSource {
 public:
  ScriptedModel(std::string name, std::vector<std::string> replies)
      : name_(std::move(name)), replies_(replies.begin(), replies.end()) {}
  LlmResponse Complete(const std::string&, const std::vector<ChatMessage>& messages,
                       int n) override {
    if (replies_.empty()) throw LlmError("script done", true, /*exhausted=*/true);
    ns.push_back(n);
    prompts.push_back(messages.size() > 1 ? messages[1].content : "");
    LlmResponse response;
    for (int i = 0; i < n && !replies_.empty(); ++i) {
      response.replies.push_back(replies_.front());
      replies_.pop_front();
    }
    response.prompt_tokens = 1000;
    response.completion_tokens = 100;
    return response;
  }
  std::string model() const override { return name_; }
  std::string endpoint() const override { return "scripted:" + name_; }

  std::vector<int> ns;
  std::vector<std::string> prompts;

 private:
  std::string name_;
  std::deque<std::string> replies_;
};

EvaluateOptions Quick(bool benchmark) {
  EvaluateOptions options;
  options.sanitizers = false;
  options.benchmark = benchmark;
  return options;
}

// As if the disk were nearly full: any failing gate is the machine's.
EvaluateOptions FullDisk() {
  EvaluateOptions options = Quick(false);
  options.min_free_disk_bytes = uint64_t{1} << 62;
  return options;
}

struct RunOutcome {
  LoopResult result;
  std::vector<AttemptRecord> attempts;
  RunRecord run;
  std::string out;
};

RunOutcome RunWith(const FixtureRepo& repo, std::vector<LoopModel> models, LoopSettings settings,
                   bool benchmark, std::optional<EvaluateOptions> options = std::nullopt) {
  Project project = LoadProject(repo.path());
  Evaluator evaluator(project, options.value_or(Quick(benchmark)));
  Ledger ledger(Ledger::DefaultPath(repo.path()));
  std::ostringstream out;
  RunOutcome run;
  run.result = RunLoop(project, evaluator, models, ledger, settings, nlohmann::json::object(), out);
  run.run = *ledger.LastRun();
  run.attempts = ledger.RunAttempts(run.run.id);
  run.out = out.str();
  return run;
}

LoopModel Model(ScriptedModel& source) {
  return {source.model(), &source, std::nullopt};
}

TEST(LoopSearch, ARepeatedPatchIsNotJudgedAgain) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string wrong = ReadCandidate("wrong_result.txt");
  // The same change in other words: only the prose differs.
  ScriptedModel model("m", {wrong, "Trying again with this change.\n\n" + wrong});
  LoopSettings settings;
  settings.candidates = 1;
  settings.max_repairs = 0;
  settings.max_iterations = 2;
  RunOutcome run = RunWith(repo, {Model(model)}, settings, false);
  ASSERT_EQ(run.attempts.size(), 2u) << run.out;
  EXPECT_EQ(run.attempts[0].verdict, "failed");
  EXPECT_FALSE(run.attempts[0].candidate_key.empty());
  EXPECT_EQ(run.attempts[1].verdict, "repeat") << run.out;
  EXPECT_EQ(run.attempts[1].repeat_of.value_or(0), run.attempts[0].id);
  EXPECT_EQ(run.attempts[1].candidate_key, run.attempts[0].candidate_key);
  EXPECT_THAT(run.attempts[1].message,
              HasSubstr("repeat of attempt " + std::to_string(run.attempts[0].id)));
  // Not judged: no gate ran for it.
  EXPECT_TRUE(run.attempts[1].gates_json.empty());

  // A later run recognises it too, from the ledger.
  ScriptedModel again("m", {wrong});
  settings.max_iterations = 1;
  RunOutcome later = RunWith(repo, {Model(again)}, settings, false);
  ASSERT_EQ(later.attempts.size(), 1u);
  EXPECT_EQ(later.attempts[0].verdict, "repeat");
  EXPECT_EQ(later.attempts[0].repeat_of.value_or(0), run.attempts[0].id);
}

TEST(LoopSearch, SeveralModelsAreEachAskedAndRecorded) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string nothing = "I have no patch this time.";
  ScriptedModel a("model-a", {nothing, nothing, nothing, nothing});
  ScriptedModel b("model-b", {nothing, nothing, nothing, nothing});
  LoopSettings settings;
  settings.candidates = 1;
  settings.max_repairs = 0;
  settings.max_iterations = 4;
  settings.seed = 7;
  RunOutcome run = RunWith(repo, {Model(a), Model(b)}, settings, false);
  ASSERT_EQ(run.attempts.size(), 4u) << run.out;
  std::set<std::string> names;
  for (const AttemptRecord& attempt : run.attempts) names.insert(attempt.model);
  EXPECT_EQ(names, (std::set<std::string>{"model-a", "model-b"}));
  EXPECT_EQ(a.ns.size() + b.ns.size(), 4u);
  EXPECT_THAT(run.run.model, HasSubstr("model-a"));
  EXPECT_THAT(run.run.model, HasSubstr("model-b"));
  EXPECT_THAT(run.out, HasSubstr("model model-a:"));
}

TEST(LoopSearch, BestOfNAsksSeparatelyWithoutHistory) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string nothing = "No patch.";
  ScriptedModel model("m", {nothing, nothing, nothing, nothing});
  LoopSettings settings;
  settings.strategy = "best-of-n";
  settings.candidates = 2;
  settings.max_repairs = 0;
  settings.max_iterations = 2;
  RunOutcome run = RunWith(repo, {Model(model)}, settings, false);
  EXPECT_EQ(run.run.strategy, "best-of-n");
  EXPECT_EQ(model.ns, (std::vector<int>{1, 1, 1, 1}));
  ASSERT_EQ(run.attempts.size(), 4u);
  EXPECT_EQ(run.attempts[1].round, 1);
  EXPECT_EQ(run.attempts[1].candidate, 2);
  // Round 2 is not shown round 1.
  EXPECT_THAT(model.prompts[2], Not(HasSubstr("round 1.1")));
}

TEST(LoopSearch, GreedyIsOneRequestForNRepliesWithHistory) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string nothing = "No patch.";
  ScriptedModel model("m", {nothing, nothing, nothing, nothing});
  LoopSettings settings;
  settings.candidates = 2;
  settings.max_repairs = 0;
  settings.max_iterations = 2;
  RunOutcome run = RunWith(repo, {Model(model)}, settings, false);
  EXPECT_EQ(run.run.strategy, "greedy");
  EXPECT_EQ(model.ns, (std::vector<int>{2, 2}));
  EXPECT_THAT(model.prompts[1], HasSubstr("round 1.1"));
}

TEST(LoopSearch, IndependentPromotesOnlyWhenTheRunEnds) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string initial = repo.Head();
  ScriptedModel model("m", {ReadCandidate("speedup.txt"), "No patch."});
  LoopSettings settings;
  settings.strategy = "independent";
  settings.candidates = 1;
  settings.max_repairs = 0;
  settings.max_iterations = 2;
  RunOutcome run = RunWith(repo, {Model(model)}, settings, true);
  ASSERT_EQ(run.attempts.size(), 2u) << run.out;
  // Round 2 was asked from the same parent: the speed-up of round 1 not yet promoted.
  EXPECT_THAT(model.prompts[1], Not(HasSubstr("acc[8]")));
  EXPECT_EQ(run.attempts[0].verdict, "promoted") << run.out;
  EXPECT_EQ(run.result.promotions, 1);
  EXPECT_NE(repo.Head(), initial);
  // The promotion is the run's last line but one.
  EXPECT_LT(run.out.find("dot 2.1"), run.out.find("dot 1.1 promoted")) << run.out;
}

TEST(LoopSearch, ArchiveShowsAnEarlierCandidateAsTheFilesToEdit) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string slower = ReadCandidate("slower.txt");  // right but slower: a near miss
  std::vector<std::string> replies = {slower};
  for (int i = 0; i < 5; ++i) replies.push_back("No patch.");
  ScriptedModel model("m", replies);
  LoopSettings settings;
  settings.strategy = "archive";
  settings.candidates = 1;
  settings.max_repairs = 0;
  settings.max_iterations = 6;
  settings.seed = 11;
  RunOutcome run = RunWith(repo, {Model(model)}, settings, true);
  ASSERT_EQ(run.attempts.size(), 6u) << run.out;
  EXPECT_EQ(run.attempts[0].failed_gate.value_or(""), "benchmark") << run.out;
  int shown = 0;
  for (size_t i = 1; i < model.prompts.size(); ++i) {
    if (model.prompts[i].find("those of earlier candidate " + std::to_string(run.attempts[0].id)) !=
        std::string::npos)
      ++shown;
  }
  // HEAD half the time, the kept candidate otherwise: over five rounds both happen.
  EXPECT_GT(shown, 0);
  EXPECT_LT(shown, 5);
}

// Room for a repair turn and two more rounds: a machine fault must use none of them.
LoopSettings RoomForMore() {
  LoopSettings settings;
  settings.candidates = 1;
  settings.max_repairs = 1;
  settings.max_iterations = 3;
  return settings;
}

TEST(LoopSearch, AFullDiskIsNeverTheCandidatesFailureAndStopsTheRun) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string wrong = ReadCandidate("wrong_result.txt");
  ScriptedModel model("m", {wrong, wrong, wrong});
  LoopSettings settings = RoomForMore();
  RunOutcome run = RunWith(repo, {Model(model)}, settings, false, FullDisk());
  // One reply judged, by the machine: an error, no gate blamed, no repair asked, no next round.
  ASSERT_EQ(run.attempts.size(), 1u) << run.out;
  EXPECT_EQ(run.attempts[0].verdict, "error");
  EXPECT_FALSE(run.attempts[0].failed_gate.has_value());
  EXPECT_THAT(run.attempts[0].message, HasSubstr("not the candidate's"));
  EXPECT_THAT(run.attempts[0].message, HasSubstr("disk nearly full"));
  EXPECT_TRUE(run.attempts[0].candidate_key.empty());  // not a judgement: may be judged later
  EXPECT_TRUE(run.result.machine_fault);
  EXPECT_THAT(run.result.stop_reason, HasSubstr("machine fault"));
  EXPECT_EQ(model.ns.size(), 1u);  // nothing more was paid for
}

TEST(LoopSearch, AnExecutorRoundNeverSubmitsARepeat) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string wrong = ReadCandidate("wrong_result.txt");
  // Two copies in one round, then a repair turn that sends the same change again.
  ScriptedModel model("m", {wrong, "Same again.\n\n" + wrong, wrong});
  LocalPoolExecutor executor({.rlvr_binary = RLVR_BINARY, .parallel = 2});
  LoopSettings settings;
  settings.candidates = 2;
  settings.max_repairs = 1;
  settings.max_iterations = 1;
  settings.executor = &executor;
  settings.evaluation.sanitizers = false;
  settings.evaluation.benchmark = false;
  RunOutcome run = RunWith(repo, {Model(model)}, settings, false);
  ASSERT_EQ(run.attempts.size(), 3u) << run.out;
  EXPECT_EQ(run.attempts[0].verdict, "failed") << run.out;
  EXPECT_EQ(run.attempts[1].verdict, "repeat");
  EXPECT_THAT(run.attempts[1].message, HasSubstr("judged in this round"));
  EXPECT_EQ(run.attempts[2].repair, 1);
  EXPECT_EQ(run.attempts[2].verdict, "repeat");
  EXPECT_EQ(run.attempts[2].repeat_of.value_or(0), run.attempts[0].id);
}

TEST(LoopSearch, AFullDiskAtStartStopsBeforeAnyPaidRequest) {
  FixtureRepo repo = MakeFixtureRepo();
  ScriptedModel model("m", {ReadCandidate("speedup.txt")});
  LoopSettings settings;
  settings.candidates = 1;
  settings.max_iterations = 1;
  settings.min_free_disk_bytes = uint64_t{1} << 62;
  RunOutcome run = RunWith(repo, {Model(model)}, settings, false);
  EXPECT_TRUE(model.ns.empty());  // never asked
  EXPECT_TRUE(run.attempts.empty());
  EXPECT_TRUE(run.result.machine_fault);
  EXPECT_THAT(run.result.stop_reason, HasSubstr("disk nearly full"));
}

// A compiler killed from outside (the out-of-memory killer) is the machine's fault: the build is
// tried again with one job, then the attempt is recorded as not judged (no gate blamed, no repair
// turn) and the run stops before paying for another reply.
TEST(LoopSearch, AKilledCompilerIsTheMachinesFaultNotTheCandidates) {
  FixtureRepo repo = MakeFixtureRepo();
  namespace fs = std::filesystem;
  fs::path launcher = repo.path().parent_path() / (repo.path().filename().string() + "-cc");
  fs::path calls = launcher;
  calls += ".calls";
  {
    std::ofstream out(launcher);
    out << "#!/bin/sh\ncase \"$*\" in *kernel/dot.cpp*)\n  echo x >> '" << calls.string()
        << "'\n  echo 'c++: fatal error: Killed signal terminated program cc1plus' >&2\n"
        << "  exit 1;;\nesac\nexec c++ \"$@\"\n";
  }
  fs::permissions(launcher, fs::perms::owner_all);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(repo.path() / "rlvr.json"));
  config["build"]["configure_args"].push_back("-DCMAKE_CXX_COMPILER=" + launcher.string());
  std::ofstream(repo.path() / "rlvr.json") << config.dump(2);
  repo.Git("commit -qam launcher");
  std::string wrong = ReadCandidate("wrong_result.txt");
  ScriptedModel model("m", {wrong, wrong, wrong});
  LoopSettings settings = RoomForMore();
  RunOutcome run = RunWith(repo, {Model(model)}, settings, false);
  std::string calls_made;
  {
    std::ifstream in(calls);
    calls_made.assign(std::istreambuf_iterator<char>(in), {});
  }
  fs::remove(launcher);
  fs::remove(calls);
  ASSERT_EQ(run.attempts.size(), 1u) << run.out;
  EXPECT_EQ(run.attempts[0].verdict, "error");
  EXPECT_FALSE(run.attempts[0].failed_gate.has_value());
  EXPECT_THAT(run.attempts[0].message, HasSubstr("not the candidate's"));
  EXPECT_THAT(run.attempts[0].message, HasSubstr("the compiler was killed"));
  EXPECT_THAT(run.attempts[0].message, HasSubstr("also with one build job"));
  // HEAD's build, then once more with one job (ninja may start more than one compile of dot.cpp).
  EXPECT_GE(std::count(calls_made.begin(), calls_made.end(), '\n'), 2);
  EXPECT_TRUE(run.result.machine_fault);
  EXPECT_EQ(model.ns.size(), 1u);  // nothing more was paid for
}

}  // namespace
}  // namespace rlvr
