// `rlvr check --mutants` (harness/repo/kill_rate.h) and its screen (harness/repo/mutant_screen.h):
// trivial compiler equivalence of two objects; then, on tests/fixtures/mutants_repo built by CMake
// and by its Makefile, that a mutant of never-compiled code and an equivalent mutant are told
// apart before any test runs, and are never counted as survivors, while a real survivor is.
#include "harness/repo/kill_rate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fixture_repo.h"
#include "harness/base/config.h"
#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/repo/check_report.h"
#include "harness/repo/head_build.h"
#include "harness/repo/mutant_screen.h"
#include "harness/repo/mutants.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class SameObjectCodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rlvr-tce-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Compiles `source` (C) as <name>.o in a folder of its own, with debug information (which
  // names the folder, and must not count).
  fs::path Compile(const std::string& name, const std::string& source) {
    fs::create_directories(dir_ / name);
    fs::path c = dir_ / name / "k.c";
    std::ofstream(c) << source;
    fs::path o = dir_ / name / "k.o";
    ProcessResult result = RunProcess({"cc", "-O2", "-g", "-c", c.string(), "-o", o.string()});
    EXPECT_TRUE(result.ok()) << result.err;
    return o;
  }
  fs::path dir_;
};

TEST_F(SameObjectCodeTest, AMutantCompilingToTheSameCodeIsEquivalent) {
  fs::path head = Compile("head", "int f(int x) { return x * 2; }\n");
  // x + x is x * 2 to the optimiser: the classic equivalent mutant.
  fs::path same = Compile("same", "int f(int x) {\n  return x + x;\n}\n");
  fs::path other = Compile("other", "int f(int x) { return x * 3; }\n");
  fs::path renamed = Compile("renamed", "int g(int x) { return x * 2; }\n");
  EXPECT_TRUE(SameObjectCode(head, same));
  EXPECT_FALSE(SameObjectCode(head, other));
  EXPECT_FALSE(SameObjectCode(head, renamed));  // symbols count
  EXPECT_FALSE(SameObjectCode(head, dir_ / "missing.o"));
}

// The fixture's rlvr.json turned into a build.command one: its Makefile, as xxHash's is.
void UseMakefile(const FixtureRepo& repo) {
  nlohmann::json config = nlohmann::json::parse(ReadFileText(repo.path() / "rlvr.json"));
  config["build"] = {{"command", {"make", "BUILD={build_dir}", "all"}},
                     {"artifacts", {"test_mix", "bench_mix"}}};
  std::ofstream(repo.path() / "rlvr.json", std::ios::trunc) << config.dump(2);
  repo.Git("commit -q -am 'built by its Makefile'");
}

// The fixture's one mutant of `path` whose description ends with `what`.
Mutant FindMutant(const Project& project, const std::string& path, const std::string& what) {
  std::string text = ReadFileText(project.root / path);
  for (const Mutant& m : SampleMutants({{path, text, {}}}, 1000, 1))
    if (m.Describe().ends_with(what)) return m;
  ADD_FAILURE() << "no mutant of " << path << " ends with " << what;
  return {};
}

class MutantScreenTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    repo_ = CopyFixture("mutants_repo", "rlvr-mutants");
    CommitInitial(repo_);
    if (GetParam()) UseMakefile(repo_);
    project_ = LoadProject(repo_.path());
    CheckReport report;
    HeadBuild head = BuildAndProbe(project_, repo_.path(), 2, report);
    ASSERT_TRUE(head.built) << "HEAD of the fixture does not build";
  }
  FixtureRepo repo_;
  Project project_;
};

