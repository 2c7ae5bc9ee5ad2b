// The run's models from rlvr.json and flags (loop/model_list.h).
#include "harness/loop/model_list.h"

#include <CLI/CLI.hpp>
#include <fstream>

#include "harness/loop/settings.h"
#include "tests/harness/fixture_repo.h"

#include <gtest/gtest.h>

namespace rlvr {
namespace {

using nlohmann::json;

TEST(ModelList, OneModelFromTheSectionAsToday) {
  LlmSettings defaults;
  json section = {{"model", "m1"}, {"base_url", "http://x/v1"}, {"temperature", 0.2}};
  std::vector<ModelSpec> specs = ResolveModels(section, {}, defaults);
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].name, "m1");
  EXPECT_EQ(specs[0].llm.base_url, "http://x/v1");
  EXPECT_DOUBLE_EQ(specs[0].llm.temperature, 0.2);
  EXPECT_FALSE(specs[0].price.has_value());
}

TEST(ModelList, SeveralFromTheSectionWithTheirPrices) {
  json section = {
      {"base_url", "http://common/v1"},
      {"price", {{"input", 1}, {"output", 2}}},
      {"models",
       {{{"model", "big"}, {"price", {{"input", 5}, {"output", 15}, {"cached_input", 0.5}}}},
        {{"model", "small"}, {"name", "small-hot"}, {"temperature", 1.0}}}}};
  std::vector<ModelSpec> specs = ResolveModels(section, {}, LlmSettings{});
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "big");
  EXPECT_DOUBLE_EQ(specs[0].price->input_per_million, 5);
  EXPECT_DOUBLE_EQ(*specs[0].price->cached_input_per_million, 0.5);
  EXPECT_EQ(specs[1].name, "small-hot");
  EXPECT_EQ(specs[1].llm.model, "small");
  EXPECT_EQ(specs[1].llm.base_url, "http://common/v1");
  EXPECT_DOUBLE_EQ(specs[1].price->output_per_million, 2);  // the section's price
  EXPECT_DOUBLE_EQ(specs[1].llm.temperature, 1.0);
}

TEST(ModelList, RepeatedFlagsAlignWithTheModels) {
  ModelFlags flags;
  flags.models = {"a", "b"};
  flags.prices = {"1/2", "3/4/0.5"};
  flags.base_urls = {"http://one/v1"};  // once: for both
  std::vector<ModelSpec> specs = ResolveModels(json::object(), flags, LlmSettings{});
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[1].llm.model, "b");
  EXPECT_EQ(specs[0].llm.base_url, "http://one/v1");
  EXPECT_EQ(specs[1].llm.base_url, "http://one/v1");
  EXPECT_DOUBLE_EQ(specs[0].price->output_per_million, 2);
  EXPECT_DOUBLE_EQ(specs[1].price->input_per_million, 3);
}

TEST(ModelList, RefusesWhatIsAmbiguousOrWrong) {
  ModelFlags flags;
  flags.models = {"a", "b", "c"};
  flags.prices = {"1/2", "3/4"};
  EXPECT_THROW(ResolveModels(json::object(), flags, LlmSettings{}), std::invalid_argument);
  ModelFlags same;
  same.models = {"a", "a"};
  EXPECT_THROW(ResolveModels(json::object(), same, LlmSettings{}), std::invalid_argument);
  EXPECT_THROW(ResolveModels({{"models", json::array()}}, {}, LlmSettings{}),
               std::invalid_argument);
  EXPECT_THROW(ResolveModels({{"price", {{"input", -1}, {"output", 1}}}}, {}, LlmSettings{}),
               std::invalid_argument);
  EXPECT_THROW(ParsePrice("2.5"), std::invalid_argument);
  EXPECT_THROW(ParsePrice("a/b"), std::invalid_argument);
}

TEST(ModelList, IterateSettingsCarryEveryModelAndRecordNoKey) {
  FixtureRepo repo = MakeFixtureRepo();
  IterateFlags flags;
  flags.models = {"big", "small"};
  flags.prices = {"5/15", "0.5/1.5"};
  flags.api_key_envs = {"BIG_KEY", "SMALL_KEY"};
  flags.strategy = "best-of-n";
  IterateSettings settings = ResolveIterateSettings(repo.path(), flags);
  ASSERT_EQ(settings.models.size(), 2u);
  EXPECT_EQ(settings.models[1].llm.api_key_env, "SMALL_KEY");
  EXPECT_EQ(settings.loop.strategy, "best-of-n");
  ASSERT_EQ(settings.recorded["models"].size(), 2u);
  EXPECT_EQ(settings.recorded["models"][0]["price"]["input"], 5);
  EXPECT_EQ(settings.recorded["strategy"], "best-of-n");
  // The flags' model list: an unknown strategy or a misaligned flag is refused (exit 2).
  flags.strategy = "evolve";
  try {
    ResolveIterateSettings(repo.path(), flags);
    ADD_FAILURE() << "an unknown strategy was accepted";
  } catch (const CLI::RuntimeError& e) {
    EXPECT_EQ(e.get_exit_code(), 2);
  }
  flags.strategy.reset();
  flags.temperatures = {0.1, 0.2, 0.3};
  EXPECT_THROW(ResolveIterateSettings(repo.path(), flags), CLI::RuntimeError);
}

}  // namespace
}  // namespace rlvr
