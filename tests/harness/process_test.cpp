// The process runner: exit codes, signals, timeouts of whole process groups, output caps,
// resource limits, environment edits, and a bounded "fork bomb" the harness must survive; the
// child sees none of our secrets (env, and a compiled program walking `environ`), and what it
// prints comes back redacted.
#include "harness/base/process.h"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/child_env.h"
#include "harness/base/secrets.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

ProcessResult Shell(const std::string& script, RunOptions options = {}) {
  return RunProcess({"/bin/sh", "-c", script}, options);
}

// True when `pid` no longer runs (gone, or a zombie waiting for its reaper).
bool ProcessIsDead(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

TEST(ProcessTest, CapturesExitCodeAndBothStreams) {
  ProcessResult r = Shell("echo out; echo err >&2; exit 3");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.Describe(), "exit status 3");
}

TEST(ProcessTest, SuccessIsOk) {
  ProcessResult r = Shell("true");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.exit_code, 0);
}

TEST(ProcessTest, ReportsTheKillingSignal) {
  ProcessResult r = Shell("kill -SEGV $$");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.Describe(), "killed by signal SIGSEGV");
}

TEST(ProcessTest, TimeoutKillsTheWholeGroup) {
  RunOptions options;
  options.limits.wall_seconds = 1;
  // The background sleep is a grandchild: it must die with its parent.
  ProcessResult r = Shell("sleep 100 & echo $!; sleep 100", options);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_LT(r.wall_seconds, 5);
  EXPECT_THAT(r.Describe(), StartsWith("timed out after"));
  long grandchild = std::stol(r.out);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(ProcessIsDead(grandchild));
}

TEST(ProcessTest, LeftoverBackgroundProcessesDieWithTheMainOne) {
  // Without the group kill, the sleep would hold stdout open and this would wait 100 s.
  RunOptions options;
  options.limits.wall_seconds = 20;
  ProcessResult r = Shell("sleep 100 & echo $!", options);
  EXPECT_TRUE(r.ok()) << r.Describe();
  EXPECT_LT(r.wall_seconds, 5);
  EXPECT_TRUE(ProcessIsDead(std::stol(r.out)));
}

TEST(ProcessTest, CapsOutputAndSaysSo) {
  RunOptions options;
  options.max_output_bytes = 1000;
  ProcessResult r = Shell("head -c 1000000 /dev/zero | tr '\\0' x", options);
  EXPECT_TRUE(r.ok()) << r.Describe();
  EXPECT_LT(r.out.size(), 1200u);
  EXPECT_EQ(r.out.substr(0, 1000), std::string(1000, 'x'));
  EXPECT_THAT(r.out, HasSubstr("999000 bytes dropped"));
}

TEST(ProcessTest, BoundedForkBombIsContained) {
  // 300 processes that never end: the harness must time out, kill them all and carry on.
  // (A true unbounded bomb is not run: as root RLIMIT_NPROC does not apply, and it would starve
  // the other users of this machine before the wall-clock kill.)
  RunOptions options;
  options.limits.wall_seconds = 2;
  options.limits.max_processes = 64;
  ProcessResult r = Shell(
      "i=0; while [ $i -lt 300 ]; do sleep 100 & i=$((i+1)); done; "
      "echo $!; wait",
      options);
  EXPECT_FALSE(r.ok());
  // As root the limit is ignored and the wall clock ends it; otherwise fork fails early and the
  // shell reports errors, but must still end in time.
  EXPECT_LT(r.wall_seconds, 10);
  if (!r.out.empty() && std::isdigit(static_cast<unsigned char>(r.out[0]))) {
    EXPECT_TRUE(ProcessIsDead(std::stol(r.out)));
  }
  // The harness still works afterwards.
  EXPECT_TRUE(Shell("true").ok());
}

TEST(ProcessTest, MissingProgramIsASpawnFailure) {
  ProcessResult r = RunProcess({"/nonexistent/program"});
  EXPECT_TRUE(r.spawn_failed);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.Describe(), HasSubstr("could not start"));
  EXPECT_THAT(r.Describe(), HasSubstr("No such file"));
}

TEST(ProcessTest, EmptyCommandLineIsASpawnFailure) {
  ProcessResult r = RunProcess({});
  EXPECT_TRUE(r.spawn_failed);
}

