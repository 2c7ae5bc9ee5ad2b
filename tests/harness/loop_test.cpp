// End to end: `rlvr iterate` on a copy of the fixture repository against the scripted endpoint.
// One run covers a repair turn, a promotion, a test-breaking and a slower candidate and a bad
// key; another is SIGKILLed mid-evaluation and resumed, then stopped by SIGINT. Secrets are
// checked in the ledger, the git history and the output. Plus the lock and the status command.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/base/process.h"
#include "harness/base/run_lock.h"
#include "harness/ledger/ledger.h"
#include "harness/loop/loop.h"
#include "harness/loop/prompt.h"
#include "tests/fake_endpoint/fake_endpoint.h"
#include "tests/harness/fixture_repo.h"

namespace rlvr {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSecret = "sk-test-SECRET";

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Starts RLVR_BINARY with `args`, stdout+stderr to `log`, OPENAI_API_KEY set to the secret.
pid_t StartRlvr(const std::vector<std::string>& args, const std::filesystem::path& log) {
  pid_t pid = fork();
  if (pid == 0) {
    // Its own process group, so killing rlvr's children's groups can never reach the test runner.
    setpgid(0, 0);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    setenv("OPENAI_API_KEY", kSecret, 1);
    std::vector<char*> argv;
    std::string binary = RLVR_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Waits up to `seconds` for `text` to appear in the file at `path`.
bool WaitForText(const std::filesystem::path& path, const std::string& text, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  do {
    if (ReadAll(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

// Process groups of the direct children of `parent` (the builds rlvr runs).
// One process of /proc: its state ('Z' for a zombie), parent, process group and command name.
struct ProcStat {
  pid_t pid = 0;
  char state = 0;
  long ppid = 0, pgrp = 0;
  std::string comm;
};

std::vector<ProcStat> AllProcStats() {
  std::vector<ProcStat> all;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string line = ReadAll(entry.path() / "stat");
    size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    ProcStat p;
    p.pid = static_cast<pid_t>(std::stol(name));
    p.comm = line.substr(open + 1, close - open - 1);
    std::istringstream fields(line.substr(close + 1));
    fields >> p.state >> p.ppid >> p.pgrp;
    all.push_back(p);
  }
  return all;
}

std::vector<pid_t> ChildGroups(pid_t parent) {
  std::vector<pid_t> groups;
  for (const ProcStat& p : AllProcStats()) {
    // A child caught between fork and its setsid() is still in its parent's group; the test's own
    // group (ctest and the shell above it) must never be a target; rlvr's guard is not its work.
    if (p.comm == "rlvr-guard") continue;
    if (p.ppid == parent && p.pgrp > 0 && p.pgrp != getpgrp())
      groups.push_back(static_cast<pid_t>(p.pgrp));
  }
  return groups;
}

// Whether a live (not zombie) process is in process group `group`.
bool GroupHasLiveMembers(pid_t group) {
  for (const ProcStat& p : AllProcStats())
    if (p.pgrp == group && p.state != 'Z') return true;
  return false;
}

// The guard `owner` started (its child named rlvr-guard); 0 when none.
pid_t GuardOf(pid_t owner) {
  for (const ProcStat& p : AllProcStats())
    if (p.comm == "rlvr-guard" && p.ppid == owner) return p.pid;
  return 0;
}

// Searches every file under `dir` for `needle`.
std::vector<std::string> FilesContaining(const std::filesystem::path& dir,
                                         const std::string& needle) {
  std::vector<std::string> hits;
  for (auto it = std::filesystem::recursive_directory_iterator(dir);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file() || it->file_size() > (64u << 20)) continue;
    if (ReadAll(it->path()).find(needle) != std::string::npos) hits.push_back(it->path());
  }
  return hits;
}

json Step(const std::string& candidate) {
  return {{"content_file", std::string(RLVR_FIXTURES_DIR) + "/candidates/" + candidate}};
}

std::vector<AttemptRecord> AllAttempts(const std::filesystem::path& root) {
  Ledger ledger(Ledger::DefaultPath(root));
  std::vector<AttemptRecord> all;
  for (int64_t run = 1; run <= ledger.LastRun()->id; ++run) {
    for (auto& a : ledger.RunAttempts(run)) all.push_back(a);
  }
  return all;
}

TEST(LoopEndToEnd, RepairPromotionRejectionsAndBadKey) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string initial = repo.Head();
  FakeEndpoint endpoint(json::array({
      Step("wrong_result.txt"),                                 // 1.1: breaks the tests
      Step("slower.txt"),                                       // 1.1.1: repair, slower
      {{"content", "I would unroll the loop, but no patch."}},  // 2.1: nothing to apply
      Step("speedup.txt"),                                      // 2.1.1: repaired, promoted
      {{"status", 401}, {"error", std::string("Incorrect API key provided: ") + kSecret}},
  }));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  pid_t pid = StartRlvr({"iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(),
                         "--model", "fake-model", "-n", "1", "--max-repairs", "1",
                         "--max-iterations", "5", "--no-sanitizers", "--retries", "0"},
                        log);
  int exit_code = Wait(pid);
  std::string out = ReadAll(log);
  std::filesystem::remove(log);
  EXPECT_EQ(exit_code, 1) << out;  // stopped by the endpoint's permanent error

  // Printed lines, one per attempt.
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\] dot 1\.1 failed tests )")) << out;
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\] dot 1\.1\.1 failed benchmark [0-9.]+ )")) << out;
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\] dot 2\.1 failed (scope|apply) )")) << out;
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\] dot 2\.1\.1 passed - 0\.[0-9]+ )")) << out;
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\] dot 2\.1\.1 promoted .* commit [0-9a-f]{12})"))
      << out;
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\] dot 3\.1 error llm .*401)")) << out;
  EXPECT_THAT(out, HasSubstr("Incorrect API key provided"));

  // Repair turns carry the error; the second round's prompt shows the first round's history.
  auto requests = endpoint.requests();
  ASSERT_EQ(requests.size(), 5u);
  json repair_tests = json::parse(requests[1].body);
  ASSERT_EQ(repair_tests["messages"].size(), 4u);
  EXPECT_EQ(repair_tests["messages"][2]["role"], "assistant");
  EXPECT_THAT(repair_tests["messages"][3]["content"].get<std::string>(),
              HasSubstr("failed the 'tests' gate"));
  EXPECT_THAT(repair_tests["messages"][3]["content"].get<std::string>(), HasSubstr("DotTest"));
  json repair_apply = json::parse(requests[3].body);
  EXPECT_THAT(repair_apply["messages"][3]["content"].get<std::string>(),
              ::testing::ContainsRegex("failed the '(scope|apply)' gate"));
  std::string round2 = json::parse(requests[2].body)["messages"][1]["content"];
  EXPECT_THAT(round2, HasSubstr("round 1.1 failed at tests"));
  EXPECT_THAT(round2, HasSubstr("round 1.1.1 failed at benchmark"));
  EXPECT_THAT(json::parse(requests[4].body)["messages"][1]["content"].get<std::string>(),
              HasSubstr("round 2.1.1 promoted"));

  // The key: sent in the header only, never stored, committed or printed.
  for (const auto& r : requests) {
    EXPECT_EQ(r.authorization, std::string("Bearer ") + kSecret);
    EXPECT_THAT(r.body, Not(HasSubstr(kSecret)));
  }
  EXPECT_THAT(out, Not(HasSubstr(kSecret)));
  EXPECT_THAT(FilesContaining(repo.path() / ".rlvr", kSecret), ::testing::IsEmpty());
  EXPECT_THAT(repo.Git("log -p --all"), Not(HasSubstr(kSecret)));

  // Ledger rows.
  auto attempts = AllAttempts(repo.path());
  ASSERT_EQ(attempts.size(), 5u);
  EXPECT_EQ(attempts[0].verdict, "failed");
  EXPECT_EQ(attempts[0].failed_gate.value_or(""), "tests");
  EXPECT_GT(attempts[0].prompt_tokens, 0);
  EXPECT_EQ(attempts[1].failed_gate.value_or(""), "benchmark");
  EXPECT_EQ(attempts[1].repair, 1);
  EXPECT_GT(attempts[1].primary_ratio.value_or(0), 1.0);
  EXPECT_EQ(attempts[2].verdict, "failed");
  EXPECT_EQ(attempts[3].verdict, "promoted");
  EXPECT_EQ(attempts[3].repair, 1);
  EXPECT_EQ(attempts[3].promoted_commit.value_or(""), repo.Head());
  EXPECT_LT(attempts[3].primary_ratio.value_or(9), 0.97);
  EXPECT_FALSE(attempts[3].patch.empty());
  EXPECT_EQ(attempts[4].verdict, "error");
  EXPECT_EQ(attempts[4].failed_gate.value_or(""), "llm");
  Ledger ledger(Ledger::DefaultPath(repo.path()));
  EXPECT_THAT(ledger.LastRun()->stop_reason.value_or(""), HasSubstr("endpoint error"));

  // Git: exactly one new commit, with the speed-up and the baseline.
  EXPECT_EQ(repo.Git("rev-list --count HEAD"), "2\n");
  EXPECT_EQ(repo.Git("rev-list --max-parents=0 HEAD"), initial + "\n");
  EXPECT_THAT(repo.Git("show HEAD --stat"), HasSubstr("kernel/dot.cpp"));
  EXPECT_THAT(repo.Git("show HEAD --stat"), HasSubstr("baselines/dot.json"));
  EXPECT_THAT(ReadAll(repo.path() / "kernel/dot.cpp"), HasSubstr("acc[8]"));
  json baseline = json::parse(ReadAll(repo.path() / "baselines/dot.json"));
  EXPECT_TRUE(baseline["benchmarks"].contains("BM_Dot/4096"));

  // rlvr status reads the finished run.
  std::filesystem::path status_log = repo.path().parent_path() / "status.log";
  EXPECT_EQ(Wait(StartRlvr({"status", "-C", repo.path().string()}, status_log)), 0);
  std::string status = ReadAll(status_log);
  std::filesystem::remove(status_log);
  EXPECT_THAT(status, HasSubstr("finished at"));
  EXPECT_THAT(status, HasSubstr("attempts: 1 error 3 failed 1 promoted"));
  EXPECT_THAT(status, HasSubstr("lock: free"));
  EXPECT_THAT(status, HasSubstr("model=\"fake-model\""));
}

