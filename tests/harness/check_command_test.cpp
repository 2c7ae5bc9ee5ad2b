// `rlvr init`, `rlvr check` and `rlvr check --mutants` end to end, running the rlvr program on a
// copy of tests/fixtures/tiny_repo. One repository for the suite: its first check builds HEAD
// (~20 s), the others reuse that build.
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;
using testing::Not;

ProcessResult Rlvr(std::vector<std::string> args) {
  args.insert(args.begin(), RLVR_BINARY);
  RunOptions options;
  options.limits.wall_seconds = 600;
  return RunProcess(args, options);
}

// The lines of `text` that start with `prefix`.
std::vector<std::string> LinesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with(prefix)) out.push_back(line);
  }
  return out;
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

class CheckCommandTest : public testing::Test {
 protected:
  static void SetUpTestSuite() { repo_ = new FixtureRepo(MakeFixtureRepo()); }
  static void TearDownTestSuite() {
    delete repo_;
    repo_ = nullptr;
  }
  static fs::path Dir() { return repo_->path(); }

  // Runs `body` with rlvr.json changed by `edit`, restoring the committed file after.
  template <typename Edit>
  static ProcessResult CheckWithConfig(Edit edit, std::vector<std::string> extra = {}) {
    fs::path config = Dir() / "rlvr.json";
    std::string original = ReadFileText(config);
    nlohmann::json document = nlohmann::json::parse(original);
    edit(document);
    WriteFile(config, document.dump(2));
    std::vector<std::string> args = {"check", "-C", Dir().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult result = Rlvr(args);
    WriteFile(config, original);
    return result;
  }

  static FixtureRepo* repo_;
};

FixtureRepo* CheckCommandTest::repo_ = nullptr;

TEST_F(CheckCommandTest, EverythingOkOnTheFixture) {
  ProcessResult result = Rlvr({"check", "-C", Dir().string()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(LinesStartingWith(result.out, "FAIL").empty()) << result.out;
  for (const char* subject :
       {"rlvr.json:", "dot.editable:", "build:", "compile_commands:", "build.test_binary:",
        "build.bench_binary:", "dot.tests:", "dot.alloc_tests:", "dot.history_tests:",
        "dot.benchmarks:", "dot.primary:"}) {
    bool found = false;
    for (const auto& line : LinesStartingWith(result.out, "ok "))
      found = found || line.find(subject) != std::string::npos;
    EXPECT_TRUE(found) << "no ok line for " << subject << "\n" << result.out;
  }
  EXPECT_THAT(result.out, HasSubstr("dot.tests: filter \"Dot*\" selects 4 test(s)"));
  EXPECT_THAT(result.out, HasSubstr(", 0 FAIL"));
}

TEST_F(CheckCommandTest, BrokenFilterPrimaryAndEditableAreFailLinesNamingThem) {
  ProcessResult result = CheckWithConfig([](nlohmann::json& config) {
    config["targets"][0]["tests"] = "NoSuchSuite*";
    config["targets"][0]["primary"] = {"BM_Dot/5000"};
    config["targets"][0]["context"].push_back("kernel/missing.h");
  });
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  std::vector<std::string> fails = LinesStartingWith(result.out, "FAIL");
  ASSERT_EQ(fails.size(), 2u) << result.out;
  EXPECT_THAT(fails[0], HasSubstr("dot.tests: filter \"NoSuchSuite*\" matches no test"));
  EXPECT_THAT(fails[0], HasSubstr("DotTest"));  // the suites that exist
  EXPECT_THAT(fails[1], HasSubstr("dot.primary: no benchmark \"BM_Dot/5000\""));
  EXPECT_THAT(fails[1], HasSubstr("BM_Dot/4096"));  // what to choose instead
  EXPECT_THAT(result.out, HasSubstr("warning dot.context: \"kernel/missing.h\" is not at HEAD"));
  EXPECT_THAT(result.err, HasSubstr("fix the FAIL lines"));
}

TEST_F(CheckCommandTest, ConfigThatDoesNotParseIsOneFailLine) {
  ProcessResult result =
      CheckWithConfig([](nlohmann::json& config) { config["build"].erase("test_binary"); });
  EXPECT_EQ(result.exit_code, 1);
  std::vector<std::string> fails = LinesStartingWith(result.out, "FAIL");
  ASSERT_EQ(fails.size(), 1u) << result.out;
  EXPECT_THAT(fails[0], HasSubstr("test_binary"));
}

TEST_F(CheckCommandTest, MutantsReportAKillRate) {
  ProcessResult result = Rlvr({"check", "-C", Dir().string(), "--mutants", "--max", "4"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  std::smatch m;
  std::regex summary(
      R"(dot: (\d+) mutants: (\d+) killed, (\d+) survived, (\d+) not viable, (\d+) equivalent \(same object code as HEAD\), (\d+) not compiled in this build; kill rate (\d+)% \((\d+) of (\d+) viable\))");
  ASSERT_TRUE(std::regex_search(result.out, m, summary)) << result.out;
  int generated = std::stoi(m[1]), killed = std::stoi(m[2]), survived = std::stoi(m[3]),
      not_viable = std::stoi(m[4]), equivalent = std::stoi(m[5]), not_compiled = std::stoi(m[6]);
  EXPECT_EQ(generated, 4);
  EXPECT_EQ(killed + survived + not_viable + equivalent + not_compiled, generated);
  EXPECT_EQ(std::stoi(m[8]), killed);
  EXPECT_EQ(std::stoi(m[9]), killed + survived);
  EXPECT_THAT(result.out, HasSubstr("screen: compile commands from"));
  EXPECT_GE(killed, 1) << "the fixture's tests kill nothing?\n" << result.out;
  // One line per mutant, naming the file and line.
  std::regex per_mutant(
      R"(\[\d/4\] (killed \(\w+\)|SURVIVED|equivalent|not compiled|not viable \(\w+\)) +kernel/dot\.cpp:\d+: )");
  int lines = 0;
  for (auto it = std::sregex_iterator(result.out.begin(), result.out.end(), per_mutant);
       it != std::sregex_iterator(); ++it)
    ++lines;
  EXPECT_EQ(lines, 4) << result.out;
  if (survived > 0) EXPECT_THAT(result.out, HasSubstr("surviving mutants"));
  // The user's tree is untouched.
  EXPECT_EQ(repo_->Git("status --porcelain --untracked-files=no"), "");
}

TEST_F(CheckCommandTest, InitWritesAConfigThatChecksOkAndNeverOverwrites) {
  fs::path config = Dir() / "rlvr.json";
  std::string original = ReadFileText(config);
  ProcessResult refused = Rlvr({"init", "-C", Dir().string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("exists"));
  EXPECT_EQ(ReadFileText(config), original);
  ProcessResult init = Rlvr({"init", "-C", Dir().string(), "--force"});
  ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
  EXPECT_THAT(init.out, HasSubstr("found: test program dot_tests (GoogleTest"));
  EXPECT_THAT(init.out, HasSubstr("wrote "));
  EXPECT_THAT(init.out, HasSubstr("TODO"));
  Project project = LoadProject(Dir());
  ASSERT_EQ(project.targets.size(), 1u);
  EXPECT_EQ(project.targets[0].primary, std::vector<std::string>{"BM_Dot/4096"});
  ProcessResult check = Rlvr({"check", "-C", Dir().string()});
  WriteFile(config, original);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_THAT(check.out, Not(HasSubstr("FAIL ")));
}

}  // namespace
}  // namespace rlvr
