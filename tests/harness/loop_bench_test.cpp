// `rlvr loop-bench` (harness/loopbench/bench.h) end to end on the fixture repository: the real loop
// and verifier, simulated models serving a tiny library written here (a speed-up, a test-breaking
// edit, a scope violation that loosens the tests, a reply with no patch), two strategies by two
// seeds. The table's counts must be the ledgers', nothing wrong is promoted, identical candidates
// are judged once, and the user's repository is left as it was. Plus the settings' validation.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "harness/ledger/ledger.h"
#include "harness/loopbench/bench.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<Proposal> TinyLibrary() {
  auto make = [](std::string name, std::string label, std::string reply) {
    Proposal p;
    p.target = "dot";
    p.name = std::move(name);
    p.label = std::move(label);
    p.reply = std::move(reply);
    return p;
  };
  return {make("eight-accumulators", "faster", ReadCandidate("speedup.txt")),
          make("drops-a-term", "wrong", ReadCandidate("wrong_result.txt")),
          make("loosens-the-test", "cheat", ReadCandidate("edits_test.txt")),
          make("talks-only", "malformed", "I would unroll the loop, but here is no patch.\n")};
}

TEST(LoopBench, CountsMatchTheLedgersAndNothingWrongIsPromoted) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string head = repo.Head();
  LoopBenchSettings settings = ParseLoopBenchSettings(json::parse(R"({
    "targets": ["dot"], "strategies": ["greedy", "best-of-n"], "seeds": 2, "proposals": 6,
    "candidates": 1, "class_mix": {"faster": 2, "wrong": 2, "cheat": 1, "malformed": 1},
    "models": [{"name": "sim-a", "price": "1/2"}], "repeat_rate": 0, "no_sanitizers": true})"));
  fs::path work = repo.path().parent_path() / (repo.path().filename().string() + "-bench");
  std::ostringstream out;
  LoopBenchResult result = RunLoopBench(settings, TinyLibrary(), {repo.path(), work}, out);
  std::string shown = result.Render();

  ASSERT_EQ(result.runs.size(), 4u) << out.str() << shown;
  EXPECT_EQ(result.false_promotions, 0) << shown;
  int total_promotions = 0;
  int judged_rows = 0;
  int wrong_judged = 0;
  for (const RunMetrics& run : result.runs) {
    SCOPED_TRACE(run.strategy + " seed " + std::to_string(run.seed));
    EXPECT_EQ(run.stop_reason, "replay exhausted");
    Ledger ledger(work / "ledgers" /
                  (run.strategy + "-seed" + std::to_string(run.seed) + ".sqlite"));
    std::vector<AttemptRecord> rows = ledger.RunAttempts(ledger.LastRun()->id);
    int promotions = 0, replies = 0;
    int64_t tokens = 0;
    double product = 1;
    for (const AttemptRecord& a : rows) {
      tokens += a.prompt_tokens + a.completion_tokens;
      if (a.failed_gate.value_or("") != "llm") ++replies;
      if (a.verdict == "promoted") {
        ++promotions;
        product *= a.primary_ratio.value_or(1);
        EXPECT_EQ(a.reply, ReadCandidate("speedup.txt")) << "only the speed-up may be promoted";
      }
      if (a.verdict != "error") ++judged_rows;
      if (a.reply == ReadCandidate("wrong_result.txt")) ++wrong_judged;
    }
    EXPECT_EQ(run.attempts, static_cast<int>(rows.size()));
    EXPECT_EQ(run.proposals, 6);
    EXPECT_EQ(replies, run.proposals);
    EXPECT_EQ(run.promotions, promotions);
    EXPECT_EQ(run.tokens, tokens);
    EXPECT_GT(tokens, 0);
    // $1 a million prompt tokens, $2 a million completion tokens.
    int64_t prompt = 0, completion = 0;
    for (const AttemptRecord& a : rows)
      prompt += a.prompt_tokens, completion += a.completion_tokens;
    EXPECT_NEAR(run.cost, (prompt * 1.0 + completion * 2.0) / 1e6, 1e-12);
    // No stored baseline in the fixture: the speed-up is the promotions' own ratios.
    EXPECT_EQ(run.speedup_source, "promoted ratios");
    EXPECT_NEAR(run.speedup, 1 / product, 1e-9);
    if (promotions > 0) EXPECT_GT(run.speedup, 1.03);
    total_promotions += promotions;
  }
  EXPECT_GE(total_promotions, 1) << shown;
  EXPECT_GE(wrong_judged, 1) << "the wrong proposal was never served: the test proves nothing";
  // Every judged row was either judged by the verifier or reused; seeds repeat candidates.
  EXPECT_EQ(result.judged + result.reused, judged_rows) << shown;
  EXPECT_GT(result.reused, 0) << shown;

  ASSERT_EQ(result.strategies.size(), 2u);
  EXPECT_EQ(result.strategies[0].rank, 1);
  json saved = result.ToJson(settings);
  EXPECT_EQ(saved["runs"].size(), 4u);
  EXPECT_EQ(saved["evaluations"]["judged"], result.judged);
  EXPECT_NE(shown.find("greedy"), std::string::npos);
  EXPECT_NE(shown.find("reused"), std::string::npos);

  // The user's repository: same HEAD, branch and clean tree.
  EXPECT_EQ(repo.Head(), head);
  EXPECT_EQ(repo.Git("rev-parse --abbrev-ref HEAD"), "main\n");
  EXPECT_EQ(repo.Git("status --porcelain"), "");
  EXPECT_EQ(repo.Git("branch --list"), "* main\n");
  fs::remove_all(work);
}

