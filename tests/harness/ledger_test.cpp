// The SQLite ledger: schema as DESIGN.md, runs and attempts round-trip, reopen keeps everything,
// unknown schema versions and foreign files are refused with a clear message; no registered
// secret ever reaches the file.
#include "harness/ledger/ledger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <fstream>

#include <nlohmann/json.hpp>

#include "harness/base/secrets.h"
#include "harness/base/sha256.h"
#include "harness/ledger/stored_text.h"
#include "harness/llm/replay.h"
#include "harness/report/data.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rlvr_ledger_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path Path() const { return dir_ / ".rlvr" / "ledger.sqlite"; }

  static AttemptRecord Attempt(int64_t run, const std::string& target, int round, int cand,
                               const std::string& verdict) {
    AttemptRecord a;
    a.run_id = run;
    a.target = target;
    a.model = "m";
    a.round = round;
    a.candidate = cand;
    a.prompt = "prompt";
    a.reply = "reply " + std::to_string(round) + "." + std::to_string(cand);
    a.verdict = verdict;
    if (verdict == "failed") a.failed_gate = "build";
    a.message = "msg";
    a.gates_json = R"([{"name":"build","status":"fail","seconds":1,"message":"error: x"}])";
    a.primary_ratio = 0.9;
    a.prompt_tokens = 100;
    a.completion_tokens = 20;
    a.seconds = 1.5;
    return a;
  }

  std::filesystem::path dir_;
};

TEST_F(LedgerTest, CreatesSchemaWithRollbackJournalAndVersion) {
  { Ledger ledger(Path()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
  auto scalar = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  };
  EXPECT_EQ(scalar("SELECT value FROM meta WHERE key='schema_version'"), "3");
  // A rollback journal: WAL's memory-mapped index turns a read-only or full disk into SIGBUS.
  EXPECT_EQ(scalar("PRAGMA journal_mode"), "delete");
  // The report reads these columns directly.
  EXPECT_EQ(scalar("SELECT count(*) FROM pragma_table_info('attempts')"), "32");
  EXPECT_EQ(scalar("SELECT count(*) FROM pragma_table_info('runs')"), "9");
  EXPECT_EQ(scalar("SELECT count(*) FROM sqlite_master WHERE name='attempts_target_time'"), "1");
  EXPECT_EQ(scalar("SELECT count(*) FROM sqlite_master WHERE name='attempts_target_key'"), "1");
  sqlite3_close(db);
}

TEST_F(LedgerTest, RunsAndAttemptsRoundTripAcrossReopen) {
  int64_t run = 0;
  {
    Ledger ledger(Path());
    run = ledger.BeginRun("gpt", "http://x/v1", R"({"n":2})", 1234);
    ledger.AddAttempt(Attempt(run, "gemm", 1, 1, "failed"));
    int64_t passed = ledger.AddAttempt(Attempt(run, "gemm", 1, 2, "passed"));
    ledger.AddAttempt(Attempt(run, "softmax", 1, 1, "error"));
    ledger.MarkPromoted(passed, "abc123");
  }
  Ledger ledger(Path());
  auto last = ledger.LastRun();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->id, run);
  EXPECT_EQ(last->model, "gpt");
  EXPECT_EQ(last->pid, 1234);
  EXPECT_FALSE(last->finished_at.has_value());
  auto attempts = ledger.RunAttempts(run);
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0].verdict, "failed");
  EXPECT_EQ(attempts[0].failed_gate.value_or(""), "build");
  EXPECT_EQ(attempts[1].verdict, "promoted");
  EXPECT_EQ(attempts[1].promoted_commit.value_or(""), "abc123");
  EXPECT_DOUBLE_EQ(attempts[1].primary_ratio.value_or(0), 0.9);
  EXPECT_EQ(attempts[1].reply, "reply 1.2");
  EXPECT_THAT(attempts[0].created_at,
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"));
  auto counts = ledger.VerdictCounts(run);
  EXPECT_EQ(counts["failed"], 1);
  EXPECT_EQ(counts["promoted"], 1);
  EXPECT_EQ(counts["error"], 1);
  EXPECT_EQ(ledger.LastRound("gemm"), 1);
  EXPECT_EQ(ledger.LastRound("rope"), 0);
  EXPECT_EQ(ledger.TokensUsed(run), 360);
  auto recent = ledger.RecentAttempts("gemm", 1);
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].candidate, 2);

  EXPECT_EQ(ledger.CloseAbandonedRuns("crashed"), 1);
  EXPECT_EQ(ledger.LastRun()->stop_reason.value_or(""), "crashed");
  ledger.FinishRun(run, "max-iterations");
  EXPECT_EQ(ledger.LastRun()->stop_reason.value_or(""), "max-iterations");
  EXPECT_THROW(ledger.MarkPromoted(999, "x"), LedgerError);
}

