// End-to-end tests of the evaluator on a repository without CMake, GoogleTest or Google
// Benchmark: a copy of tests/fixtures/make_header_repo (a Makefile-built header-only C library
// with its own test program and a benchmark whose output a script turns into Google Benchmark
// JSON), configured with a build command, a test command and a benchmark command. One fixture
// repository and one Evaluator serve the suite, so later evaluations build incrementally.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/base/process.h"
#include "harness/bench/comparison.h"
#include "harness/bench/run.h"
#include "harness/candidate/build.h"
#include "harness/candidate/run.h"
#include "harness/verify/evaluate.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// A model-style reply: one diff of `path` replacing the line `before` by `after`.
std::string Reply(const std::string& path, const std::string& context_before,
                  const std::string& before, const std::string& after) {
  std::ostringstream out;
  out << "A change.\n\n```diff\n--- a/" << path << "\n+++ b/" << path << "\n@@\n " << context_before
      << "\n-" << before << "\n+" << after << "\n```\n";
  return out.str();
}

class CommandRepoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new FixtureRepo(MakeCommandRepo());
    project_ = new Project(LoadProject(repo_->path()));
    EvaluateOptions options;
    options.test_timeout_seconds = 30;
    options.bench_rounds = 2;
    options.verbose = true;
    evaluator_ = new Evaluator(*project_, options);
  }
  static void TearDownTestSuite() {
    delete evaluator_;
    delete project_;
    delete repo_;
  }

  static Verdict Evaluate(const std::string& reply) {
    const std::string head = repo_->Head();
    Verdict v = evaluator_->Evaluate(project_->GetTarget("vsum"), reply);
    std::fprintf(stderr, "%s", v.Render().c_str());
    EXPECT_EQ(repo_->Head(), head);
    EXPECT_EQ(repo_->Git("status --porcelain"), "");
    return v;
  }

  static const GateResult& GateOf(const Verdict& v, const std::string& name) {
    const GateResult* gate = v.FindGate(name);
    if (gate == nullptr) throw std::runtime_error("no gate " + name);
    return *gate;
  }

  static FixtureRepo* repo_;
  static Project* project_;
  static Evaluator* evaluator_;
};

FixtureRepo* CommandRepoTest::repo_ = nullptr;
Project* CommandRepoTest::project_ = nullptr;
Evaluator* CommandRepoTest::evaluator_ = nullptr;

TEST_F(CommandRepoTest, TheConfigUsesCommands) {
  const Target& target = project_->GetTarget("vsum");
  EXPECT_TRUE(project_->build.UsesBuildCommand());
  EXPECT_FALSE(target.UsesGoogleTest());
  EXPECT_TRUE(target.UsesBenchCommand());
}

TEST_F(CommandRepoTest, BrokenKernelFailsTestsWithTheProgramsOutput) {
  Verdict v = Evaluate(Reply("include/vsum.h", "    acc0 += x[i] * y[i];",
                             "    acc1 += x[i + 1] * y[i + 1];", "    acc1 += x[i + 1] * y[i];"));
  EXPECT_FALSE(v.promotable);
  EXPECT_EQ(v.failed_gate, "tests");
  const GateResult& build = GateOf(v, "build");
  EXPECT_EQ(build.status, GateStatus::kPass);
  // No compile database: the edited header has no object, but the linked programs are compared.
  EXPECT_THAT(build.message, HasSubstr("binary audit of test_vsum, bench_vsum against HEAD's"));
  EXPECT_THAT(build.message, HasSubstr("per-file symbol check and object audit not run"));
  const GateResult& tests = GateOf(v, "tests");
  EXPECT_EQ(tests.status, GateStatus::kFail);
  EXPECT_THAT(tests.message, HasSubstr("test_vsum"));
  // The test program's own report of what failed.
  EXPECT_THAT(tests.detail, HasSubstr("FAIL vs_dot_f32"));
  EXPECT_THAT(tests.detail, HasSubstr("failed"));
}