TEST(LoopEndToEnd, KilledMidEvaluationResumesCleanlyAndStopsOnSignal) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string initial = repo.Head();
  FakeEndpoint endpoint(json::array({Step("speedup.txt"), Step("speedup.txt")}));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  std::vector<std::string> args = {
      "iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(),
      "-n",      "1",  "--max-repairs",      "0",          "--no-sanitizers"};

  // First loop: SIGKILL once the evaluation is under way (a build is running).
  pid_t pid = StartRlvr(args, log);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::vector<pid_t> groups;
  while (std::chrono::steady_clock::now() < deadline) {
    groups = ChildGroups(pid);
    if (endpoint.requests().size() == 1 && !groups.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(groups.empty()) << ReadAll(log);
  std::filesystem::path status_log = repo.path().parent_path() / "running.log";
  EXPECT_EQ(Wait(StartRlvr({"status", "-C", repo.path().string()}, status_log)), 0);
  EXPECT_THAT(ReadAll(status_log),
              HasSubstr("running (pid " + std::to_string(pid) + ", holds the lock)"));
  std::filesystem::remove(status_log);
  kill(pid, SIGKILL);
  EXPECT_EQ(Wait(pid), 128 + SIGKILL);
  // The build dies with rlvr (its guard ends the group), not minutes later.
  auto killed = std::chrono::steady_clock::now();
  auto build_alive = [&] { return std::any_of(groups.begin(), groups.end(), GroupHasLiveMembers); };
  while (build_alive() && std::chrono::steady_clock::now() - killed < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(build_alive()) << "the build outlived rlvr by 5 s";
  for (pid_t g : groups) kill(-g, SIGKILL);                // whatever is left, for the next steps
  EXPECT_EQ(repo.Head(), initial);                         // no half promotion
  EXPECT_FALSE(RunLock::Holder(repo.path()).has_value());  // the kernel dropped the lock
  {
    Ledger ledger(Ledger::DefaultPath(repo.path()));  // still a valid ledger
    EXPECT_FALSE(ledger.LastRun()->finished_at.has_value());
    // The reply being judged when the loop died is not lost: it is there, marked unjudged.
    std::vector<AttemptRecord> killed = ledger.RunAttempts(ledger.LastRun()->id);
    ASSERT_EQ(killed.size(), 1u);
    EXPECT_EQ(killed[0].verdict, "error");
    EXPECT_THAT(killed[0].message, HasSubstr("not judged"));
    EXPECT_FALSE(killed[0].reply.empty());
    EXPECT_GT(killed[0].prompt_tokens, 0);
  }

  // Second loop: judges the killed loop's reply before asking for anything; a SIGINT during that
  // evaluation abandons it at once: still not judged (the reply kept), nothing asked, exit 130.
  pid = StartRlvr(args, log);
  EXPECT_TRUE(WaitForText(log, "judging 1 reply an earlier run paid for and left unjudged", 60))
      << ReadAll(log);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto signalled = std::chrono::steady_clock::now();
  kill(pid, SIGINT);
  EXPECT_TRUE(WaitForText(log, "stop requested: abandoning the evaluation of dot 1.1", 2))
      << ReadAll(log);
  int exit_code = Wait(pid);
  double stop_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
  std::string out = ReadAll(log);
  EXPECT_EQ(exit_code, 128 + SIGINT) << out;  // 130: stopped by Ctrl-C, not a spent budget
  EXPECT_LT(stop_seconds, 10) << out;
  EXPECT_THAT(out, HasSubstr("closed 1 run(s) left unfinished"));
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\] dot 1\.1 error .*not judged: stopped)")) << out;
  EXPECT_THAT(out, HasSubstr("stopped (stop signal)"));
  EXPECT_EQ(endpoint.requests().size(), 1u);  // nothing asked: a paid reply was waiting
  EXPECT_EQ(repo.Head(), initial);
  {
    Ledger ledger(Ledger::DefaultPath(repo.path()));
    std::optional<AttemptRecord> kept = ledger.FindAttempt(1);
    ASSERT_TRUE(kept.has_value());
    EXPECT_EQ(kept->verdict, "error");
    EXPECT_THAT(kept->message, HasSubstr("reply is kept"));
    EXPECT_FALSE(kept->reply.empty());
  }

  // Third loop: judges it to the end and promotes it, in its own row, then its one round.
  args.insert(args.end(), {"--max-iterations", "1"});
  exit_code = Wait(StartRlvr(args, log));
  out = ReadAll(log);
  std::filesystem::remove(log);
  EXPECT_EQ(exit_code, 0) << out;
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\] dot 1\.1 promoted )")) << out;
  EXPECT_EQ(endpoint.requests().size(), 2u);  // the round's request only
  EXPECT_EQ(repo.Git("rev-list --count HEAD"), "2\n");
  EXPECT_EQ(repo.Git("status --porcelain --untracked-files=no"), "");
  Ledger ledger(Ledger::DefaultPath(repo.path()));
  std::optional<AttemptRecord> first = ledger.FindAttempt(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->verdict, "promoted");
  EXPECT_EQ(first->promoted_commit.value_or(""), repo.Head());
  EXPECT_THAT(FilesContaining(repo.path() / ".rlvr", kSecret), ::testing::IsEmpty());
}