TEST_F(LedgerTest, AnUnjudgedAttemptGetsItsVerdictLater) {
  Ledger ledger(Path());
  int64_t run = ledger.BeginRun("m", "e", "{}", 1);
  AttemptRecord a = Attempt(run, "gemm", 1, 1, "error");
  a.reply = "the reply";
  a.message = "not judged";
  a.prompt_tokens = 10;
  a.id = ledger.AddAttempt(a);
  a.verdict = "failed";
  a.failed_gate = "tests";
  a.message = "2 tests failed";
  a.primary_ratio = 0.9;
  a.seconds = 12.5;
  ledger.UpdateAttempt(a);
  std::optional<AttemptRecord> got = ledger.FindAttempt(a.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->verdict, "failed");
  EXPECT_EQ(got->failed_gate.value_or(""), "tests");
  EXPECT_EQ(got->message, "2 tests failed");
  EXPECT_EQ(got->primary_ratio.value_or(0), 0.9);
  EXPECT_EQ(got->seconds, 12.5);
  EXPECT_EQ(got->reply, "the reply");  // what was asked and answered stays
  EXPECT_EQ(got->prompt_tokens, 10);
  a.id = 999;
  EXPECT_THROW(ledger.UpdateAttempt(a), LedgerError);
  EXPECT_FALSE(ledger.FindAttempt(999).has_value());
}

// The replies a stop left unjudged, for the next run to judge first: only "not judged: " rows of
// finished runs with a reply, oldest first; never the machine's or the infrastructure's faults,
// never a row of a run still going, never a judged row.
TEST_F(LedgerTest, UnjudgedRepliesAreThoseAStopLeft) {
  Ledger ledger(Path());
  int64_t done = ledger.BeginRun("m", "e", "{}", 1);
  auto add = [&](int64_t run, const std::string& verdict, const std::string& message,
                 const std::string& reply) {
    AttemptRecord a = Attempt(run, "dot", 1, 1, verdict);
    a.message = message;
    a.reply = reply;
    return ledger.AddAttempt(a);
  };
  int64_t stopped = add(done, "error", "not judged: stopped (at the tests gate)", "r1");
  int64_t killed = add(done, "error", "not judged: the loop stopped or was killed", "r2");
  add(done, "error", "not judged (the machine's fault, not the candidate's): disk", "r3");
  add(done, "error", "not judged (infrastructure, not the candidate): node lost", "r4");
  add(done, "error", "not judged: stopped", "");  // nothing to judge
  add(done, "failed", "tests gate failed", "r5");
  ledger.FinishRun(done, "stop signal");
  int64_t going = ledger.BeginRun("m", "e", "{}", 2);
  add(going, "error", "not judged: stopped", "r6");  // its own run may still judge it
  std::vector<AttemptRecord> rows = ledger.UnjudgedReplies(10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, stopped);
  EXPECT_EQ(rows[1].id, killed);
  ASSERT_EQ(ledger.UnjudgedReplies(1).size(), 1u);
  // Judged later: no longer among them.
  rows[0].verdict = "failed";
  rows[0].message = "tests gate failed";
  ledger.UpdateAttempt(rows[0]);
  ASSERT_EQ(ledger.UnjudgedReplies(10).size(), 1u);
  EXPECT_EQ(ledger.UnjudgedReplies(10)[0].id, killed);
}

