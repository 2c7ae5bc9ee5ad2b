#include "harness/base/config.h"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rlvr {
namespace {

using ::testing::HasSubstr;

const char* kValid = R"({
  "build": {"configure_args": ["-G", "Ninja"], "sanitize_args": ["-DRLVR_SANITIZE=ON"],
            "test_binary": "tests/kernel_tests", "bench_binary": "tests/rlvr_bench"},
  "targets": [
    {"name": "gemm", "editable": ["kernels/gemm.cpp"], "tests": "Gemm*",
     "alloc_tests": "AllocGemm*", "benchmarks": "^BM_Gemm/", "primary": ["BM_Gemm/1024"],
     "references": ["BM_PeakFma"], "min_improvement": 0.05, "max_regression": 0.02},
    {"name": "rope", "editable": ["kernels/rope.cpp"], "tests": "Rope*",
     "benchmarks": "^BM_Rope", "primary": ["BM_Rope"]}
  ]
})";

std::string ErrorOf(const std::string& text) {
  try {
    ParseProject(text, "/repo");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ConfigTest, ParsesEveryField) {
  Project p = ParseProject(kValid, "/repo");
  EXPECT_EQ(p.root, "/repo");
  EXPECT_EQ(p.build.configure_args, (std::vector<std::string>{"-G", "Ninja"}));
  EXPECT_EQ(p.build.sanitize_args, (std::vector<std::string>{"-DRLVR_SANITIZE=ON"}));
  EXPECT_EQ(p.build.test_binary, "tests/kernel_tests");
  ASSERT_EQ(p.targets.size(), 2u);
  const Target& gemm = p.GetTarget("gemm");
  EXPECT_EQ(gemm.editable, (std::vector<std::string>{"kernels/gemm.cpp"}));
  EXPECT_EQ(gemm.alloc_tests, "AllocGemm*");
  EXPECT_EQ(gemm.primary, (std::vector<std::string>{"BM_Gemm/1024"}));
  EXPECT_EQ(gemm.references, (std::vector<std::string>{"BM_PeakFma"}));
  EXPECT_DOUBLE_EQ(gemm.min_improvement, 0.05);
  EXPECT_DOUBLE_EQ(gemm.max_regression, 0.02);
  // Optional fields take their defaults.
  const Target& rope = p.GetTarget("rope");
  EXPECT_EQ(rope.alloc_tests, "");
  EXPECT_DOUBLE_EQ(rope.min_improvement, 0.03);
  EXPECT_DOUBLE_EQ(rope.max_regression, 0.05);
  EXPECT_EQ(p.FindTarget("nope"), nullptr);
}

TEST(ConfigTest, UnknownTargetListsKnownOnes) {
  Project p = ParseProject(kValid, "/repo");
  try {
    p.GetTarget("softmax");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no target \"softmax\""));
    EXPECT_THAT(e.what(), HasSubstr("gemm, rope"));
  }
}

TEST(ConfigTest, ErrorsNameTheField) {
  EXPECT_THAT(ErrorOf("{"), HasSubstr("not valid JSON"));
  EXPECT_THAT(ErrorOf("[]"), HasSubstr("expected an object"));
  EXPECT_THAT(ErrorOf(R"({"targets": []})"), HasSubstr("missing required field \"build\""));
  std::string text = kValid;
  std::string no_tests = text;
  no_tests.replace(no_tests.find("\"tests\": \"Gemm*\","), 17, "");
  EXPECT_THAT(ErrorOf(no_tests),
              HasSubstr("targets[0] (\"gemm\"): a target needs either \"tests\""));
  std::string bad_threshold = text;
  bad_threshold.replace(bad_threshold.find("0.05"), 4, "1.5");
  EXPECT_THAT(ErrorOf(bad_threshold), HasSubstr("min_improvement: must be in [0, 1)"));
  std::string duplicate = text;
  duplicate.replace(duplicate.find("\"rope\""), 6, "\"gemm\"");
  EXPECT_THAT(ErrorOf(duplicate), HasSubstr("duplicate target name \"gemm\""));
  std::string escaping = text;
  escaping.replace(escaping.find("kernels/gemm.cpp"), 16, "../outside.cpp");
  EXPECT_THAT(ErrorOf(escaping), HasSubstr("not a repository-relative path"));
  std::string bad_type = text;
  bad_type.replace(bad_type.find("[\"BM_Gemm/1024\"]"), 16, "42");
  EXPECT_THAT(ErrorOf(bad_type), HasSubstr("primary: expected an array of strings"));
}

// The make_header_repo fixture's shape: a build command and test and benchmark commands.
const char* kCommands = R"({
  "build": {"command": ["make", "BUILD={build_dir}", "all"],
            "sanitize_command": ["make", "BUILD={build_dir}", "CFLAGS=-fsanitize=address", "all"],
            "artifacts": ["test_vsum", "bench_vsum"]},
  "targets": [
    {"name": "vsum", "editable": ["include/vsum.h"],
     "test_commands": [{"name": "unit", "command": ["{build_dir}/test_vsum"], "kind": "exit_status"},
                       {"command": ["ctest", "--test-dir", "{build_dir}"], "kind": "ctest"}],
     "bench_command": {"command": ["sh", "x.sh", "{build_dir}/bench_vsum"],
                       "format": "google_benchmark_json"},
     "benchmarks": "^vs_dot_f32/", "primary": ["vs_dot_f32/65536"]}
  ]
})";

