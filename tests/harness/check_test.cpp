// The checks of `rlvr check` (harness/repo/check.h) called directly, on copies of
// tests/fixtures/tiny_repo: what stops after rlvr.json, what FAILs at HEAD without building, and
// the fixture passing every check (one build of HEAD); the report's lines and the listings'
// parsers.
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/file_text.h"
#include "harness/base/run_lock.h"
#include "harness/repo/check.h"
#include "harness/repo/check_report.h"
#include "harness/repo/head_build.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using testing::ElementsAre;
using testing::HasSubstr;

// The lines of `report` with `status`, as "subject: message".
std::vector<std::string> LinesWith(const CheckReport& report, CheckReport::Status status) {
  std::vector<std::string> out;
  for (const auto& line : report.lines())
    if (line.status == status) out.push_back(line.subject + ": " + line.message);
  return out;
}

// Rewrites the working tree's rlvr.json (LoadProject reads it from there, uncommitted).
template <typename Edit>
void EditConfig(const FixtureRepo& repo, Edit edit) {
  fs::path path = repo.path() / "rlvr.json";
  nlohmann::json config = nlohmann::json::parse(ReadFileText(path));
  edit(config);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << config.dump(2);
}

TEST(CheckReportTest, CountsEachStatusAndSummarises) {
  CheckReport report;
  report.Ok("build", "fine");
  report.Warning("format", "no style");
  report.Fail("dot.tests", "matches nothing");
  report.Fail("dot.primary", "missing");
  EXPECT_EQ(report.ok(), 1);
  EXPECT_EQ(report.warnings(), 1);
  EXPECT_EQ(report.failures(), 2);
  EXPECT_EQ(report.Summary(), "rlvr check: 1 ok, 1 warning(s), 2 FAIL");
  EXPECT_THAT(LinesWith(report, CheckReport::Status::kFail),
              ElementsAre("dot.tests: matches nothing", "dot.primary: missing"));
}

TEST(CheckReportTest, LongListsAreShortened) {
  EXPECT_EQ(JoinForCheck({"a", "b", "c"}, 2), "a, b, ... (3 in all)");
  EXPECT_EQ(JoinForCheck({"a", "b"}), "a, b");
  EXPECT_EQ(QuoteForCheck("Dot*"), "\"Dot*\"");
}

TEST(CheckListingsTest, GoogleTestAndBenchmarkListingsParse) {
  std::vector<std::string> tests = ParseTestList(
      "DotTest.\n  Small\n  Large  # GetParam() = 4\nAllocDot/Typed.  # TypeParam = float\n"
      "  Zero\n");
  EXPECT_THAT(tests, ElementsAre("DotTest.Small", "DotTest.Large", "AllocDot/Typed.Zero"));
  EXPECT_THAT(SuitesOf(tests), ElementsAre("DotTest", "AllocDot/Typed"));
  EXPECT_THAT(ParseBenchmarkList("BM_Dot/64\nBM_Dot/4096/real_time\r\n\nBM_Ref/8/manual_time\n"),
              ElementsAre("BM_Dot/64", "BM_Dot/4096", "BM_Ref/8"));
}

TEST(CheckTest, NoConfigIsAFailLineAndStopsWithStatus1) {
  FixtureRepo repo = MakeFixtureRepo();
  fs::remove(repo.path() / "rlvr.json");
  RepositoryCheck check(repo.path(), {});
  std::optional<CheckStop> stop = check.CheckConfig();
  ASSERT_TRUE(stop.has_value());
  EXPECT_EQ(stop->exit_status, 1);
  EXPECT_EQ(stop->message, "rlvr check: 0 ok, 0 warning(s), 1 FAIL");
  ASSERT_EQ(check.report().lines().size(), 1u);
  EXPECT_EQ(check.report().lines()[0].subject, "rlvr.json");
  EXPECT_THAT(check.report().lines()[0].message, HasSubstr("rlvr init"));
}