TEST_F(CommandRepoTest, HonestEditPassesTheGatesAndReachesTheBenchmark) {
  Verdict v = Evaluate(Reply("include/vsum.h",
                             "static inline void vs_axpy_f32(float a, const "
                             "float *x, float *y, size_t n) {",
                             "  size_t i;", "  size_t i = 0;"));
  for (const char* passed : {"scope", "apply", "build", "tests", "portable", "sanitizers"}) {
    EXPECT_EQ(GateOf(v, passed).status, GateStatus::kPass)
        << passed << ": " << GateOf(v, passed).message << "\n"
        << GateOf(v, passed).detail;
  }
  EXPECT_THAT(GateOf(v, "tests").message, HasSubstr("test_vsum"));
  EXPECT_THAT(GateOf(v, "tests").message, HasSubstr("oracle oracle_vsum agreed with HEAD on 3"));
  EXPECT_THAT(GateOf(v, "sanitizers").message, HasSubstr("sanitizer build"));
  // Checks that cannot run here say so.
  EXPECT_EQ(GateOf(v, "history").status, GateStatus::kSkipped);
  EXPECT_THAT(GateOf(v, "history").message,
              HasSubstr("history_tests need a GoogleTest binary; not checked"));
  EXPECT_EQ(GateOf(v, "allocations").status, GateStatus::kSkipped);
  EXPECT_THAT(GateOf(v, "allocations").message,
              HasSubstr("not checked: no allocation tests or counters"));
  // The benchmark gate compared the two builds' benchmark commands (an edit that changes no
  // speed is not promotable, but its figures are there).
  const GateResult& benchmark = GateOf(v, "benchmark");
  EXPECT_NE(benchmark.status, GateStatus::kSkipped) << benchmark.message;
  EXPECT_THAT(benchmark.message, Not(HasSubstr("no benchmark")));
  bool primary_measured = false;
  for (const auto& figure : v.figures) {
    if (figure.name == "vs_dot_f32/65536") primary_measured = figure.baseline_ns > 0;
    EXPECT_THAT(figure.name, HasSubstr("vs_dot_f32/"));  // the target's regex selects
  }
  EXPECT_TRUE(primary_measured);
}

// Attacks in a header-only kernel: no object file of its own, no compile database; only the binary
// audit of the linked programs sees them (issue 12: a header defining clock_gettime passed).
std::string HeaderAttack(const std::string& function_line, const std::string& next_line,
                         const std::string& added) {
  return "An optimisation.\n\n```diff\n--- a/include/vsum.h\n+++ b/include/vsum.h\n@@\n " +
         function_line + "\n" + added + " " + next_line + "\n```\n";
}

TEST_F(CommandRepoTest, BinaryAuditRefusesAStaticCacheInAHeader) {
  Verdict v = Evaluate(
      HeaderAttack("static inline float vs_dot_f32(const float *x, const float *y, size_t n) {",
                   "  float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f, acc3 = 0.0f;",
                   "+  static const float *memo_x;\n+  static float memo;\n"
                   "+  if (x == memo_x && n > 100000000) return memo;\n+  memo_x = x;\n"));
  EXPECT_EQ(v.failed_gate, "build");
  const GateResult& build = GateOf(v, "build");
  EXPECT_THAT(build.message, HasSubstr("binary audit: "));
  EXPECT_THAT(build.message, HasSubstr("writable static storage `memo_x`"));
  EXPECT_THAT(build.detail, HasSubstr("test_vsum: writable static storage `memo_x`"));
}

TEST_F(CommandRepoTest, BinaryAuditRefusesAClockReadInAHeader) {
  Verdict v =
      Evaluate(HeaderAttack("static inline void vs_axpy_f32(float a, const float *x, float *y, "
                            "size_t n) {",
                            "  size_t i;",
                            "+  extern int clock_gettime();\n+  long t[2];\n"
                            "+  if (clock_gettime(1, t) == 0 && t[0] == 1) return;\n"));
  EXPECT_EQ(v.failed_gate, "build");
  EXPECT_THAT(GateOf(v, "build").message, HasSubstr("references `clock_gettime`"));
  // The time-stamp counter through an intrinsic: no symbol at all, only the instruction.
  Verdict tsc = Evaluate(
      "Timing.\n\n```diff\n--- a/include/vsum.h\n+++ b/include/vsum.h\n@@\n #include "
      "<stddef.h>\n+#include <x86intrin.h>\n \n static inline float vs_sum_f32(const float *x, "
      "size_t n) {\n+  if ((__rdtsc() & 0xffff) == 7) return 0.0f;\n```\n");
  EXPECT_EQ(tsc.failed_gate, "build");
  EXPECT_THAT(GateOf(tsc, "build").message, HasSubstr("instruction `rdtsc`"));
}