// Writes `text` over `path`.
void WriteAll(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// The user turn of a recorded request: what the model was shown.
std::string UserTurn(const RecordedRequest& request) {
  return json::parse(request.body)["messages"][1]["content"].get<std::string>();
}

TEST(LoopEndToEnd, PromptShowsHeadAndSaysUncommittedEditsAreIgnored) {
  FixtureRepo repo = MakeFixtureRepo();
  std::filesystem::path kernel = repo.path() / "kernel/dot.cpp";
  std::string committed = ReadAll(kernel);
  WriteAll(kernel, committed + "// UNCOMMITTED-EDIT-MARKER\n");
  FakeEndpoint endpoint(json::array({{{"content", "No patch this time."}}}));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  int exit_code =
      Wait(StartRlvr({"iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(),
                      "-n", "1", "--max-repairs", "0", "--max-iterations", "1", "--no-sanitizers"},
                     log));
  std::string out = ReadAll(log);
  std::filesystem::remove(log);
  EXPECT_EQ(exit_code, 0) << out;
  ASSERT_EQ(endpoint.requests().size(), 1u) << out;
  std::string shown = UserTurn(endpoint.requests()[0]);
  EXPECT_THAT(shown, HasSubstr(committed));
  EXPECT_THAT(shown, Not(HasSubstr("UNCOMMITTED-EDIT-MARKER")));
  // Said in the run's first lines, before any attempt.
  size_t warning = out.find("uncommitted edits in kernel/dot.cpp are ignored");
  ASSERT_NE(warning, std::string::npos) << out;
  EXPECT_LT(warning, out.find("] dot 1.1 ")) << out;
  EXPECT_THAT(out, HasSubstr(repo.Head().substr(0, 12)));
  // The user's edit is untouched.
  EXPECT_THAT(ReadAll(kernel), HasSubstr("UNCOMMITTED-EDIT-MARKER"));
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Waits until `endpoint` has received `count` requests (at most 60 s).
bool WaitForRequests(const FakeEndpoint& endpoint, size_t count) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (endpoint.requests().size() < count) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Whether a process whose executable is named `name` runs with `text` in its command line.
bool ProcessRunning(const std::string& name, const std::string& text) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    std::filesystem::path exe = std::filesystem::read_symlink(entry.path() / "exe", ec);
    if (ec || exe.filename() != name) continue;
    if (ReadAll(entry.path() / "cmdline").find(text) != std::string::npos) return true;
  }
  return false;
}

