// Cost accounting in `rlvr iterate` end to end against the scripted endpoint: --price and the
// rlvr.json price resolved (bad ones refused with exit status 2), the request's dollars, cached
// tokens and the estimated flag booked on the row that books its tokens, the --max-cost budget
// (replies already paid for are still judged), and `rlvr status` showing the run's cost.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "harness/ledger/ledger.h"
#include "harness/loop/settings.h"
#include "harness/report/cost.h"
#include "tests/fake_endpoint/fake_endpoint.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs RLVR_BINARY with `args` to its end; its stdout+stderr in *output. Returns the exit status.
int RunRlvr(const std::vector<std::string>& args, const std::filesystem::path& log,
            std::string* output) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    setenv("OPENAI_API_KEY", "sk-test-cost", 1);
    std::vector<char*> argv;
    std::string binary = RLVR_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  *output = ReadAll(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class LoopCostTest : public ::testing::Test {
 protected:
  std::filesystem::path Log() const {
    return repo_.path().parent_path() / (repo_.path().filename().string() + ".log");
  }
  void TearDown() override { std::filesystem::remove(Log()); }

  std::vector<AttemptRecord> Rows() {
    Ledger ledger(Ledger::DefaultPath(repo_.path()));
    return ledger.RunAttempts(ledger.LastRun()->id);
  }

  // Adds `llm` as rlvr.json's "llm" section.
  void SetLlmSection(const json& llm) {
    std::filesystem::path path = repo_.path() / "rlvr.json";
    json config = json::parse(ReadAll(path));
    config["llm"] = llm;
    std::ofstream(path) << config.dump(2);
  }

  // ResolveIterateSettings' exit status and message for `flags` (0, "" when it accepts them).
  std::pair<int, std::string> Refusal(IterateFlags flags) {
    try {
      ResolveIterateSettings(repo_.path(), flags);
      return {0, ""};
    } catch (const CLI::RuntimeError& e) {
      return {e.get_exit_code(), e.what()};
    }
  }

  FixtureRepo repo_ = MakeFixtureRepo();
};

TEST_F(LoopCostTest, MaxCostStopsTheRunAfterItsPaidRepliesAreJudged) {
  // One request for two replies; 10 of its prompt tokens served from the cache.
  FakeEndpoint endpoint(
      json::array({{{"contents", {"no patch here", "nor here"}}, {"cached_tokens", 10}}}));
  endpoint.Start();
  std::string out;
  // A dollar a token (cached ones free): the first request spends the whole budget.
  int status = RunRlvr({"iterate", "-C", repo_.path().string(), "--base-url", endpoint.base_url(),
                        "-n", "2", "--max-repairs", "0", "--no-sanitizers", "--price",
                        "1000000/1000000/0", "--max-cost", "0.5"},
                       Log(), &out);
  EXPECT_EQ(status, 0) << out;
  EXPECT_THAT(out, HasSubstr("stopped (max-cost) after 1 round(s), 2 attempt(s)")) << out;
  EXPECT_EQ(endpoint.requests().size(), 1u);
  std::vector<AttemptRecord> rows = Rows();
  ASSERT_EQ(rows.size(), 2u);
  // Both replies were judged (no patch in either), not left as unjudged errors.
  EXPECT_EQ(rows[0].verdict, "failed") << rows[0].message;
  EXPECT_EQ(rows[1].verdict, "failed") << rows[1].message;
  // The request's cost is booked with its tokens, on its first candidate only.
  ASSERT_TRUE(rows[0].cost.has_value());
  EXPECT_DOUBLE_EQ(*rows[0].cost,
                   static_cast<double>(rows[0].prompt_tokens - 10 + rows[0].completion_tokens));
  EXPECT_EQ(rows[0].cached_prompt_tokens, 10);
  EXPECT_FALSE(rows[0].cost_estimated);
  EXPECT_FALSE(rows[1].cost.has_value());
  EXPECT_EQ(rows[1].prompt_tokens, 0);
  Ledger ledger(Ledger::DefaultPath(repo_.path()));
  EXPECT_DOUBLE_EQ(ledger.CostUsed(ledger.LastRun()->id), *rows[0].cost);
  EXPECT_EQ(ledger.LastRun()->strategy, "greedy");
  json recorded = json::parse(ledger.LastRun()->settings_json);
  EXPECT_EQ(recorded["price"]["input"], 1000000.0);
  EXPECT_EQ(recorded["price"]["cached_input"], 0.0);
  EXPECT_EQ(recorded["max_cost"], 0.5);

  ASSERT_EQ(RunRlvr({"status", "-C", repo_.path().string()}, Log(), &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("strategy greedy")) << out;
  EXPECT_THAT(out, HasSubstr("cost: " + FormatDollars(*rows[0].cost) + ", no promotion yet"))
      << out;
}

TEST_F(LoopCostTest, MissingUsageIsBookedAsAnEstimatedCost) {
  FakeEndpoint endpoint(json::array({{{"content", "no patch at all"}, {"no_usage", true}}}));
  endpoint.Start();
  SetLlmSection({{"price", {{"input", 2.5}, {"output", 10}}}});
  std::string out;
  int status =
      RunRlvr({"iterate", "-C", repo_.path().string(), "--base-url", endpoint.base_url(), "-n", "1",
               "--max-repairs", "0", "--max-iterations", "1", "--no-sanitizers"},
              Log(), &out);
  EXPECT_EQ(status, 0) << out;
  std::vector<AttemptRecord> rows = Rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].cost_estimated);
  // "no patch at all" is 15 characters: 4 completion tokens, estimated.
  EXPECT_EQ(rows[0].completion_tokens, 4);
  ASSERT_TRUE(rows[0].cost.has_value());
  EXPECT_DOUBLE_EQ(*rows[0].cost, (rows[0].prompt_tokens * 2.5 + 4 * 10.0) / 1e6);
  ASSERT_EQ(RunRlvr({"status", "-C", repo_.path().string()}, Log(), &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("(estimated), no promotion yet")) << out;
}

TEST_F(LoopCostTest, UnpricedRunSaysNoPriceSet) {
  FakeEndpoint endpoint(json::array({{{"content", "no patch"}}}));
  endpoint.Start();
  std::string out;
  ASSERT_EQ(RunRlvr({"iterate", "-C", repo_.path().string(), "--base-url", endpoint.base_url(),
                     "-n", "1", "--max-repairs", "0", "--max-iterations", "1", "--no-sanitizers"},
                    Log(), &out),
            0)
      << out;
  EXPECT_FALSE(Rows()[0].cost.has_value());
  ASSERT_EQ(RunRlvr({"status", "-C", repo_.path().string()}, Log(), &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("cost: no price set")) << out;
}

TEST_F(LoopCostTest, PriceFlagAndRlvrJsonPriceResolve) {
  IterateFlags flags;
  flags.prices = {"2.5/10/1.25"};
  IterateSettings settings = ResolveIterateSettings(repo_.path(), flags);
  ASSERT_TRUE(settings.models.front().price.has_value());
  EXPECT_EQ(settings.models.front().price->input_per_million, 2.5);
  EXPECT_EQ(settings.models.front().price->output_per_million, 10);
  EXPECT_EQ(settings.models.front().price->cached_input_per_million, 1.25);
  EXPECT_EQ(settings.recorded["price"]["cached_input"], 1.25);

  EXPECT_FALSE(
      ResolveIterateSettings(repo_.path(), IterateFlags{}).models.front().price.has_value());
  EXPECT_TRUE(ResolveIterateSettings(repo_.path(), IterateFlags{}).recorded["price"].is_null());

  SetLlmSection({{"price", {{"input", 3}, {"output", 15}}}});
  settings = ResolveIterateSettings(repo_.path(), IterateFlags{});
  ASSERT_TRUE(settings.models.front().price.has_value());
  EXPECT_EQ(settings.models.front().price->input_per_million, 3);
  EXPECT_FALSE(settings.models.front().price->cached_input_per_million.has_value());
  // The flag wins over rlvr.json.
  settings = ResolveIterateSettings(repo_.path(), flags);
  EXPECT_EQ(settings.models.front().price->input_per_million, 2.5);
  // A budget with the rlvr.json price is accepted.
  IterateFlags budget;
  budget.loop.max_cost = 5;
  EXPECT_EQ(Refusal(budget).first, 0);
  EXPECT_EQ(ResolveIterateSettings(repo_.path(), budget).loop.max_cost, 5);
}

TEST_F(LoopCostTest, BadPricesAndBudgetsExitTwoSayingWhy) {
  IterateFlags flags;
  flags.loop.max_cost = 1;
  auto [status, message] = Refusal(flags);
  EXPECT_EQ(status, 2);
  EXPECT_THAT(message, HasSubstr("rlvr iterate: --max-cost needs the price of model 'gpt-4o'"));
  EXPECT_THAT(message, HasSubstr("--price"));

  flags = IterateFlags{};
  flags.prices = {"cheap"};
  std::tie(status, message) = Refusal(flags);
  EXPECT_EQ(status, 2);
  EXPECT_THAT(message, HasSubstr("rlvr iterate: --price: price 'cheap'"));

  flags.prices = {"1/-2"};
  EXPECT_EQ(Refusal(flags).first, 2);

  flags = IterateFlags{};
  flags.prices = {"1/2"};
  flags.loop.max_cost = -1;
  std::tie(status, message) = Refusal(flags);
  EXPECT_EQ(status, 2);
  EXPECT_THAT(message, HasSubstr("--max-cost must be a non-negative"));

  SetLlmSection({{"price", {{"input", "2.5"}, {"output", 10}}}});
  std::tie(status, message) = Refusal(IterateFlags{});
  EXPECT_EQ(status, 2);
  EXPECT_THAT(message, HasSubstr("rlvr iterate: rlvr.json llm.price.input must be a non-negative"));

  SetLlmSection({{"price", {{"input", 1}}}});
  std::tie(status, message) = Refusal(IterateFlags{});
  EXPECT_EQ(status, 2);
  EXPECT_THAT(message, HasSubstr("llm.price lacks \"output\""));

  SetLlmSection({{"price", {{"input", 1}, {"output", 2}, {"cached_input", -1}}}});
  std::tie(status, message) = Refusal(IterateFlags{});
  EXPECT_EQ(status, 2);
  EXPECT_THAT(message, HasSubstr("llm.price.cached_input"));

  SetLlmSection({{"price", "2.5/10"}});
  std::tie(status, message) = Refusal(IterateFlags{});
  EXPECT_EQ(status, 2);
  EXPECT_THAT(message, HasSubstr("llm.price must be an object"));

  // Through the command: the same exit status and message on stderr.
  std::string out;
  EXPECT_EQ(RunRlvr({"iterate", "-C", repo_.path().string(), "--max-cost", "1"}, Log(), &out), 2);
  EXPECT_THAT(out, HasSubstr("llm.price must be an object")) << out;
}

}  // namespace
}  // namespace rlvr
