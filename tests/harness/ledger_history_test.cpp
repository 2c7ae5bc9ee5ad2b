// LedgerHistory, the ledger read back read-only for reports: what the loop wrote comes back
// (outlines, promotions, reply starts, the last run), a version-1 ledger is read without being
// migrated, a ledger a loop holds open is read, and files it must not read are refused with the
// messages the report prints.
#include "harness/ledger/history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fstream>

#include "harness/ledger/ledger.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class LedgerHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rlvr_ledger_history_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path Path() const { return dir_ / "ledger.sqlite"; }

  // Runs `sql` on the file at Path() with plain SQLite, as another rlvr (or no rlvr) would.
  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    std::string message = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }

  std::string QueryText(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    std::string value;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return value;
  }

  // The LedgerError message of opening Path() as history, "" if it opened.
  std::string OpenError() {
    try {
      LedgerHistory history(Path());
    } catch (const LedgerError& e) {
      return e.what();
    }
    return "";
  }

  static AttemptRecord Attempt(int64_t run, const std::string& target, const std::string& verdict,
                               const std::string& created_at) {
    AttemptRecord a;
    a.run_id = run;
    a.created_at = created_at;
    a.target = target;
    a.model = "model-x";
    a.round = 3;
    a.candidate = 2;
    a.repair = 1;
    a.prompt = "prompt";
    a.reply = "reply of " + created_at;
    a.verdict = verdict;
    a.message = "message";
    a.prompt_tokens = 100;
    a.completion_tokens = 20;
    a.seconds = 1.5;
    return a;
  }

  fs::path dir_;
};

TEST_F(LedgerHistoryTest, ReadsBackWhatTheLoopWrote) {
  Ledger ledger(Path());
  int64_t first_run = ledger.BeginRun("model-x", "http://127.0.0.1:1/v1", "{}", 1);
  ledger.FinishRun(first_run, "max-iterations");
  int64_t run = ledger.BeginRun("model-y", "http://127.0.0.1:1/v1", "{}", 2);
  // Written out of time order: the history is in created_at order, whatever the ids.
  AttemptRecord failed = Attempt(run, "gemm", "failed", "2026-11-23T16:05:00Z");
  failed.failed_gate = "build";
  failed.message = std::string(700, 'm');
  failed.reply = std::string(2000, 'r');
  int64_t failed_id = ledger.AddAttempt(failed);
  AttemptRecord good = Attempt(run, "softmax", "passed", "2026-11-23T16:00:00Z");
  good.patch = "--- a/x\n+++ b/x\n";
  good.figures_json = R"({"metric":"real_time","benchmarks":[]})";
  good.primary_ratio = 0.75;
  int64_t good_id = ledger.AddAttempt(good);
  ledger.MarkPromoted(good_id, "abcdef0123456789abcdef0123456789abcdef01");

  LedgerHistory history(Path());
  std::vector<AttemptOutline> all = history.Attempts("");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, good_id);
  EXPECT_EQ(all[0].verdict, "promoted");
  EXPECT_EQ(all[0].failed_gate, "");
  EXPECT_EQ(all[0].primary_ratio, 0.75);
  EXPECT_EQ(all[1].id, failed_id);
  EXPECT_EQ(all[1].run_id, run);
  EXPECT_EQ(all[1].created_at, "2026-11-23T16:05:00Z");
  EXPECT_EQ(all[1].target, "gemm");
  EXPECT_EQ(all[1].model, "model-x");
  EXPECT_EQ(all[1].round, 3);
  EXPECT_EQ(all[1].candidate, 2);
  EXPECT_EQ(all[1].repair, 1);
  EXPECT_EQ(all[1].failed_gate, "build");
  EXPECT_EQ(all[1].message, std::string(kOutlineMessageChars, 'm'));
  EXPECT_FALSE(all[1].primary_ratio.has_value());
  EXPECT_EQ(all[1].prompt_tokens, 100);
  EXPECT_EQ(all[1].completion_tokens, 20);
  EXPECT_DOUBLE_EQ(all[1].seconds, 1.5);

  std::vector<AttemptOutline> gemm = history.Attempts("gemm");
  ASSERT_EQ(gemm.size(), 1u);
  EXPECT_EQ(gemm[0].id, failed_id);
  EXPECT_TRUE(history.Attempts("rope").empty());

  std::vector<PromotedAttempt> promotions = history.Promotions("");
  ASSERT_EQ(promotions.size(), 1u);
  EXPECT_EQ(promotions[0].attempt_id, good_id);
  EXPECT_EQ(promotions[0].target, "softmax");
  EXPECT_EQ(promotions[0].created_at, "2026-11-23T16:00:00Z");
  EXPECT_EQ(promotions[0].model, "model-x");
  EXPECT_EQ(promotions[0].round, 3);
  EXPECT_EQ(promotions[0].commit, "abcdef0123456789abcdef0123456789abcdef01");
  EXPECT_EQ(promotions[0].patch, good.patch);
  EXPECT_EQ(promotions[0].figures_json, good.figures_json);
  EXPECT_EQ(promotions[0].primary_ratio, 0.75);
  EXPECT_TRUE(history.Promotions("gemm").empty());

  EXPECT_EQ(history.ReplyStart(failed_id, 1200), std::string(1200, 'r'));
  EXPECT_EQ(history.ReplyStart(good_id, 1200), "reply of 2026-11-23T16:00:00Z");
  EXPECT_EQ(history.ReplyStart(999, 1200), "");

  std::optional<RunRecord> last = history.LastRun();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->id, run);
  EXPECT_EQ(last->model, "model-y");
  EXPECT_EQ(last->pid, 2);
  EXPECT_FALSE(last->finished_at.has_value());  // the loop is still running
}