TEST(LoopBenchSettings, DefaultsAndRefusals) {
  LoopBenchSettings defaults = ParseLoopBenchSettings(json::object());
  EXPECT_EQ(defaults.seeds, 5);
  EXPECT_EQ(defaults.proposals, 50);
  EXPECT_EQ(defaults.strategies.size(), 4u);
  ASSERT_EQ(defaults.models.size(), 1u);
  EXPECT_FALSE(defaults.models[0].price.has_value());

  LoopBenchSettings priced =
      ParseLoopBenchSettings(json::parse(R"({"models": [{"name": "a", "price": "2.5/10"}]})"));
  ASSERT_TRUE(priced.models[0].price.has_value());
  EXPECT_DOUBLE_EQ(priced.models[0].price->output_per_million, 10);

  for (const char* bad : {R"({"seed": 3})", R"({"seeds": 0})", R"({"strategies": ["random"]})",
                          R"({"class_mix": {"great": 1}})", R"({"models": []})",
                          R"({"models": [{"name": "a", "price": "cheap"}]})",
                          R"({"models": [{"name": "a"}, {"name": "a"}]})", R"({"repeat_rate": 2})",
                          R"({"proposals": "many"})"}) {
    EXPECT_THROW(ParseLoopBenchSettings(json::parse(bad)), LoopBenchSettingsError) << bad;
  }
}

TEST(LoopBenchSummary, RanksByGainPerDollarThenSpeedup) {
  auto run = [](std::string strategy, int seed, double speedup, double cost, bool priced) {
    RunMetrics r;
    r.strategy = std::move(strategy);
    r.seed = seed;
    r.speedup = speedup;
    r.cost = cost;
    r.priced = priced;
    return r;
  };
  std::vector<RunMetrics> runs = {
      run("greedy", 1, 1.5, 1.0, true), run("greedy", 2, 1.1, 1.0, true),
      run("greedy", 3, 1.3, 1.0, true), run("archive", 1, 2.0, 0.5, true),
      run("independent", 1, 3.0, 0, false)};
  std::vector<StrategySummary> summaries =
      SummariseStrategies({"greedy", "archive", "independent"}, runs);
  ASSERT_EQ(summaries.size(), 3u);
  EXPECT_EQ(summaries[0].strategy, "archive");  // (2 - 1) / $0.5 = 2 per dollar
  EXPECT_EQ(summaries[1].strategy, "greedy");   // median 0.3 per dollar
  EXPECT_NEAR(*summaries[1].median_gain_per_dollar, 0.3, 1e-12);
  EXPECT_NEAR(summaries[1].speedup.median, 1.3, 1e-12);
  EXPECT_NEAR(summaries[1].speedup.min, 1.1, 1e-12);
  EXPECT_NEAR(summaries[1].speedup.max, 1.5, 1e-12);
  EXPECT_EQ(summaries[2].strategy, "independent");  // unpriced: after, by speed-up
  EXPECT_FALSE(summaries[2].median_gain_per_dollar.has_value());
  EXPECT_EQ(summaries[2].rank, 3);
}

}  // namespace
}  // namespace rlvr
