// StagedVerdict (executors/staged_verdict.h): the checks stage's and the benchmark stage's
// verdicts of a split evaluation make one verdict; neither stage alone can make it promotable.
#include "harness/executors/staged_verdict.h"

#include <gtest/gtest.h>

namespace rlvr {
namespace {

nlohmann::json Gate(const std::string& name, const std::string& status, double seconds,
                    const std::string& message) {
  return {{"name", name}, {"status", status}, {"seconds", seconds}, {"message", message}};
}

nlohmann::json ChecksVerdict() {
  nlohmann::json gates = nlohmann::json::array();
  for (const char* name : {"scope", "apply", "format", "build", "tests", "history", "portable",
                           "sanitizers", "allocations"})
    gates.push_back(Gate(name, "pass", 1, std::string(name) + " on the checks node"));
  gates.push_back(Gate("benchmark", "skipped", 0, "skipped (--no-benchmark): not promotable"));
  return {{"target", "dot"},
          {"promotable", false},
          {"failed_gate", nullptr},
          {"message", "every gate run passed, but the benchmark gate was skipped"},
          {"gates", gates},
          {"seed", 1234},
          {"seconds", 9.0}};
}

nlohmann::json BenchmarkVerdict(const std::string& benchmark_status) {
  nlohmann::json gates = nlohmann::json::array();
  for (const char* name : {"scope", "apply", "format", "build"})
    gates.push_back(Gate(name, "pass", 0.5, std::string(name) + " on the benchmark node"));
  for (const char* name : {"tests", "history", "portable", "sanitizers", "allocations"})
    gates.push_back(Gate(name, "skipped", 0, "skipped: run by the checks stage"));
  gates.push_back(Gate("benchmark", benchmark_status, 20, "BM_Dot 0.50x"));
  bool pass = benchmark_status == "pass";
  return {{"target", "dot"},
          {"promotable", false},
          {"failed_gate", pass ? nlohmann::json(nullptr) : nlohmann::json("benchmark")},
          {"message", pass ? "benchmark stage passed" : "benchmark gate failed: slower"},
          {"gates", gates},
          {"primary_ratio", 0.5},
          {"seed", 99},
          {"seconds", 21.0}};
}

TEST(StagedVerdictTest, BothStagesPassedIsPromotableWithTheChecksResults) {
  nlohmann::json joined = StagedVerdict(ChecksVerdict(), BenchmarkVerdict("pass"));
  EXPECT_TRUE(joined["promotable"].get<bool>());
  EXPECT_EQ(joined["message"], "every gate passed: BM_Dot 0.50x");
  EXPECT_EQ(joined["seed"], 1234);  // the tests' seed
  EXPECT_DOUBLE_EQ(joined["seconds"].get<double>(), 30.0);
  EXPECT_EQ(joined["primary_ratio"], 0.5);
  ASSERT_EQ(joined["gates"].size(), 10u);
  for (const nlohmann::json& gate : joined["gates"]) {
    std::string name = gate["name"];
    EXPECT_EQ(gate["status"], "pass") << name;
    bool checks_stage = name == "tests" || name == "history" || name == "portable" ||
                        name == "sanitizers" || name == "allocations";
    if (checks_stage) EXPECT_EQ(gate["message"], name + " on the checks node");
    if (name == "build") EXPECT_EQ(gate["message"], "build on the benchmark node");
  }
}

TEST(StagedVerdictTest, AFailedBenchmarkIsNotPromotable) {
  nlohmann::json joined = StagedVerdict(ChecksVerdict(), BenchmarkVerdict("fail"));
  EXPECT_FALSE(joined["promotable"].get<bool>());
  EXPECT_EQ(joined["failed_gate"], "benchmark");
  EXPECT_EQ(joined["message"], "benchmark gate failed: slower");
}

TEST(StagedVerdictTest, ABenchmarkStageAloneNeverPromotes) {
  // Checks that failed (or never ran) cannot be made up by a passing benchmark stage.
  nlohmann::json failed = ChecksVerdict();
  failed["failed_gate"] = "tests";
  EXPECT_FALSE(ChecksStagePassed(failed));
  EXPECT_FALSE(StagedVerdict(failed, BenchmarkVerdict("pass"))["promotable"].get<bool>());
  EXPECT_FALSE(StagedVerdict(nlohmann::json(), BenchmarkVerdict("pass"))["promotable"].get<bool>());
  // A benchmark stage whose benchmark gate was skipped measured nothing.
  nlohmann::json unmeasured = BenchmarkVerdict("pass");
  unmeasured["gates"].back()["status"] = "skipped";
  EXPECT_FALSE(StagedVerdict(ChecksVerdict(), unmeasured)["promotable"].get<bool>());
}

TEST(StagedVerdictTest, ChecksCutShortDoNotStartTheBenchmark) {
  EXPECT_TRUE(ChecksStagePassed(ChecksVerdict()));
  nlohmann::json stopped = ChecksVerdict();
  stopped["stopped"] = true;
  EXPECT_FALSE(ChecksStagePassed(stopped));
  nlohmann::json fault = ChecksVerdict();
  fault["machine_fault"] = "disk nearly full";
  EXPECT_FALSE(ChecksStagePassed(fault));
}

}  // namespace
}  // namespace rlvr