TEST_F(LedgerHistoryTest, AnEmptyLedgerHasNoRunsOrAttempts) {
  { Ledger ledger(Path()); }
  LedgerHistory history(Path());
  EXPECT_TRUE(history.Attempts("").empty());
  EXPECT_TRUE(history.Promotions("").empty());
  EXPECT_FALSE(history.LastRun().has_value());
}

// A version-1 ledger (the exact version-1 DDL, as ledger_test.cpp writes it) is read as it is:
// opening it for a report neither migrates nor otherwise writes it.
TEST_F(LedgerHistoryTest, ReadsAVersion1LedgerWithoutMigratingIt) {
  Exec(R"sql(
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
INSERT INTO attempts VALUES (1, 1, '2026-11-01T00:10:00Z', 'dot', 'm', 1, 1, 0, 'p', 'the reply',
  'd', 'promoted', NULL, 'ok', '[]', '{}', 0.8, 10, 5, 12.5, 'abc123');
INSERT INTO attempts VALUES (2, 1, '2026-11-01T00:20:00Z', 'dot', 'm', 2, 1, 0, 'p', 'r', NULL,
  'failed', 'tests', 'wrong result', '[]', NULL, NULL, 10, 5, 3, NULL);
)sql");
  {
    LedgerHistory history(Path());
    std::vector<AttemptOutline> attempts = history.Attempts("dot");
    ASSERT_EQ(attempts.size(), 2u);
    EXPECT_EQ(attempts[0].verdict, "promoted");
    EXPECT_EQ(attempts[0].primary_ratio, 0.8);
    EXPECT_EQ(attempts[1].failed_gate, "tests");
    EXPECT_EQ(attempts[1].message, "wrong result");
    std::vector<PromotedAttempt> promotions = history.Promotions("dot");
    ASSERT_EQ(promotions.size(), 1u);
    EXPECT_EQ(promotions[0].commit, "abc123");
    EXPECT_EQ(history.ReplyStart(1, 4), "the ");
    std::optional<RunRecord> run = history.LastRun();
    ASSERT_TRUE(run.has_value());
    EXPECT_EQ(run->finished_at, "2026-11-01T01:00:00Z");
    EXPECT_EQ(run->stop_reason, "max-iterations");
    EXPECT_EQ(run->strategy, "greedy");  // no strategy column before version 3
    ASSERT_EQ(history.Runs().size(), 1u);
    EXPECT_FALSE(attempts[0].cost.has_value());
    EXPECT_FALSE(attempts[0].cost_estimated);
    EXPECT_FALSE(attempts[0].repeat_of.has_value());
  }
  EXPECT_EQ(QueryText("SELECT value FROM meta WHERE key = 'schema_version'"), "1");
  EXPECT_EQ(QueryText("SELECT count(*) FROM pragma_table_info('attempts') WHERE name = 'job_id'"),
            "0");
}

// `rlvr report` while `rlvr iterate` runs: the loop's connection stays open and goes on writing.
TEST_F(LedgerHistoryTest, ReadsALedgerALoopHoldsOpen) {
  Ledger ledger(Path());
  int64_t run = ledger.BeginRun("model-x", "http://127.0.0.1:1/v1", "{}", 1);
  ledger.AddAttempt(Attempt(run, "gemm", "failed", "2026-11-23T16:00:00Z"));
  LedgerHistory history(Path());
  EXPECT_EQ(history.Attempts("").size(), 1u);
  ledger.AddAttempt(Attempt(run, "gemm", "error", "2026-11-23T16:01:00Z"));
  EXPECT_EQ(history.Attempts("").size(), 2u);
  EXPECT_EQ(history.LastRun()->id, run);
}

TEST_F(LedgerHistoryTest, RefusesWhatItCannotReadWithAClearMessage) {
  EXPECT_THAT(OpenError(), HasSubstr("cannot open ledger at " + Path().string()));
  EXPECT_FALSE(fs::exists(Path())) << "a missing ledger must not be created";

  { Ledger ledger(Path()); }
  Exec("UPDATE meta SET value = '4' WHERE key = 'schema_version'");
  EXPECT_THAT(OpenError(), HasSubstr("ledger at " + Path().string() +
                                     " has schema version 4; this rlvr reads versions 1 to 3"));

  Exec("DELETE FROM meta");
  EXPECT_THAT(OpenError(), HasSubstr("has no schema_version in its meta table"));

  Exec("DROP TABLE meta");
  EXPECT_THAT(OpenError(), HasSubstr("has no schema version (no meta table)"));

  fs::remove(Path());
  Exec(
      "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "INSERT INTO meta VALUES ('schema_version', '1');"
      "CREATE TABLE attempts(id INTEGER PRIMARY KEY, target TEXT, verdict TEXT);"
      "CREATE TABLE runs(id INTEGER PRIMARY KEY);");
  EXPECT_THAT(OpenError(), HasSubstr("its attempts table lacks column 'run_id'"));

  fs::remove(Path());
  std::ofstream(Path()) << "this is not a database, just text that is long enough to have a "
                           "header and more and more bytes here.\n";
  std::string not_sqlite = OpenError();
  EXPECT_THAT(not_sqlite, HasSubstr("cannot read ledger at " + Path().string()));
  EXPECT_THAT(not_sqlite, HasSubstr("(is it an rlvr ledger?)"));
}

}  // namespace
}  // namespace rlvr