// A hung test: the first signal abandons the evaluation at once (a service manager's stop timeout
// is seconds, the test's own limit minutes), says so, and the attempt is recorded as not judged,
// its reply kept.
TEST(LoopEndToEnd, HungTestFirstSignalAbandonsAtOnce) {
  FixtureRepo repo = MakeFixtureRepo();
  FakeEndpoint endpoint(json::array({Step("hangs.txt")}));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  // The second loop judges the reply the first one was stopped on, before asking for more: it
  // hangs again, and SIGTERM abandons it as fast.
  for (int signal_number : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(signal_number);
    std::filesystem::remove(log);  // the notices waited for are this loop's
    pid_t pid =
        StartRlvr({"iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(), "-n",
                   "1", "--max-repairs", "0", "--no-sanitizers", "--max-iterations", "1"},
                  log);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (!ProcessRunning("dot_tests", repo.path().string()) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(ProcessRunning("dot_tests", repo.path().string())) << ReadAll(log);
    auto start = std::chrono::steady_clock::now();
    kill(pid, signal_number);
    EXPECT_TRUE(WaitForText(log, "stop requested: abandoning the evaluation of dot 1.1", 2))
        << ReadAll(log);
    int exit_code = Wait(pid);
    double seconds = SecondsSince(start);
    std::string out = ReadAll(log);
    EXPECT_EQ(exit_code, 128 + signal_number) << out;
    EXPECT_LT(seconds, 5) << out;
    EXPECT_THAT(out, HasSubstr("stopped (stop signal)")) << out;
    EXPECT_EQ(endpoint.requests().size(), 1u);  // the second loop asked for nothing
    Ledger ledger(Ledger::DefaultPath(repo.path()));
    std::optional<AttemptRecord> row = ledger.FindAttempt(1);
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->verdict, "error");
    EXPECT_THAT(row->message, HasSubstr("not judged: stopped"));
    EXPECT_FALSE(row->failed_gate.has_value());            // not the candidate's failure
    EXPECT_THAT(row->reply, HasSubstr("kernel/dot.cpp"));  // kept for a later judgment
    EXPECT_FALSE(ProcessRunning("dot_tests", repo.path().string()));
  }
  std::filesystem::remove(log);
}