TEST(ConfigTest, ParsesBuildTestAndBenchCommands) {
  Project p = ParseProject(kCommands, "/repo");
  EXPECT_TRUE(p.build.UsesBuildCommand());
  EXPECT_EQ(p.build.command, (std::vector<std::string>{"make", "BUILD={build_dir}", "all"}));
  EXPECT_EQ(p.build.sanitize_command.size(), 4u);
  EXPECT_EQ(p.build.artifacts, (std::vector<std::string>{"test_vsum", "bench_vsum"}));
  EXPECT_TRUE(p.build.test_binary.empty());
  const Target& t = p.GetTarget("vsum");
  EXPECT_FALSE(t.UsesGoogleTest());
  EXPECT_TRUE(t.UsesBenchCommand());
  ASSERT_EQ(t.test_commands.size(), 2u);
  EXPECT_EQ(t.test_commands[0].name, "unit");
  EXPECT_EQ(t.test_commands[0].kind, "exit_status");
  EXPECT_EQ(t.test_commands[1].name, "ctest");  // defaults to the program's name
  EXPECT_EQ(t.test_commands[1].kind, "ctest");
  EXPECT_EQ(t.bench_command.format, "google_benchmark_json");
  EXPECT_EQ(t.bench_command.repetitions, 1);  // one invocation per run unless asked
  EXPECT_EQ(ExpandCommand(t.bench_command.command, "/src", "/b"),
            (std::vector<std::string>{"sh", "x.sh", "/b/bench_vsum"}));
  EXPECT_EQ(ExpandCommand({"{source_dir}:{build_dir}/{build_dir}"}, "/s", "/b"),
            (std::vector<std::string>{"/s:/b//b"}));
  // Commands run in the judged tree: relative paths are made absolute first.
  EXPECT_EQ(ExpandCommand({"{build_dir}"}, "s", "rel/b").at(0),
            (std::filesystem::current_path() / "rel/b").string());
  // The CMake path is unchanged.
  Project cmake = ParseProject(kValid, "/repo");
  EXPECT_FALSE(cmake.build.UsesBuildCommand());
  EXPECT_TRUE(cmake.targets[0].UsesGoogleTest());
  EXPECT_FALSE(cmake.targets[0].UsesBenchCommand());
}

TEST(ConfigTest, CommandErrorsNameTheField) {
  std::string text = kCommands;
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string out = text;
    size_t at = out.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return out.replace(at, from.size(), to);
  };
  EXPECT_THAT(ErrorOf(replaced("\"kind\": \"ctest\"", "\"kind\": \"junit\"")),
              HasSubstr("test_commands[1].kind: \"junit\": expected"));
  EXPECT_THAT(ErrorOf(replaced("\"google_benchmark_json\"", "\"csv\"")),
              HasSubstr("bench_command.format: \"csv\""));
  const std::string format = "\"format\": \"google_benchmark_json\"";
  EXPECT_EQ(ParseProject(replaced(format, format + ", \"repetitions\": 5"), "/repo")
                .GetTarget("vsum")
                .bench_command.repetitions,
            5);
  EXPECT_THAT(ErrorOf(replaced(format, format + ", \"repetitions\": 0")),
              HasSubstr("bench_command.repetitions: expected a whole number in [1, 100]"));
  EXPECT_THAT(ErrorOf(replaced(format, format + ", \"repetitions\": 2.5")),
              HasSubstr("bench_command.repetitions: expected a whole number"));
  EXPECT_THAT(ErrorOf(replaced("[\"make\", \"BUILD={build_dir}\", \"all\"]", "[]")),
              HasSubstr("build.command: the build command must not be empty"));
  EXPECT_THAT(ErrorOf(replaced("\"artifacts\"", "\"configure_args\": [], \"artifacts\"")),
              HasSubstr("build.configure_args: is for CMake builds"));
  EXPECT_THAT(ErrorOf(replaced("\"test_commands\"", "\"tests\": \"*\", \"test_commands\"")),
              HasSubstr("not both"));
  // Without bench_command a target needs the CMake path's bench_binary.
  std::string no_bench = text;
  no_bench.erase(no_bench.find("\"bench_command\""),
                 no_bench.find("\"benchmarks\"") - no_bench.find("\"bench_command\""));
  EXPECT_THAT(ErrorOf(no_bench), HasSubstr("missing \"bench_binary\": target \"vsum\""));
  // A GoogleTest filter needs the test binary.
  std::string gtest = text;
  size_t from = gtest.find("\"test_commands\"");
  gtest.replace(from, gtest.find("\"bench_command\"") - from, "\"tests\": \"Vsum*\", ");
  EXPECT_THAT(ErrorOf(gtest), HasSubstr("missing \"test_binary\""));
}