TEST_P(MutantScreenTest, TellsNeverCompiledAndEquivalentMutantsFromRealOnes) {
  MutantScreen screen(project_, 2, 600);
  ASSERT_EQ(screen.Unavailable(), "");
  EXPECT_THAT(screen.DatabaseSource(),
              HasSubstr(GetParam() ? "recorded" : "baseline build's compile_commands.json"));
  const std::string text = ReadFileText(repo_.path() / "kernel/mix.c");
  std::vector<bool> never = screen.NeverCompiledLines("kernel/mix.c", text);
  ASSERT_GE(never.size(), 16u);
  EXPECT_TRUE(never[14]) << "line 15, inside #ifdef NEVER_DEFINED, is compiled?";
  EXPECT_FALSE(never[8]) << "line 9, mix(), is never compiled?";

  Mutant dead = FindMutant(project_, "kernel/mix.c", "arithmetic '-' -> '+'");
  EXPECT_EQ(dead.site.line, 15);
  ScreenResult r = screen.Screen(dead, {});
  EXPECT_EQ(r.outcome, ScreenOutcome::kNotCompiled) << r.reason;

  Mutant equivalent = FindMutant(project_, "kernel/mix.c", "arithmetic '+' -> '-'");
  EXPECT_EQ(equivalent.site.line, 9);
  r = screen.Screen(equivalent, {});
  EXPECT_EQ(r.outcome, ScreenOutcome::kEquivalent) << r.reason;

  Mutant factor = FindMutant(project_, "kernel/mix.c", "constant '3' -> '4'");
  r = screen.Screen(factor, {});
  EXPECT_EQ(r.outcome, ScreenOutcome::kDifferent) << r.reason;

  // A header's mutant is compiled in the units that include it: mix.c inlines cut_level.
  Mutant cut = FindMutant(project_, "kernel/mix_inline.h", "constant '1000' -> '1001'");
  r = screen.Screen(cut, {});
  EXPECT_EQ(r.outcome, ScreenOutcome::kDifferent) << r.reason;
  // The scratch tree is left at HEAD's text after each mutant.
  EXPECT_EQ(ReadFileText(repo_.path() / ".rlvr/worktrees/mutants/kernel/mix.c"), text);
}

TEST_P(MutantScreenTest, NeverCompiledAndEquivalentMutantsAreNoSurvivors) {
  // Every site of the fixture, judged the way `rlvr check --mutants` does.
  const Target* target = &project_.targets.at(0);
  ::testing::internal::CaptureStdout();
  std::vector<MutantTally> tallies = JudgeMutants(project_, {target}, {100, 1, 2, 60});
  std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(tallies.size(), 1u) << out;
  const MutantTally& t = tallies[0];
  EXPECT_EQ(t.generated, t.killed + t.survived + t.not_viable + t.equivalent + t.not_compiled)
      << out;
  EXPECT_EQ(t.unscreened, 0) << out;
  EXPECT_GE(t.lines_never_compiled, 1) << out;
  EXPECT_GE(t.equivalent, 1) << out;
  EXPECT_GE(t.killed, 3) << out;
  EXPECT_GE(t.survived, 1) << out;
  EXPECT_THAT(out, HasSubstr("equivalent             kernel/mix.c:9: arithmetic '+' -> '-'"));
  // The survivors' list names a real survivor and neither class.
  std::string survivors = out.substr(out.find("surviving mutants"));
  EXPECT_THAT(survivors, HasSubstr("kernel/mix_inline.h:7"));
  EXPECT_THAT(survivors, Not(HasSubstr("kernel/mix.c:9")));
  EXPECT_THAT(survivors, Not(HasSubstr("kernel/mix.c:15")));
  EXPECT_THAT(out, Not(HasSubstr("kernel/mix.c:15:"))) << "never-compiled lines are sampled";
  // The kill rate counts only killed and survived mutants.
  int viable = t.killed + t.survived;
  EXPECT_THAT(out,
              HasSubstr(fmt::format("kill rate {}% ({} of {} viable)",
                                    (100 * t.killed + viable / 2) / viable, t.killed, viable)));
}

INSTANTIATE_TEST_SUITE_P(CMakeAndMakefile, MutantScreenTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Makefile" : "CMake";
                         });

}  // namespace
}  // namespace rlvr