// SIGKILL of rlvr during a hung test: the test dies with it, not at its own limit — also when rlvr
// and its guard die together (`pkill -9 rlvr`): the test is rlvr's direct child and dies with
// it. (What such a double kill leaves of a deeper tree, the next loop ends by the groups recorded:
// LeftoverProcesses.* in process_guard_test.cpp.) The next loop removes the dead loop's record.
TEST(LoopEndToEnd, NothingOutlivesAKilledLoop) {
  FixtureRepo repo = MakeFixtureRepo();
  FakeEndpoint endpoint(
      json::array({Step("hangs.txt"), Step("hangs.txt"), {{"content", "No patch this time."}}}));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  std::vector<std::string> args = {"iterate",
                                   "-C",
                                   repo.path().string(),
                                   "--base-url",
                                   endpoint.base_url(),
                                   "-n",
                                   "1",
                                   "--max-repairs",
                                   "0",
                                   "--no-sanitizers",
                                   "--max-iterations",
                                   "1"};
  std::filesystem::path records = repo.path() / ".rlvr" / "processes";
  for (bool kill_guard_too : {false, true}) {
    SCOPED_TRACE(kill_guard_too ? "rlvr and its guard killed" : "rlvr killed");
    pid_t pid = StartRlvr(args, log);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (!ProcessRunning("dot_tests", repo.path().string()) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(ProcessRunning("dot_tests", repo.path().string())) << ReadAll(log);
    // The running test's group is on record while it runs.
    ASSERT_TRUE(std::filesystem::is_directory(records));
    EXPECT_FALSE(std::filesystem::is_empty(records));
    if (kill_guard_too) {
      pid_t guard = GuardOf(pid);
      ASSERT_GT(guard, 0);
      kill(guard, SIGKILL);
    }
    kill(pid, SIGKILL);
    Wait(pid);
    auto killed = std::chrono::steady_clock::now();
    while (ProcessRunning("dot_tests", repo.path().string()) && SecondsSince(killed) < 5)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(ProcessRunning("dot_tests", repo.path().string())) << "alive 5 s after SIGKILL";
  }
  EXPECT_FALSE(std::filesystem::is_empty(records));  // the dead loop's record
  // The next loop reads it (nothing left to end), then goes on to judge the hung reply the killed
  // loops left (the second judged it first, too, asking for nothing): stopped there.
  std::filesystem::remove(log);  // so the text waited for is the next loop's
  pid_t next = StartRlvr(args, log);
  EXPECT_TRUE(WaitForText(log, "judging 1 reply an earlier run paid for", 60)) << ReadAll(log);
  kill(next, SIGINT);
  int exit_code = Wait(next);
  std::string out = ReadAll(log);
  EXPECT_EQ(exit_code, 130) << out;
  EXPECT_THAT(out, Not(HasSubstr("ended process group"))) << out;  // nothing was left
  std::string left;
  for (const auto& entry : std::filesystem::directory_iterator(records))
    left += entry.path().filename().string() + ": " + ReadAll(entry.path()) + "\n";
  EXPECT_EQ(left, "") << out;  // read and removed; its own gone at exit
  std::filesystem::remove(log);
}

// A stop signal during a model request abandons it at once and says so; a second one changes
// nothing about the reason recorded (it used to read "interrupted while waiting to retry"). The
// exit status says which signal stopped the loop (it used to be 0, as for a spent budget).
TEST(LoopEndToEnd, StopSignalAbandonsAModelRequestAtOnce) {
  FixtureRepo repo = MakeFixtureRepo();
  json late = {{"delay_ms", 60000}, {"content", "late"}};
  FakeEndpoint endpoint(json::array({late, late, late}));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  std::vector<std::string> args = {
      "iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(),
      "-n",      "1",  "--no-sanitizers"};
  struct Case {
    int signal_number;
    int signals;
    int exit_code;
  };
  for (Case c : {Case{SIGINT, 1, 130}, Case{SIGINT, 2, 130}, Case{SIGTERM, 1, 143}}) {
    SCOPED_TRACE(testing::Message() << "signal " << c.signal_number << " x" << c.signals);
    size_t before = endpoint.requests().size();
    pid_t pid = StartRlvr(args, log);
    ASSERT_TRUE(WaitForRequests(endpoint, before + 1)) << ReadAll(log);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto start = std::chrono::steady_clock::now();
    kill(pid, c.signal_number);
    if (c.signals == 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      kill(pid, c.signal_number);
    }
    EXPECT_TRUE(WaitForText(log, "stop requested: abandoning the model request for dot", 2))
        << ReadAll(log);
    int exit_code = Wait(pid);
    double seconds = SecondsSince(start);
    std::string out = ReadAll(log);
    EXPECT_EQ(exit_code, c.exit_code) << out;
    EXPECT_LT(seconds, 3) << out;
    EXPECT_THAT(out, HasSubstr("stopped (stop signal) after 0 round(s), 1 attempt(s)")) << out;
    EXPECT_THAT(out, Not(HasSubstr("waiting to retry")));
    EXPECT_EQ(endpoint.requests().size(), before + 1);  // not asked again
    Ledger ledger(Ledger::DefaultPath(repo.path()));
    EXPECT_EQ(ledger.LastRun()->stop_reason.value_or(""), "stop signal");
    std::vector<AttemptRecord> rows = ledger.RunAttempts(ledger.LastRun()->id);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].failed_gate.value_or(""), "llm");
    EXPECT_THAT(rows[0].message, HasSubstr("abandoned: stop requested"));
  }
  std::filesystem::remove(log);
}

// Every failure says its own reason on the terminal, not the apply gate's generic one.
TEST(LoopEndToEnd, NoPatchAndUnchangedFileSayWhy) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string unchanged =
      "kernel/dot.cpp\n```cpp\n" + ReadAll(repo.path() / "kernel/dot.cpp") + "```\n";
  FakeEndpoint endpoint(
      json::array({{{"content", "I would unroll it, but no patch."}}, {{"content", unchanged}}}));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  int exit_code =
      Wait(StartRlvr({"iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(),
                      "-n", "1", "--max-repairs", "0", "--max-iterations", "2", "--no-sanitizers"},
                     log));
  std::string out = ReadAll(log);
  std::filesystem::remove(log);
  EXPECT_EQ(exit_code, 0) << out;
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\] dot 1\.1 failed apply .*no patch found)")) << out;
  EXPECT_THAT(out, ::testing::ContainsRegex(R"(\] dot 2\.1 failed apply .*changes nothing)"))
      << out;
  EXPECT_THAT(out, Not(HasSubstr("patch does not apply"))) << out;
  std::vector<AttemptRecord> rows = AllAttempts(repo.path());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[0].message, HasSubstr("no patch found"));
  EXPECT_THAT(rows[1].message, HasSubstr("changes nothing"));
}