TEST(CheckTest, UnknownTargetStopsWithStatus2AndNoLine) {
  FixtureRepo repo = MakeFixtureRepo();
  RepositoryCheck check(repo.path(), {.targets = {"nosuch"}});
  std::optional<CheckStop> stop = check.CheckConfig();
  ASSERT_TRUE(stop.has_value());
  EXPECT_EQ(stop->exit_status, 2);
  EXPECT_THAT(stop->message, HasSubstr("rlvr check: "));
  EXPECT_THAT(stop->message, HasSubstr("nosuch"));
  EXPECT_TRUE(check.report().lines().empty());
}

// A placeholder binary is a FAIL before any build, and so is an editable file HEAD lacks.
TEST(CheckTest, PlaceholderAndMissingEditableFailWithoutBuilding) {
  FixtureRepo repo = MakeFixtureRepo();
  EditConfig(repo, [](nlohmann::json& config) {
    config["build"]["test_binary"] = "TODO: the test program";
    config["targets"][0]["editable"].push_back("kernel/missing.cpp");
  });
  RepositoryCheck check(repo.path(), {});
  std::optional<CheckStop> config_stop = check.CheckConfig();
  ASSERT_FALSE(config_stop.has_value()) << config_stop->message;
  ASSERT_EQ(check.targets().size(), 1u);
  EXPECT_EQ(check.targets()[0]->name, "dot");
  RunLock lock(repo.path(), "check_test");
  std::optional<CheckStop> stop = check.CheckHead();
  ASSERT_TRUE(stop.has_value());
  EXPECT_EQ(stop->exit_status, 1);
  EXPECT_EQ(stop->message, "fix the FAIL lines above, then run rlvr check again");
  std::vector<std::string> fails = LinesWith(check.report(), CheckReport::Status::kFail);
  ASSERT_EQ(fails.size(), 2u) << testing::PrintToString(fails);
  EXPECT_THAT(fails[0], HasSubstr("dot.editable: \"kernel/missing.cpp\" matches no file at HEAD"));
  EXPECT_THAT(fails[1], HasSubstr("build.test_binary: still the placeholder"));
  EXPECT_THAT(
      LinesWith(check.report(), CheckReport::Status::kWarning),
      testing::Contains(HasSubstr("targets: filters, benchmarks and primaries not checked")));
  EXPECT_FALSE(fs::exists(repo.path() / ".rlvr" / "build" / "baseline"));
}

// The fixture as committed: HEAD builds and every check is ok (one build, ~20 s).
TEST(CheckTest, TheFixturePassesEveryCheck) {
  FixtureRepo repo = MakeFixtureRepo();
  RepositoryCheck check(repo.path(), {});
  std::optional<CheckStop> config_stop = check.CheckConfig();
  ASSERT_FALSE(config_stop.has_value()) << config_stop->message;
  RunLock lock(repo.path(), "check_test");
  std::optional<CheckStop> stop = check.CheckHead();
  EXPECT_FALSE(stop.has_value()) << stop->message;
  EXPECT_EQ(check.report().failures(), 0);
  EXPECT_THAT(LinesWith(check.report(), CheckReport::Status::kOk),
              testing::IsSupersetOf({HasSubstr("build: HEAD configures and builds"),
                                     HasSubstr("dot.tests: filter \"Dot*\" selects 4 test(s)"),
                                     HasSubstr("dot.primary: BM_Dot/4096 exists")}));
}

// `rlvr check` names the option that is off when a program was not built.
TEST(CheckListingsTest, OffOptionsNamingFindsTheSwitchesThatAreOff) {
  const std::string cache =
      "// comment\n# WITH_BENCHMARKS:BOOL=OFF is a comment\nWITH_BENCHMARKS:BOOL=OFF\n"
      "LIBDEFLATE_BUILD_TESTS:BOOL=OFF\nBUILD_TESTING:BOOL=ON\nCMAKE_SKIP_TESTS:BOOL=OFF\n"
      "WITH_GTEST:BOOL=FALSE\nRUN_TESTS:STRING=OFF\n";
  EXPECT_THAT(OffOptionsNaming(cache, "TEST"), ElementsAre("LIBDEFLATE_BUILD_TESTS", "WITH_GTEST"));
  EXPECT_THAT(OffOptionsNaming(cache, "bench"), ElementsAre("WITH_BENCHMARKS"));
  EXPECT_TRUE(OffOptionsNaming("", "TEST").empty());
}

}  // namespace
}  // namespace rlvr