TEST_F(CommandRepoTest, BinaryAuditRefusesAHeaderDefiningALibraryFunction) {
  Verdict v = Evaluate(
      HeaderAttack("static inline void vs_axpy_f32(float a, const float *x, float *y, size_t n) {",
                   "  size_t i;", "+  size_t i0 = 0;\n+  (void)i0;\n"));
  // An honest-looking edit passes the binary audit (no false alarm on a header edit) ...
  EXPECT_EQ(GateOf(v, "build").status, GateStatus::kPass) << GateOf(v, "build").detail;
  // ... and a header that defines a C library function (interposing it) is refused.
  std::string reply =
      "Deterministic inputs.\n\n```diff\n--- a/include/vsum.h\n+++ b/include/vsum.h\n@@\n "
      "#include <stddef.h>\n+\n+int rand(void) { return 4; }\n \n```\n";
  Verdict attack = Evaluate(reply);
  EXPECT_EQ(attack.failed_gate, "build");
  EXPECT_THAT(GateOf(attack, "build").message, HasSubstr("defines a new global symbol `rand`"));
}

// Issue 12's subtle bug: wrong only for inputs longer than any the repository's tests use (4097);
// the differential oracle (rlvr.json "oracle": test/oracle_vsum.c, sizes up to 70000) sees it.
TEST_F(CommandRepoTest, OracleCatchesABugTheRepositorysTestsMiss) {
  Verdict v =
      Evaluate(Reply("include/vsum.h", "  size_t i;", "  for (i = 0; i < n; ++i) y[i] += a * x[i];",
                     "  for (i = 0; i < n; ++i) y[i] += a * x[i & 16383];"));
  EXPECT_EQ(v.failed_gate, "tests");
  const GateResult& tests = GateOf(v, "tests");
  EXPECT_THAT(tests.message, HasSubstr("oracle: the candidate's outputs differ from HEAD's"));
  EXPECT_THAT(tests.detail, HasSubstr("HEAD:"));
  // The repository's own tests did pass: the oracle is what refused it.
  EXPECT_THAT(tests.message, Not(HasSubstr("test_vsum")));
}

TEST_F(CommandRepoTest, EditingTheMakefileFailsScope) {
  Verdict v = Evaluate(Reply("Makefile", "CC ?= cc", "CFLAGS ?= -O2 -std=c99 -Wall -Wextra",
                             "CFLAGS ?= -O3 -ffast-math -std=c99 -Wall -Wextra"));
  EXPECT_FALSE(v.promotable);
  EXPECT_EQ(v.failed_gate, "scope");
  EXPECT_THAT(GateOf(v, "scope").message, HasSubstr("Makefile"));
}