TEST_F(LedgerTest, ReplaysRepliesOfALedgerPerTarget) {
  {
    Ledger ledger(Path());
    int64_t run = ledger.BeginRun("gpt", "u", "{}", 1);
    ledger.AddAttempt(Attempt(run, "gemm", 1, 1, "failed"));
    ledger.AddAttempt(Attempt(run, "softmax", 1, 1, "failed"));
    ledger.AddAttempt(Attempt(run, "gemm", 1, 2, "passed"));
  }
  ReplayLlmSource replay(Path());
  EXPECT_THAT(replay.Complete("gemm", {}, 2).replies,
              ::testing::ElementsAre("reply 1.1", "reply 1.2"));
  EXPECT_THAT(replay.Complete("softmax", {}, 2).replies, ::testing::ElementsAre("reply 1.1"));
  EXPECT_THROW(replay.Complete("gemm", {}, 1), LlmError);
}

TEST_F(LedgerTest, ExecutorColumnsRoundTrip) {
  Ledger ledger(Path());
  int64_t run = ledger.BeginRun("m", "e", "{}", 1);
  AttemptRecord a = Attempt(run, "dot", 1, 1, "error");
  int64_t id = ledger.AddAttempt(a);
  EXPECT_FALSE(ledger.FindAttempt(id)->job_id.has_value());
  a.id = id;
  a.verdict = "passed";
  a.job_id = "41";
  a.node = "node7";
  a.queued_seconds = 2.5;
  a.run_seconds = 30.25;
  a.tries = 2;
  a.infrastructure_events = "job 40 CANCELLED on node7 (not by rlvr); resubmitted as try 2 of 3";
  ledger.UpdateAttempt(a);
  AttemptRecord back = *ledger.FindAttempt(id);
  EXPECT_EQ(back.job_id, "41");
  EXPECT_EQ(back.node, "node7");
  EXPECT_EQ(back.queued_seconds, 2.5);
  EXPECT_EQ(back.run_seconds, 30.25);
  EXPECT_EQ(back.tries, 2);
  EXPECT_EQ(back.infrastructure_events, a.infrastructure_events);
}

// A ledger written by an rlvr of schema version 1 (the exact version-1 DDL) is migrated when
// opened: its rows stay as they were, the executor and cost columns are added empty, and it is
// version 3.
TEST_F(LedgerTest, MigratesAVersion1Ledger) {
  std::filesystem::create_directories(Path().parent_path());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
  const char* v1 = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs(
  id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, model TEXT, endpoint TEXT,
  settings_json TEXT, stop_reason TEXT, pid INTEGER);
CREATE TABLE attempts(
  id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id), created_at TEXT NOT NULL,
  target TEXT NOT NULL, model TEXT, round INTEGER, candidate INTEGER,
  repair INTEGER NOT NULL DEFAULT 0, prompt TEXT, reply TEXT, patch TEXT, verdict TEXT NOT NULL,
  failed_gate TEXT, message TEXT, gates_json TEXT, figures_json TEXT, primary_ratio REAL,
  prompt_tokens INTEGER, completion_tokens INTEGER, seconds REAL, promoted_commit TEXT);
CREATE INDEX attempts_target_time ON attempts(target, created_at);
INSERT INTO meta(key, value) VALUES ('schema_version', '1');
INSERT INTO runs VALUES (1, '2026-11-01T00:00:00Z', '2026-11-01T01:00:00Z', 'm', 'e', '{}',
  'max-iterations', 5);
INSERT INTO attempts VALUES (1, 1, '2026-11-01T00:10:00Z', 'dot', 'm', 1, 1, 0, 'p', 'r', 'd',
  'promoted', NULL, 'ok', '[]', '', 0.8, 10, 5, 12.5, 'abc123');
)sql";
  ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  {
    Ledger ledger(Path());
    std::optional<AttemptRecord> old = ledger.FindAttempt(1);
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(old->verdict, "promoted");
    EXPECT_EQ(old->promoted_commit, "abc123");
    EXPECT_EQ(old->primary_ratio, 0.8);
    EXPECT_FALSE(old->job_id.has_value());
    EXPECT_FALSE(old->queued_seconds.has_value());
    EXPECT_EQ(old->tries, 0);
    AttemptRecord fresh = Attempt(1, "dot", 2, 1, "passed");
    fresh.job_id = "local";
    int64_t id = ledger.AddAttempt(fresh);
    EXPECT_EQ(ledger.FindAttempt(id)->job_id, "local");
  }
  ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema_version'", -1, &s, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "3");
  sqlite3_finalize(s);
  sqlite3_close(db);
  // Opening again (already version 3) changes nothing.
  Ledger again(Path());
  EXPECT_EQ(again.FindAttempt(1)->promoted_commit, "abc123");
}