// A reply left unjudged because the loop stopped is an attempt of the run: counted in the
// summary, printed with the reason.
TEST(LoopEndToEnd, UnjudgedReplyIsCountedAndSaysWhy) {
  FixtureRepo repo = MakeFixtureRepo();
  // The reply arrives 2 s into a 1 s budget: recorded, never judged.
  FakeEndpoint endpoint(json::array({{{"delay_ms", 2000}, {"content", "no patch"}}}));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  int exit_code =
      Wait(StartRlvr({"iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(),
                      "-n", "1", "--max-hours", std::to_string(1.0 / 3600), "--no-sanitizers"},
                     log));
  std::string out = ReadAll(log);
  std::filesystem::remove(log);
  EXPECT_EQ(exit_code, 0) << out;
  EXPECT_THAT(out, ::testing::ContainsRegex(
                       R"(\] dot 1\.1 error - .*not judged: the loop stopped \(max-hours\))"))
      << out;
  EXPECT_THAT(out, HasSubstr("stopped (max-hours) after 1 round(s), 1 attempt(s)")) << out;
  std::vector<AttemptRecord> rows = AllAttempts(repo.path());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].message, HasSubstr("not judged: the loop stopped (max-hours)"));
}

// Rounds without a usable reply count against --max-endpoint-failures only, and a loop that
// ends because the model could not be used exits non-zero.
TEST(LoopEndToEnd, EndpointFailuresDoNotSpendIterationsAndExitNonZero) {
  FixtureRepo repo = MakeFixtureRepo();
  json failures = json::array();
  for (int i = 0; i < 4; ++i) failures.push_back({{"status", 503}, {"error", "overloaded"}});
  FakeEndpoint endpoint(failures);
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  int exit_code =
      Wait(StartRlvr({"iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(),
                      "-n", "1", "--retries", "0", "--max-iterations", "1",
                      "--max-endpoint-failures", "3", "--no-sanitizers"},
                     log));
  std::string out = ReadAll(log);
  EXPECT_EQ(exit_code, 1) << out;
  EXPECT_EQ(endpoint.requests().size(), 3u) << out;
  EXPECT_THAT(out, HasSubstr("stopped (3 consecutive endpoint failures) after 0 round(s)")) << out;
  EXPECT_THAT(out, HasSubstr("the model could not be used"));

  // Nothing listens: the same, from the network error.
  exit_code =
      Wait(StartRlvr({"iterate", "-C", repo.path().string(), "--base-url", "http://127.0.0.1:1/v1",
                      "-n", "1", "--retries", "0", "--max-iterations", "1",
                      "--max-endpoint-failures", "1", "--no-sanitizers"},
                     log));
  out = ReadAll(log);
  std::filesystem::remove(log);
  EXPECT_EQ(exit_code, 1) << out;
  EXPECT_THAT(out, HasSubstr("stopped (1 consecutive endpoint failures)")) << out;
}

// A candidate that passes every gate run under --no-benchmark is a pass ('passed', saying the
// benchmark gate was skipped), never promoted; it used to be recorded as 'failed'. rlvr status
// and the report show it as such.
TEST(LoopEndToEnd, NoBenchmarkPassIsRecordedAsAPassNotPromoted) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string initial = repo.Head();
  FakeEndpoint endpoint(json::array({Step("speedup.txt")}));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  int exit_code = Wait(StartRlvr(
      {"iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(), "-n", "1",
       "--max-repairs", "1", "--max-iterations", "1", "--no-sanitizers", "--no-benchmark"},
      log));
  std::string out = ReadAll(log);
  EXPECT_EQ(exit_code, 0) << out;
  EXPECT_THAT(out, ::testing::ContainsRegex(
                       R"(\] dot 1\.1 passed - - [0-9.]+s  \(.*benchmark gate was skipped)"))
      << out;
  EXPECT_EQ(endpoint.requests().size(), 1u);  // a pass gets no repair turn
  std::vector<AttemptRecord> rows = AllAttempts(repo.path());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].verdict, "passed");
  EXPECT_FALSE(rows[0].failed_gate.has_value());
  EXPECT_THAT(rows[0].message, HasSubstr("benchmark gate was skipped"));
  EXPECT_FALSE(rows[0].promoted_commit.has_value());
  EXPECT_FALSE(rows[0].patch.empty());
  EXPECT_EQ(repo.Head(), initial);  // nothing promoted

  EXPECT_EQ(Wait(StartRlvr({"status", "-C", repo.path().string()}, log)), 0);
  std::string status = ReadAll(log);
  EXPECT_THAT(status, HasSubstr("attempts: 1 passed")) << status;
  EXPECT_THAT(status, HasSubstr("benchmark gate was skipped")) << status;

  std::filesystem::path report =
      repo.path().parent_path() / (repo.path().filename().string() + ".report");
  EXPECT_EQ(Wait(StartRlvr({"report", "-C", repo.path().string(), "--out", report.string()}, log)),
            0)
      << ReadAll(log);
  std::string markdown = ReadAll(report / "report.md");
  std::filesystem::remove_all(report);
  std::filesystem::remove(log);
  EXPECT_THAT(markdown, HasSubstr("1 attempt, 0 promotions, 1 passed but not promoted"))
      << markdown;
  EXPECT_THAT(markdown, Not(HasSubstr("1 failed")));
}