// The other shape of issue 12: a CMake project in a subdirectory whose tests run under ctest
// (tests/fixtures/ctest_repo with its draft config made real).
TEST_F(CommandRepoTest, CtestRepositoryFailsTestsWithCtestsOutput) {
  std::string pattern = (fs::temp_directory_path() / "rlvr-ctest-fixture-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  FixtureRepo repo{fs::path(pattern)};
  fs::copy(fs::path(RLVR_FIXTURES_DIR) / "ctest_repo", repo.path(),
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  std::ifstream in(repo.path() / "rlvr.json.draft");
  nlohmann::json config = nlohmann::json::parse(in);
  config.erase("_draft");
  fs::remove(repo.path() / "rlvr.json.draft");
  std::ofstream(repo.path() / "rlvr.json") << config.dump(2);
  repo.Git("init -q -b main");
  repo.Git("add -A");
  repo.Git("commit -q -m initial");
  Project project = LoadProject(repo.path());
  EvaluateOptions options;
  options.sanitizers = false;
  options.benchmark = false;
  options.test_timeout_seconds = 60;
  Evaluator evaluator(project, options);
  Verdict v =
      evaluator.Evaluate(project.GetTarget("scan"),
                         Reply("src/scan.cpp", "    for (size_t i = 0; i < n; ++i) {",
                               "        running += in[i];", "        running += in[i] & 0xffff;"));
  std::fprintf(stderr, "%s", v.Render().c_str());
  EXPECT_EQ(v.failed_gate, "tests");
  EXPECT_EQ(GateOf(v, "build").status, GateStatus::kPass) << GateOf(v, "build").message;
  EXPECT_THAT(GateOf(v, "tests").message, HasSubstr("ctest scan"));
  EXPECT_THAT(GateOf(v, "tests").detail, HasSubstr("***Failed"));
  EXPECT_THAT(GateOf(v, "tests").detail, HasSubstr("wrong sums"));
}

// `rlvr check` and `rlvr targets` on the command-built repository (issue 12: check failed on a
// Makefile repository and targets hid how a target is judged).
ProcessResult Rlvr(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {RLVR_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions options;
  options.limits.wall_seconds = 300;
  return RunProcess(argv, options);
}

TEST_F(CommandRepoTest, CheckUnderstandsBuildTestBenchAndOracleCommands) {
  ProcessResult ok = Rlvr({"check", "-C", repo_->path().string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  for (const char* line :
       {"ok      tools: build command \"make\" found",
        "ok      build: HEAD builds with the build command",
        "ok      binary_audit: the build gate compares test_vsum, bench_vsum",
        "ok      vsum.test_commands[test_vsum]: `{build_dir}/test_vsum` passes on HEAD",
        "ok      vsum.bench_command: runs on HEAD and reports 3 benchmark(s)",
        "ok      vsum.primary: vs_dot_f32/65536 exists",
        "ok      vsum.oracle: `{build_dir}/oracle_vsum {seed}` runs on HEAD", ", 0 FAIL"})
    EXPECT_THAT(ok.out, HasSubstr(line)) << ok.out;

  // A test command that fails on HEAD, a primary the command does not report, an oracle that
  // prints something else on every run: each a FAIL line saying what to fix.
  const fs::path config = repo_->path() / "rlvr.json";
  std::string original;
  {
    std::ifstream in(config);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  nlohmann::json broken = nlohmann::json::parse(original);
  broken["targets"][0]["test_commands"].push_back(
      {{"name", "always_fails"}, {"command", {"false"}}});
  broken["targets"][0]["primary"] = {"vs_dot_f32/123"};
  broken["targets"][0]["oracle"] = {{"command", {"sh", "-c", "od -An -N4 -tu4 /dev/urandom"}}};
  std::ofstream(config, std::ios::trunc) << broken.dump(2);
  ProcessResult failed = Rlvr({"check", "-C", repo_->path().string()});
  std::ofstream(config, std::ios::trunc) << original;
  EXPECT_EQ(failed.exit_code, 1) << failed.out;
  EXPECT_THAT(failed.out, HasSubstr("FAIL    vsum.test_commands[always_fails]: fails on HEAD"));
  EXPECT_THAT(failed.out, HasSubstr("FAIL    vsum.primary: the bench command reports no "
                                    "\"vs_dot_f32/123\"; choose one of: vs_dot_f32/256"));
  EXPECT_THAT(failed.out, HasSubstr("FAIL    vsum.oracle: oracle: the candidate's outputs differ"));
  EXPECT_THAT(failed.out, HasSubstr(", 3 FAIL"));
}

TEST_F(CommandRepoTest, BaselineMeasuresTheBenchCommandOfHead) {
  ProcessResult measured = Rlvr({"baseline", "--rounds", "2", "-C", repo_->path().string()});
  const fs::path written = repo_->path() / "baselines" / "vsum.json";
  std::string text;
  {
    std::ifstream in(written);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  fs::remove_all(repo_->path() / "baselines");  // later evaluations expect a clean tree
  ASSERT_EQ(measured.exit_code, 0) << measured.out << measured.err;
  EXPECT_THAT(measured.out, HasSubstr("wrote baselines/vsum.json"));
  nlohmann::json baseline = nlohmann::json::parse(text);
  // The bench command's benchmarks as rlvr selected them: only the target's regex, both rounds.
  ASSERT_TRUE(baseline["benchmarks"].contains("vs_dot_f32/65536")) << text;
  EXPECT_EQ(baseline["benchmarks"]["vs_dot_f32/65536"]["samples_ns"].size(), 2u);
  EXPECT_GT(baseline["benchmarks"]["vs_dot_f32/65536"]["median_ns"].get<double>(), 0.0);
  for (const auto& [name, entry] : baseline["benchmarks"].items())
    EXPECT_THAT(name, HasSubstr("vs_dot_f32/"));
}

TEST_F(CommandRepoTest, TargetsShowsHowEachTargetIsJudged) {
  ProcessResult listed = Rlvr({"targets", "-C", repo_->path().string()});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("tests:      commands: test_vsum ({build_dir}/test_vsum; "
                                    "exit_status)"));
  EXPECT_THAT(listed.out, HasSubstr("benchmarks: command sh scripts/bench_to_json.sh"));
  EXPECT_THAT(listed.out, HasSubstr("oracle:     {build_dir}/oracle_vsum {seed} (3 seeds"));
  EXPECT_THAT(listed.out, HasSubstr("built by: make BUILD={build_dir} all"));
  ProcessResult json = Rlvr({"targets", "--json", "-C", repo_->path().string()});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed[0]["test_commands"][0]["name"], "test_vsum");
  EXPECT_EQ(parsed[0]["oracle"][0], "{build_dir}/oracle_vsum");
}

// The layers under the gates, on the same repository.

TEST_F(CommandRepoTest, BuildCommandRebuildsWhenItChangesAndRequiresItsArtifacts) {
  const fs::path build_dir =
      repo_->path().parent_path() / (repo_->path().filename().string() + "-b");
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{build_dir};
  BuildRequest request;
  request.source_dir = repo_->path();
  request.build_dir = build_dir;
  const std::vector<std::string> make = {"make", "BUILD={build_dir}", "all"};
  BuildOutcome first = RunBuildCommand(request, make, {"test_vsum", "bench_vsum"});
  ASSERT_TRUE(first.ok) << first.message << "\n" << first.detail;
  EXPECT_TRUE(fs::exists(build_dir / "test_vsum"));
  EXPECT_EQ(first.reconfigured, "");
  BuildOutcome again = RunBuildCommand(request, make, {"test_vsum"});
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_EQ(again.reconfigured, "");
  // Other flags: nothing built with the old ones may survive.
  BuildOutcome changed =
      RunBuildCommand(request, {"make", "BUILD={build_dir}", "CFLAGS=-O1 -std=c99", "all"}, {});
  ASSERT_TRUE(changed.ok) << changed.message;
  EXPECT_THAT(changed.reconfigured, HasSubstr("rebuilt from scratch"));
  BuildOutcome missing = RunBuildCommand(request, make, {"test_vsum", "libvsum.a"});
  EXPECT_FALSE(missing.ok);
  EXPECT_THAT(missing.message, HasSubstr("did not produce libvsum.a"));
  BuildOutcome failed = RunBuildCommand(request, {"make", "BUILD={build_dir}", "no-such-rule"}, {});
  EXPECT_FALSE(failed.ok);
  EXPECT_THAT(failed.message, HasSubstr("failed"));
  EXPECT_THAT(failed.detail, HasSubstr("no-such-rule"));
}

TEST_F(CommandRepoTest, TestCommandsPassOnExitStatusAndExcerptTheirOutput) {
  const fs::path tree = repo_->path();
  TestCommand seeded{"seeded",
                     {"sh", "-c", "test \"$RLVR_TEST_SEED\" = 42 && test -d {source_dir}"}};
  EXPECT_TRUE(RunTestCommand(seeded, tree, "/nonexistent", 42, 10, false).ok);
  TestRunResult unseeded = RunTestCommand(seeded, tree, "/nonexistent", std::nullopt, 10, false);
  EXPECT_FALSE(unseeded.ok);
  EXPECT_THAT(unseeded.message, HasSubstr("test command \"seeded\" failed: exit status 1"));
  TestCommand noisy{"noisy",
                    {"sh", "-c",
                     "echo early; i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo line$i; "
                     "done; exit 3"}};
  TestRunResult tail = RunTestCommand(noisy, tree, "/b", std::nullopt, 10, false);
  EXPECT_FALSE(tail.ok);
  EXPECT_THAT(tail.message, HasSubstr("exit status 3"));
  EXPECT_THAT(tail.detail, HasSubstr("line30"));
  EXPECT_THAT(tail.detail, Not(HasSubstr("early")));
  TestCommand ctest{"ctest",
                    {"sh", "-c",
                     "echo '1/2 Test #1: scan ...   Passed'; echo '2/2 Test #2: hist ***Failed'; "
                     "echo 'hist: bin 3 is 7, want 8'; i=0; while [ $i -lt 30 ]; do "
                     "i=$((i+1)); echo pad$i; done; echo 'The following tests FAILED:'; "
                     "echo '  2 - hist (Failed)'; exit 8"},
                    "ctest"};
  TestRunResult failed = RunTestCommand(ctest, tree, "/b", std::nullopt, 10, false);
  EXPECT_FALSE(failed.ok);
  EXPECT_THAT(failed.detail, HasSubstr("hist: bin 3 is 7, want 8"));
  EXPECT_THAT(failed.detail, HasSubstr("2 - hist (Failed)"));
}

TEST_F(CommandRepoTest, BenchmarkCommandsRunAsGivenAndAreFilteredByRlvr) {
  RunOptions options;
  options.cwd = repo_->path();
  BenchRunSettings settings;
  settings.append_flags = false;
  // Two repetitions of one benchmark and another benchmark: the fastest repetition is kept, and
  // only the names the filter finds. A Google Benchmark flag would make `sh -c` fail here.
  const std::string json =
      R"({"benchmarks": [)"
      R"({"name": "k/8", "run_type": "iteration", "real_time": 30, "cpu_time": 30, "time_unit": "ns", "iterations": 5},)"
      R"({"name": "k/8", "run_type": "iteration", "real_time": 20, "cpu_time": 25, "time_unit": "ns", "iterations": 5},)"
      R"({"name": "other/8", "run_type": "iteration", "real_time": 9, "cpu_time": 9, "time_unit": "ns", "iterations": 5}]})";
  const std::vector<std::string> command = {"sh", "-c",
                                            "test $# -eq 0 && printf '%s' '" + json + "'"};
  settings.filter = "^k/";
  BenchmarkOutput out = RunBenchmarkOnce(command, settings, options);
  ASSERT_TRUE(out.ok) << out.message;
  ASSERT_EQ(out.benchmarks.size(), 1u);
  EXPECT_EQ(out.benchmarks[0].name, "k/8");
  EXPECT_DOUBLE_EQ(out.benchmarks[0].real_time_ns, 20);
  settings.filter = "^vs_";
  BenchmarkOutput none = RunBenchmarkOnce(command, settings, options);
  EXPECT_FALSE(none.ok);
  EXPECT_THAT(none.message, HasSubstr("no benchmark in the command's output matches"));
  EXPECT_THAT(none.message, HasSubstr("k/8"));
}

// bench_command.repetitions: each run invokes the command that many times and keeps each
// benchmark's fastest time; the gate's comparison takes the count from the target.
TEST_F(CommandRepoTest, BenchmarkCommandRepetitionsKeepTheFastestInvocation) {
  RunOptions options;
  options.cwd = repo_->path();
  const fs::path count = repo_->path() / ".rlvr" / "invocations";
  fs::create_directories(count.parent_path());
  fs::remove(count);
  // Invocation i (1, 2, 3) reports 100 / i ns: the third is the fastest.
  const std::string script =
      "echo x >> " + count.string() + "; n=$(wc -l < " + count.string() +
      "); "
      "printf '{\"benchmarks\": [{\"name\": \"k/8\", \"run_type\": \"iteration\", "
      "\"real_time\": %s, \"cpu_time\": %s, \"time_unit\": \"ns\", \"iterations\": 5}]}' "
      "$((100 / n)) $((100 / n))";
  BenchRunSettings settings;
  settings.append_flags = false;
  settings.filter = "^k/";
  settings.command_repetitions = 3;
  BenchmarkOutput out = RunBenchmarkOnce({"sh", "-c", script}, settings, options);
  ASSERT_TRUE(out.ok) << out.message;
  ASSERT_EQ(out.benchmarks.size(), 1u);
  EXPECT_DOUBLE_EQ(out.benchmarks[0].real_time_ns, 33);
  std::ifstream lines(count);
  EXPECT_EQ(std::count(std::istreambuf_iterator<char>(lines), {}, '\n'), 3);
  fs::remove(count);

  Target target = project_->GetTarget("vsum");
  EXPECT_EQ(GateComparison(target, "a", "b").command_repetitions, 1);
  target.bench_command.repetitions = 4;
  EXPECT_EQ(GateComparison(target, "a", "b").command_repetitions, 4);
}

}  // namespace
}  // namespace rlvr