TEST(ProcessTest, EnvironmentEditsAndWorkingDirectory) {
  setenv("RLVR_PROCESS_TEST_UNSET", "present", 1);
  RunOptions options;
  options.env["RLVR_PROCESS_TEST_SET"] = "hello";
  options.unset_env.push_back("RLVR_PROCESS_TEST_UNSET");
  options.cwd = "/tmp";
  ProcessResult r =
      Shell("echo \"$RLVR_PROCESS_TEST_SET|${RLVR_PROCESS_TEST_UNSET-gone}|$(pwd)\"", options);
  EXPECT_EQ(r.out, "hello|gone|/tmp\n");
}

TEST(ProcessTest, FeedsStdin) {
  RunOptions options;
  options.stdin_text = std::string(200000, 'a') + "\n";  // more than a pipe buffer
  ProcessResult r = Shell("wc -c", options);
  EXPECT_EQ(std::stol(r.out), 200001);
}

TEST(ProcessTest, MeasuresChildCpuTime) {
  ProcessResult r = Shell("i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done");
  EXPECT_TRUE(r.ok());
  EXPECT_GT(r.cpu_seconds, 0.05);
  EXPECT_LE(r.cpu_seconds, r.wall_seconds * 1.5 + 0.05);
}

TEST(ProcessTest, CpuLimitStopsABusyLoop) {
  RunOptions options;
  options.limits.cpu_seconds = 1;
  options.limits.wall_seconds = 20;
  ProcessResult r = Shell("while :; do :; done", options);
  EXPECT_EQ(r.signal, SIGXCPU) << r.Describe();
}

TEST(ProcessTest, FileSizeLimit) {
  auto path = std::filesystem::temp_directory_path() /
              ("rlvr_process_test_" + std::to_string(getpid()) + ".bin");
  RunOptions options;
  options.limits.file_size_bytes = 4096;
  ProcessResult r = Shell("head -c 100000 /dev/zero > '" + path.string() + "'", options);
  EXPECT_FALSE(r.ok());
  EXPECT_LE(std::filesystem::file_size(path), 4096u);
  std::filesystem::remove(path);
}

TEST(ProcessTest, NoNetworkLeavesOnlyLoopback) {
  // /proc/net is per network namespace (unlike /sys/class/net, fixed at mount time).
  const char* kListInterfaces = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '";
  RunOptions options;
  options.limits.no_network = true;
  ProcessResult r = Shell(kListInterfaces, options);
  ASSERT_TRUE(r.ok()) << r.Describe();
  ProcessResult with_network = Shell(kListInterfaces);
  if (with_network.out == r.out) GTEST_SKIP() << "no network namespace allowed here";
  EXPECT_EQ(r.out, "lo\n");
}

// Secrets in our environment for the length of one test. Their values are never registered with
// base/secrets.h, so a leak would show in the child's output as is instead of being redacted away:
// these tests check that the child never gets them, not that redaction hides them.
class ProcessSecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tag_ = std::to_string(getpid());
    key_ = "sk-process-test-key-" + tag_;
    token_ = "tok-process-test-" + tag_;
    setenv("OPENAI_API_KEY", key_.c_str(), 1);
    setenv("MY_SERVICE_TOKEN", token_.c_str(), 1);
    setenv("RLVR_PROCESS_ENV_PLAIN", "plain", 1);  // allowlisted (RLVR_*), harmless
    setenv("RLVR_PROCESS_ENV_OTHER", "other", 1);
    setenv("UNLISTED_PROCESS_TEST_VAR", "unlisted", 1);
  }
  void TearDown() override {
    unsetenv("OPENAI_API_KEY");
    unsetenv("MY_SERVICE_TOKEN");
    unsetenv("RLVR_PROCESS_ENV_PLAIN");
    unsetenv("RLVR_PROCESS_ENV_OTHER");
    unsetenv("UNLISTED_PROCESS_TEST_VAR");
    SetPassThroughEnvironment({});
    std::filesystem::remove_all(Dir());
  }
  std::filesystem::path Dir() const {
    return std::filesystem::temp_directory_path() / ("rlvr_process_secrets_" + tag_);
  }
  // What the child sees: no secret name nor value anywhere in its output.
  void ExpectNoSecrets(const std::string& out) {
    EXPECT_THAT(out, Not(HasSubstr("OPENAI_API_KEY")));
    EXPECT_THAT(out, Not(HasSubstr("MY_SERVICE_TOKEN")));
    EXPECT_THAT(out, Not(HasSubstr(key_)));
    EXPECT_THAT(out, Not(HasSubstr(token_)));
  }

  std::string tag_, key_, token_;
};