// A reply quoting the API key: redacted before anything else sees it. The repair turn sends it
// back redacted (it used to go back verbatim while the ledger said [redacted]), and the ledger
// records exactly the conversation that was sent. --jobs 2: the reply files of the local pool.
TEST(LoopEndToEnd, ReplyQuotingTheKeyIsRedactedInRepairTurnAndLedgerAlike) {
  FixtureRepo repo = MakeFixtureRepo();
  FakeEndpoint endpoint(json::array({
      {{"content", std::string("Your key is ") + kSecret + ", but I have no patch."}},
      {{"content", "Still no patch."}},
  }));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  int exit_code = Wait(StartRlvr(
      {"iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(), "-n", "1",
       "--max-repairs", "1", "--max-iterations", "1", "--no-sanitizers", "--jobs", "2"},
      log));
  std::string out = ReadAll(log);
  std::filesystem::remove(log);
  EXPECT_EQ(exit_code, 0) << out;
  auto requests = endpoint.requests();
  ASSERT_EQ(requests.size(), 2u) << out;
  EXPECT_THAT(requests[1].body, Not(HasSubstr(kSecret)));
  json repair = json::parse(requests[1].body)["messages"];
  ASSERT_EQ(repair.size(), 4u);
  EXPECT_EQ(repair[2]["content"], "Your key is [redacted], but I have no patch.");
  std::vector<ChatMessage> sent;
  for (const json& m : repair) sent.push_back({m["role"], m["content"]});
  std::vector<AttemptRecord> rows = AllAttempts(repo.path());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].reply, repair[2]["content"].get<std::string>());
  EXPECT_EQ(rows[1].repair, 1);
  EXPECT_EQ(rows[1].prompt, FlattenConversation(sent));  // what was sent, byte for byte
  EXPECT_THAT(FilesContaining(repo.path() / ".rlvr", kSecret), ::testing::IsEmpty());
}

// A 3 MB reply that fails: its repair request stays within --prompt-chars (the reply used to go
// back whole, and the endpoint's "maximum context length" 400 ended the loop).
TEST(LoopEndToEnd, RepairTurnOfAHugeReplyRespectsPromptChars) {
  FixtureRepo repo = MakeFixtureRepo();
  std::string huge;
  while (huge.size() < 3u << 20) huge += "no patch, just words \u00e9t\u00e9 after words\n";
  FakeEndpoint endpoint(json::array({{{"content", huge}}, {{"content", "Still no patch."}}}));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  int exit_code = Wait(StartRlvr(
      {"iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(), "-n", "1",
       "--max-repairs", "1", "--max-iterations", "1", "--no-sanitizers", "--prompt-chars", "40000"},
      log));
  std::string out = ReadAll(log);
  std::filesystem::remove(log);
  EXPECT_EQ(exit_code, 0) << out.substr(0, 4000);
  auto requests = endpoint.requests();
  ASSERT_EQ(requests.size(), 2u) << out.substr(0, 4000);
  json messages = json::parse(requests[1].body)["messages"];
  size_t chars = 0;
  for (const json& m : messages) chars += m["content"].get<std::string>().size();
  EXPECT_LE(chars, 40000u);
  EXPECT_THAT(messages[2]["content"].get<std::string>(),
              HasSubstr("of " + std::to_string(huge.size()) + " bytes of your reply ...]"));
}

// A damaged ledger is refused before anything is written to it, with its path.
TEST(LoopStorage, DamagedLedgerIsRefusedUntouched) {
  FixtureRepo repo = MakeFixtureRepo();
  std::filesystem::path path = Ledger::DefaultPath(repo.path());
  {
    Ledger ledger(path);
    int64_t run = ledger.BeginRun("m", "e", "{}", 1);
    for (int i = 0; i < 40; ++i) {
      AttemptRecord a;
      a.run_id = run;
      a.target = "dot";
      a.verdict = "failed";
      a.prompt = std::string(3000, 'p');
      a.reply = std::string(3000, 'r');
      ledger.AddAttempt(a);
    }
    ledger.FinishRun(run, "done");
  }
  std::string bytes = ReadAll(path);
  ASSERT_GT(bytes.size(), 16u * 4096);
  // Garbage over a page in the middle of the attempts table.
  std::string damaged = bytes;
  for (size_t i = 8 * 4096; i < 9 * 4096; ++i) damaged[i] = static_cast<char>(0xA5);
  WriteAll(path, damaged);

  FakeEndpoint endpoint(json::array({{{"content", "no patch"}}}));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  int exit_code = Wait(StartRlvr({"iterate", "-C", repo.path().string(), "--base-url",
                                  endpoint.base_url(), "-n", "1", "--no-sanitizers"},
                                 log));
  std::string out = ReadAll(log);
  std::filesystem::remove(log);
  EXPECT_EQ(exit_code, 2) << out;
  EXPECT_THAT(out, HasSubstr(path.string() + " is damaged")) << out;
  EXPECT_TRUE(endpoint.requests().empty());
  EXPECT_TRUE(ReadAll(path) == damaged) << "the damaged ledger was written to";
}