// The fixtures' draft configs for repositories without GoogleTest tests parse as drafted.
TEST(ConfigTest, FixtureDraftsParse) {
  auto draft = [](const char* fixture) {
    std::filesystem::path path =
        std::filesystem::path(RLVR_FIXTURES_DIR) / fixture / "rlvr.json.draft";
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return ParseProject(text.str(), path.parent_path(), path.string());
  };
  Project make = draft("make_header_repo");
  EXPECT_TRUE(make.build.UsesBuildCommand());
  EXPECT_EQ(make.build.artifacts, (std::vector<std::string>{"test_vsum", "bench_vsum"}));
  EXPECT_EQ(make.GetTarget("vsum").test_commands.at(0).kind, "exit_status");
  EXPECT_TRUE(make.GetTarget("vsum").UsesBenchCommand());
  Project ctest = draft("ctest_repo");
  EXPECT_FALSE(ctest.build.UsesBuildCommand());
  EXPECT_EQ(ctest.build.source_subdir, "build/cmake");
  EXPECT_EQ(ctest.build.bench_binary, "kern_bench");
  ASSERT_EQ(ctest.targets.size(), 2u);
  for (const auto& target : ctest.targets) {
    EXPECT_FALSE(target.UsesGoogleTest()) << target.name;
    EXPECT_FALSE(target.UsesBenchCommand()) << target.name;
    EXPECT_EQ(target.test_commands.at(0).kind, "ctest");
  }
}

TEST(ConfigTest, MissingFileIsAClearError) {
  try {
    LoadProject("/nonexistent-rlvr-dir");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot read /nonexistent-rlvr-dir/rlvr.json"));
  }
}

TEST(ConfigTest, ShippedConfigsLoad) {
  Project repo = LoadProject(RLVR_SOURCE_DIR);
  std::vector<std::string> names;
  for (const auto& t : repo.targets) names.push_back(t.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"gemm", "softmax", "rmsnorm", "rope", "swiglu", "attention",
                                      "sampler", "quant", "decoder", "kquant", "stored_product",
                                      "tokenizer", "linear_backward", "train_step"}));
  for (const auto& t : repo.targets) {
    for (const auto& file : t.editable)
      EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(RLVR_SOURCE_DIR) / file)) << file;
    for (const auto& file : t.context)
      EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(RLVR_SOURCE_DIR) / file)) << file;
  }
  Project fixture = LoadProject(std::filesystem::path(RLVR_FIXTURES_DIR) / "tiny_repo");
  ASSERT_EQ(fixture.targets.size(), 1u);
  EXPECT_EQ(fixture.targets[0].name, "dot");
}

TEST(ConfigTest, SymbolRulesDefaultToNamespaceRlvrAndAreConfigurable) {
  Project p = ParseProject(kValid, "/repo");
  EXPECT_EQ(p.GetTarget("gemm").symbols.namespace_name, "rlvr");
  EXPECT_EQ(p.GetTarget("gemm").symbols.prefix, "");
  const std::string key = R"("tests": "Rope*")";
  std::string text = kValid;
  text.replace(text.find(key), key.size(),
               key + R"(, "symbols": {"namespace": "", "prefix": "XXH_"})");
  Project q = ParseProject(text, "/repo");
  EXPECT_EQ(q.GetTarget("rope").symbols.namespace_name, "");
  EXPECT_EQ(q.GetTarget("rope").symbols.prefix, "XXH_");
  std::string bad = kValid;
  bad.replace(bad.find(key), key.size(), key + R"(, "symbols": {"prefx": "a"})");
  EXPECT_THAT(ErrorOf(bad), HasSubstr("symbols.prefx: unknown field"));
}

TEST(ConfigTest, GlobMatching) {
  EXPECT_TRUE(GlobMatches("kernels/gemm.cpp", "kernels/gemm.cpp"));
  EXPECT_FALSE(GlobMatches("kernels/gemm.cpp", "kernels/gemm.h"));
  EXPECT_TRUE(GlobMatches("kernels/*.cpp", "kernels/rope.cpp"));
  EXPECT_FALSE(GlobMatches("kernels/*.cpp", "kernels/reference/rope_ref.cpp"));
  EXPECT_TRUE(GlobMatches("kernels/**/*.cpp", "kernels/reference/rope_ref.cpp"));
  EXPECT_TRUE(GlobMatches("kernels/**/*.cpp", "kernels/rope.cpp"));
  EXPECT_TRUE(GlobMatches("kernels/ro?e.cpp", "kernels/rope.cpp"));
  EXPECT_FALSE(GlobMatches("kernels/?", "kernels//"));
  EXPECT_FALSE(GlobMatches("kernels/gemm.cpp", "kernels/gemm.cpp.orig"));
}

}  // namespace
}  // namespace rlvr