TEST_F(ProcessSecretsTest, EnvSeesOnlyTheAllowlistAndExplicitVariables) {
  RunOptions options;
  options.env["RLVR_EXPLICIT"] = "given";
  options.env["EXPLICIT_NOT_LISTED"] = "also given";  // explicit values win, whatever the name
  ProcessResult r = RunProcess({"/usr/bin/env"}, options);
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  ExpectNoSecrets(r.out);
  EXPECT_THAT(r.out, HasSubstr("PATH="));
  EXPECT_THAT(r.out, HasSubstr("RLVR_PROCESS_ENV_PLAIN=plain\n"));
  EXPECT_THAT(r.out, HasSubstr("RLVR_EXPLICIT=given\n"));
  EXPECT_THAT(r.out, HasSubstr("EXPLICIT_NOT_LISTED=also given\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("UNLISTED_PROCESS_TEST_VAR")));
}

TEST_F(ProcessSecretsTest, CompiledProgramWalkingEnvironSeesNoSecret) {
  std::filesystem::create_directories(Dir());
  std::ofstream(Dir() / "walk.cpp") << R"(#include <cstdio>
extern char** environ;
int main() {
  for (char** e = environ; *e; ++e) std::printf("%s\n", *e);
}
)";
  // The compiler itself runs with the allowlisted environment: it must still work.
  ProcessResult compile =
      RunProcess({"c++", "-O0", "-o", (Dir() / "walk").string(), (Dir() / "walk.cpp").string()});
  ASSERT_TRUE(compile.ok()) << compile.Describe() << compile.err;
  RunOptions options;
  options.env["RLVR_TEST_SEED"] = "42";
  options.unset_env.push_back("RLVR_PROCESS_ENV_OTHER");
  ProcessResult r = RunProcess({(Dir() / "walk").string()}, options);
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  ExpectNoSecrets(r.out);
  EXPECT_THAT(r.out, HasSubstr("PATH="));
  EXPECT_THAT(r.out, HasSubstr("RLVR_TEST_SEED=42\n"));
  EXPECT_THAT(r.out, HasSubstr("RLVR_PROCESS_ENV_PLAIN=plain\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("RLVR_PROCESS_ENV_OTHER")));
  EXPECT_THAT(r.out, Not(HasSubstr("UNLISTED_PROCESS_TEST_VAR")));
}

TEST_F(ProcessSecretsTest, PassThroughNamesReachTheChild) {
  SetPassThroughEnvironment({"UNLISTED_PROCESS_TEST_VAR", "MY_SERVICE_TOKEN"});
  ProcessResult r = RunProcess({"/usr/bin/env"});
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  EXPECT_THAT(r.out, HasSubstr("UNLISTED_PROCESS_TEST_VAR=unlisted\n"));
  // Named on purpose, so passed even though it looks secret; the API key still is not.
  EXPECT_THAT(r.out, HasSubstr("MY_SERVICE_TOKEN=" + token_ + "\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("OPENAI_API_KEY")));
  EXPECT_THAT(r.out, Not(HasSubstr(key_)));
}

TEST_F(ProcessSecretsTest, InheritEnvironmentOptOutPassesEverything) {
  // The opt-out shows the test above would see a leak: with it the secrets do reach the child.
  RunOptions options;
  options.inherit_environment = true;
  ProcessResult r = RunProcess({"/usr/bin/env"}, options);
  ASSERT_TRUE(r.ok()) << r.Describe() << r.err;
  EXPECT_THAT(r.out, HasSubstr("OPENAI_API_KEY=" + key_ + "\n"));
  EXPECT_THAT(r.out, HasSubstr("MY_SERVICE_TOKEN=" + token_ + "\n"));
  EXPECT_THAT(r.out, HasSubstr("UNLISTED_PROCESS_TEST_VAR=unlisted\n"));
}

TEST(ProcessTest, RedactsRegisteredSecretsInChildOutput) {
  std::string secret = "sk-printed-by-child-" + std::to_string(getpid());
  RegisterSecret(secret);
  // The child gets the value explicitly (as a candidate might find it some other way) and prints
  // it on both streams, twice.
  RunOptions options;
  options.env["FOUND"] = secret;
  ProcessResult r = Shell("echo \"a $FOUND b $FOUND\"; echo \"$FOUND\" >&2", options);
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.out, "a [redacted] b [redacted]\n");
  EXPECT_EQ(r.err, "[redacted]\n");
}

}  // namespace
}  // namespace rlvr