TEST_F(LedgerTest, RefusesNewerSchemaVersion) {
  { Ledger ledger(Path()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value='7' WHERE key='schema_version'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  try {
    Ledger ledger(Path());
    FAIL() << "expected LedgerError";
  } catch (const LedgerError& e) {
    EXPECT_THAT(e.what(), HasSubstr("schema_version '7'"));
  }
}

TEST_F(LedgerTest, RefusesAFileThatIsNotALedger) {
  std::filesystem::create_directories(Path().parent_path());
  std::ofstream(Path()) << "this is not sqlite at all, just some text that is long enough";
  EXPECT_THROW(Ledger ledger(Path()), LedgerError);
}

TEST_F(LedgerTest, KilledWriterLeavesAValidLedger) {
  { Ledger ledger(Path()); }
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      Ledger ledger(Path());
      int64_t run = ledger.BeginRun("m", "u", "{}", getpid());
      for (int i = 1;; ++i) ledger.AddAttempt(Attempt(run, "gemm", i, 1, "failed"));
    } catch (...) {
    }
    _exit(1);  // never run the rest of the suite in the child
  }
  usleep(300000);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  Ledger ledger(Path());
  auto run = ledger.LastRun();
  ASSERT_TRUE(run.has_value());
  auto attempts = ledger.RunAttempts(run->id);
  EXPECT_GT(attempts.size(), 0u);
  // Every row that is there is whole, and rounds are contiguous: nothing half-written.
  for (size_t i = 0; i < attempts.size(); ++i) {
    EXPECT_EQ(attempts[i].round, static_cast<int>(i) + 1);
    EXPECT_EQ(attempts[i].reply, "reply " + std::to_string(i + 1) + ".1");
  }
}

// Every byte of every file of the ledger's folder (the database, its WAL and shared memory).
std::string FolderBytes(const std::filesystem::path& dir) {
  std::string bytes;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return bytes;
}

