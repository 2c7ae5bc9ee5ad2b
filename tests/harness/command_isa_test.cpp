// Instruction-set code in a command-built repository (rlvr.json build.isa_command): an edit behind
// `#if defined(__AVX2__)` that the build command never compiles is built and tested at the levels
// that compile it (a bug there is refused by that level's tests, an honest edit passes), and
// without isa_command it is refused as untestable, saying what to set.
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/verify/evaluate.h"
#include "harness/verify/isa_levels.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// The fixture's vsum.h with a scale chosen by the instruction set (both 1, so every build is
// right at HEAD); `isa_command` set in rlvr.json when not empty.
FixtureRepo MakeIsaRepo(const std::vector<std::string>& isa_command) {
  FixtureRepo repo = MakeCommandRepo();
  fs::path header = repo.path() / "include" / "vsum.h";
  std::ifstream in(header);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  in.close();
  text.replace(text.find("#include <stddef.h>\n"), 20,
               "#include <stddef.h>\n\n#if defined(__AVX2__)\n#define VS_LANE_SCALE 1.0f\n#else\n"
               "#define VS_LANE_SCALE 1.0f\n#endif\n");
  const std::string sum_return =
      "  return (acc0 + acc1) + (acc2 + acc3);\n}\n\nstatic inline float vs_dot";
  text.replace(
      text.find(sum_return), sum_return.size(),
      "  return ((acc0 + acc1) + (acc2 + acc3)) * VS_LANE_SCALE;\n}\n\nstatic inline float "
      "vs_dot");
  std::ofstream(header) << text;
  nlohmann::json config = nlohmann::json::parse(std::ifstream(repo.path() / "rlvr.json"));
  if (!isa_command.empty()) config["build"]["isa_command"] = isa_command;
  std::ofstream(repo.path() / "rlvr.json") << config.dump(2);
  repo.Git("commit -qam isa");
  return repo;
}

// A reply setting the AVX2 branch's scale to `value`.
std::string Avx2Scale(const std::string& value) {
  return "The AVX2 path.\n\n```diff\n--- a/include/vsum.h\n+++ b/include/vsum.h\n@@\n"
         " #if defined(__AVX2__)\n-#define VS_LANE_SCALE 1.0f\n+#define VS_LANE_SCALE " +
         value + "\n #else\n```\n";
}

Verdict Judge(const FixtureRepo& repo, const std::string& reply) {
  Project project = LoadProject(repo.path());
  EvaluateOptions options;
  options.sanitizers = false;
  options.benchmark = false;
  options.test_timeout_seconds = 30;
  Evaluator evaluator(project, options);
  return evaluator.Evaluate(project.GetTarget("vsum"), reply);
}

// As `rlvr init` proposes it for a Makefile: -march through CC, so the Makefile's flags stay.
const std::vector<std::string> kIsaCommand = {"make", "CC=cc -march={march}", "BUILD={build_dir}",
                                              "all"};

TEST(CommandIsaTest, WithoutIsaCommandTheEditIsUntestableAndSaysWhatToSet) {
  FixtureRepo repo = MakeIsaRepo({});
  Verdict v = Judge(repo, Avx2Scale("1.0f * 1"));
  EXPECT_EQ(v.failed_gate, "portable") << v.Render();
  EXPECT_THAT(v.message, HasSubstr("build.isa_command"));
}

TEST(CommandIsaTest, ABugInTheAvx2BranchIsRefusedByThatLevelsTests) {
  if (!MachineRuns("x86-64-v3")) GTEST_SKIP() << "this machine runs no AVX2 code";
  FixtureRepo repo = MakeIsaRepo(kIsaCommand);
  // The native build never compiles the line: every other gate passes it.
  Verdict v = Judge(repo, Avx2Scale("2.0f"));
  EXPECT_EQ(v.failed_gate, "portable") << v.Render();
  EXPECT_THAT(v.message, HasSubstr("built for x86-64-v3"));
  EXPECT_THAT(v.message, HasSubstr("-march=x86-64-v3"));
}

TEST(CommandIsaTest, AnHonestEditInTheAvx2BranchIsBuiltAndTestedThere) {
  if (!MachineRuns("x86-64-v3")) GTEST_SKIP() << "this machine runs no AVX2 code";
  FixtureRepo repo = MakeIsaRepo(kIsaCommand);
  Verdict v = Judge(repo, Avx2Scale("(1.0f)"));
  EXPECT_TRUE(v.failed_gate.empty()) << v.Render();
  const GateResult* portable = v.FindGate("portable");
  ASSERT_NE(portable, nullptr);
  EXPECT_THAT(portable->message, HasSubstr("rebuilt for x86-64-v3"));
}

TEST(CommandIsaTest, IsaCommandMustSayWhereMarchGoesAndNeedsABuildCommand) {
  FixtureRepo repo = MakeIsaRepo({"make", "all"});
  EXPECT_THROW(LoadProject(repo.path()), ConfigError);
  try {
    LoadProject(repo.path());
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("{march}"));
  }
}

}  // namespace
}  // namespace rlvr