// Ledger files made immutable under a running loop: a clear stop naming the file (it used to
// die of SIGBUS without a word), and the ledger intact once writable again.
TEST(LoopStorage, LedgerMadeImmutableMidRunIsAClearStop) {
  FixtureRepo repo = MakeFixtureRepo();
  std::filesystem::path path = Ledger::DefaultPath(repo.path());
  { Ledger create(path); }
  std::string chattr = "chattr +i '" + path.string() + "' 2>/dev/null";
  if (geteuid() != 0 || std::system(chattr.c_str()) != 0) {
    GTEST_SKIP() << "needs root and a file system with the immutable attribute";
  }
  std::system(("chattr -i '" + path.string() + "'").c_str());
  FakeEndpoint endpoint(json::array({{{"delay_ms", 1500}, {"content", "no patch"}}}));
  endpoint.Start();
  std::filesystem::path log =
      repo.path().parent_path() / (repo.path().filename().string() + ".log");
  pid_t pid = StartRlvr({"iterate", "-C", repo.path().string(), "--base-url", endpoint.base_url(),
                         "-n", "1", "--no-sanitizers"},
                        log);
  ASSERT_TRUE(WaitForRequests(endpoint, 1)) << ReadAll(log);
  std::string all = "chattr +i '" + path.string() + "'*";
  ASSERT_EQ(std::system(all.c_str()), 0);
  int exit_code = Wait(pid);
  std::system(("chattr -i '" + path.string() + "'*").c_str());
  std::string out = ReadAll(log);
  std::filesystem::remove(log);
  EXPECT_EQ(exit_code, 2) << out;
  EXPECT_THAT(out, HasSubstr("the ledger cannot be written: ledger " + path.string())) << out;
  Ledger ledger(path);  // opens: intact
  ASSERT_TRUE(ledger.LastRun().has_value());
  EXPECT_TRUE(ledger.RunAttempts(ledger.LastRun()->id).empty());  // nothing half-written
}

TEST(AttemptLineTest, ShowsTheReasonOnOneLineAndMarksACut) {
  AttemptRecord a;
  a.target = "dot";
  a.round = 2;
  a.candidate = 1;
  a.verdict = "failed";
  a.failed_gate = "tests";
  a.seconds = 1.5;
  a.message = "2 tests failed:\nDotTest.Small";
  EXPECT_THAT(AttemptLine(a), ::testing::EndsWith("dot 2.1 failed tests - 1.5s  (2 tests failed: "
                                                  "DotTest.Small)"));
  a.message = std::string(150, 'a') + "; " + std::string(150, 'b');
  std::string line = AttemptLine(a);
  EXPECT_THAT(line, ::testing::EndsWith("b...)"));
  EXPECT_THAT(line, HasSubstr(std::string(150, 'a')));
  EXPECT_EQ(line.find(std::string(60, 'b')), std::string::npos);
}

TEST(LoopLock, SecondHolderIsRefusedWithThePid) {
  FixtureRepo repo = MakeFixtureRepo();
  {
    RunLock lock(repo.path());
    EXPECT_EQ(RunLock::Holder(repo.path()).value_or(0), getpid());
    try {
      RunLock second(repo.path());
      FAIL() << "expected RunLockError";
    } catch (const RunLockError& e) {
      EXPECT_THAT(e.what(), HasSubstr("pid " + std::to_string(getpid())));
    }
    // And the command says so too, without touching anything.
    std::filesystem::path log = repo.path().parent_path() / "lock.log";
    EXPECT_EQ(Wait(StartRlvr({"iterate", "-C", repo.path().string(), "--llm",
                              "replay:" + std::string(RLVR_FIXTURES_DIR) + "/demo_replies"},
                             log)),
              2);
    EXPECT_THAT(ReadAll(log), HasSubstr("another rlvr process (pid " + std::to_string(getpid()) +
                                        ", rlvr iterate)"));
    // A hand-run evaluation would share the loop's scratch worktrees: refused as well.
    EXPECT_EQ(Wait(StartRlvr({"evaluate", "-C", repo.path().string(), "--target", "dot",
                              std::string(RLVR_FIXTURES_DIR) + "/candidates/speedup.txt"},
                             log)),
              2);
    EXPECT_THAT(ReadAll(log), HasSubstr("rlvr evaluate: another rlvr process (pid"));
    std::filesystem::remove(log);
  }
  EXPECT_FALSE(RunLock::Holder(repo.path()).has_value());
}

TEST(LoopCommand, BadInputGetsAClearMessage) {
  FixtureRepo repo = MakeFixtureRepo();
  std::filesystem::path log = repo.path().parent_path() / "bad.log";
  EXPECT_EQ(Wait(StartRlvr({"iterate", "-C", repo.path().string(), "--target", "nope"}, log)), 2);
  EXPECT_THAT(ReadAll(log), HasSubstr("nope"));
  EXPECT_EQ(
      Wait(StartRlvr({"iterate", "-C", repo.path().string(), "--llm", "carrier:pigeon"}, log)), 2);
  EXPECT_THAT(ReadAll(log), HasSubstr("unknown LLM source"));
  EXPECT_EQ(Wait(StartRlvr({"status", "-C", repo.path().string()}, log)), 0);
  EXPECT_THAT(ReadAll(log), HasSubstr("no loop has run here yet"));
  std::filesystem::remove(log);
}

}  // namespace
}  // namespace rlvr