TEST_F(LedgerTest, StoresNoRegisteredSecretInAnyColumn) {
  const std::string key = "sk-ledger-test-" + std::to_string(getpid()) + "-0123456789abcdef";
  // A password with a quote and a backslash looks different inside JSON text.
  const std::string password = "pw\"ledger\\" + std::to_string(getpid());
  RegisterSecret(key);
  RegisterSecret(password);
  const std::string gates = nlohmann::json::array({{{"name", "tests"},
                                                    {"status", "fail"},
                                                    {"seconds", 1},
                                                    {"message", "env: " + key + " " + password}}})
                                .dump();
  ASSERT_THAT(gates, ::testing::Not(HasSubstr(password)));  // only its escaped form is there
  int64_t id = 0;
  {
    Ledger ledger(Path());
    int64_t run = ledger.BeginRun("model " + key, "http://x/v1?k=" + key,
                                  R"({"api_key":")" + key + R"("})", 1);
    AttemptRecord a = Attempt(run, "gemm", 1, 1, "error");
    a.prompt = "prompt with " + key;
    a.reply = "reply with " + key + " and " + password;
    a.patch = "+ // " + key;
    a.message = "not judged: " + key;
    a.gates_json = gates;
    a.figures_json = R"({"metric":")" + key + R"("})";
    a.id = id = ledger.AddAttempt(a);
    a.verdict = "failed";
    a.failed_gate = "tests " + key;
    a.message = "test printed " + key + " twice: " + key;
    ledger.UpdateAttempt(a);
    ledger.MarkPromoted(id, "commit " + key);
    ledger.FinishRun(run, "stopped " + key);
    // While open, the newest rows may sit in the WAL file.
    std::string bytes = FolderBytes(Path().parent_path());
    EXPECT_EQ(bytes.find(key), std::string::npos);
    EXPECT_EQ(bytes.find(password), std::string::npos);
    EXPECT_EQ(bytes.find(gates), std::string::npos);
  }
  std::string bytes = FolderBytes(Path().parent_path());
  ASSERT_NE(bytes.find("[redacted]"), std::string::npos);  // the rows are there, redacted
  EXPECT_EQ(bytes.find(key), std::string::npos);
  EXPECT_EQ(bytes.find(key.substr(0, 20)), std::string::npos);
  EXPECT_EQ(bytes.find(password), std::string::npos);
  EXPECT_EQ(bytes.find("ledger\\\\" + std::to_string(getpid())), std::string::npos);  // escaped
  Ledger ledger(Path());
  std::optional<AttemptRecord> got = ledger.FindAttempt(id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->message, "test printed [redacted] twice: [redacted]");
  EXPECT_EQ(got->reply, "reply with [redacted] and [redacted]");
  EXPECT_EQ(got->promoted_commit.value_or(""), "commit [redacted]");
  EXPECT_EQ(nlohmann::json::parse(got->gates_json)[0]["message"], "env: [redacted] [redacted]");
  EXPECT_EQ(ledger.LastRun()->stop_reason.value_or(""), "stopped [redacted]");
  EXPECT_EQ(ledger.LastRun()->settings_json, R"({"api_key":"[redacted]"})");
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits the last block.
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// 100 oversized (3 MB) replies with their prompts (a repair turn's, up to the default
// --prompt-chars): each text is stored cut to its bound with its size and hash (the ledger used to
// keep them whole: 27 MB after 47 attempts), the file stays under 5 MB and the report still reads
// it. The first row's patch and message are oversized too.
TEST_F(LedgerTest, OversizedTextsAreCutWithTheirSizeAndHash) {
  std::string reply;
  while (reply.size() < (3u << 20)) reply += "caf\u00e9 r\u00e9ponse ";
  reply.resize(3u << 20);
  std::string prompt(120000, 'p');
  std::string message = "2 tests failed:\n" + std::string(200000, 'm');
  std::string patch = "--- a/x\n+++ b/x\n" + std::string(50000, '+');
  int64_t first = 0, last = 0;
  {
    Ledger ledger(Path());
    int64_t run = ledger.BeginRun("m", "e", "{}", 1);
    for (int i = 0; i < 100; ++i) {
      AttemptRecord a = Attempt(run, "gemm", i + 1, 1, "error");
      a.prompt = prompt;
      a.reply = reply;
      a.id = last = ledger.AddAttempt(a);
      a.verdict = "failed";
      a.message = "apply gate failed: no patch found";
      if (i == 0) {
        a.patch = patch;
        a.message = message;
        first = a.id;
      }
      ledger.UpdateAttempt(a);
    }
    ledger.FinishRun(run, "done");
  }
  EXPECT_LT(std::filesystem::file_size(Path()), 5u << 20);
  Ledger ledger(Path());
  std::optional<AttemptRecord> got = ledger.FindAttempt(last);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->reply.size() <= kLedgerTextMaxBytes, true) << got->reply.size();
  EXPECT_THAT(got->reply,
              ::testing::EndsWith("\n[cut: 3145728 bytes, sha256 " + Sha256Hex(reply) + "]"));
  EXPECT_EQ(got->reply.substr(0, 1000), reply.substr(0, 1000));
  EXPECT_THAT(got->prompt,
              ::testing::EndsWith("[cut: 120000 bytes, sha256 " + Sha256Hex(prompt) + "]"));
  std::optional<AttemptRecord> oversized = ledger.FindAttempt(first);
  ASSERT_TRUE(oversized.has_value());
  EXPECT_THAT(oversized->message,
              ::testing::EndsWith("[cut: " + std::to_string(message.size()) + " bytes, sha256 " +
                                  Sha256Hex(message) + "]"));
  EXPECT_THAT(oversized->patch, HasSubstr("[cut: " + std::to_string(patch.size()) + " bytes"));
  EXPECT_LE(oversized->message.size(), kLedgerTextMaxBytes);
  EXPECT_NO_THROW(nlohmann::json(got->reply).dump());  // cut between characters, never inside
  EXPECT_EQ(StoredText("short"), "short");

  ReportOptions options;
  options.ledger_path = Path();
  options.baselines_dir = dir_ / "baselines";
  options.config_path = dir_ / "rlvr.json";
  ReportData data = LoadReportData(options);
  EXPECT_EQ(data.totals.attempts, 100);
  EXPECT_EQ(data.totals.failed, 100);
}

}  // namespace
}  // namespace rlvr
