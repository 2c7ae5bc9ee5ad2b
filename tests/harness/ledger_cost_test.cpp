// The ledger's schema-version-3 columns: cost accounting (cost, cost_estimated,
// cached_prompt_tokens), repeat detection (candidate_key, repeat_of) and the run's strategy
// round-trip through every read; FindJudgedByKey and CostUsed; version-1 and -2 ledgers migrate
// to version 3 keeping their rows, and the read-only history reads all three versions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "harness/ledger/history.h"
#include "harness/ledger/ledger.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

// The exact version-1 DDL with one run and one promoted attempt.
constexpr const char* kVersion1 = R"sql(
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

// Version 1 plus the executor columns, as a version-2 rlvr left it.
constexpr const char* kVersion1To2 = R"sql(
ALTER TABLE attempts ADD COLUMN job_id TEXT;
ALTER TABLE attempts ADD COLUMN node TEXT;
ALTER TABLE attempts ADD COLUMN queued_seconds REAL;
ALTER TABLE attempts ADD COLUMN run_seconds REAL;
ALTER TABLE attempts ADD COLUMN tries INTEGER;
ALTER TABLE attempts ADD COLUMN infrastructure_events TEXT;
UPDATE attempts SET job_id = 'local', tries = 1 WHERE id = 1;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
)sql";

class LedgerCostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rlvr_ledger_cost_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path Path() const { return dir_ / "ledger.sqlite"; }

  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  std::string Scalar(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
  }

  static AttemptRecord Attempt(int64_t run, const std::string& target, const std::string& verdict,
                               const std::string& key) {
    AttemptRecord a;
    a.run_id = run;
    a.target = target;
    a.model = "m";
    a.round = 1;
    a.candidate = 1;
    a.verdict = verdict;
    a.candidate_key = key;
    return a;
  }

  // Checks the old row 1 of kVersion1 survived and a new row with every new field round-trips.
  void ExpectMigratedToVersion3() {
    {
      Ledger ledger(Path());
      std::optional<AttemptRecord> old = ledger.FindAttempt(1);
      ASSERT_TRUE(old.has_value());
      EXPECT_EQ(old->verdict, "promoted");
      EXPECT_EQ(old->promoted_commit, "abc123");
      EXPECT_EQ(old->prompt_tokens, 10);
      EXPECT_FALSE(old->cost.has_value());
      EXPECT_FALSE(old->cost_estimated);
      EXPECT_EQ(old->cached_prompt_tokens, 0);
      EXPECT_EQ(old->candidate_key, "");
      EXPECT_FALSE(old->repeat_of.has_value());
      EXPECT_EQ(ledger.LastRun()->strategy, "greedy");
      EXPECT_EQ(ledger.LastRun()->stop_reason, "max-iterations");
      EXPECT_DOUBLE_EQ(ledger.CostUsed(1), 0);
      AttemptRecord fresh = Attempt(1, "dot", "failed", "k1");
      fresh.cost = 0.25;
      int64_t id = ledger.AddAttempt(fresh);
      EXPECT_EQ(ledger.FindAttempt(id)->cost, 0.25);
      EXPECT_EQ(ledger.FindJudgedByKey("dot", "k1")->id, id);
    }
    EXPECT_EQ(Scalar("SELECT value FROM meta WHERE key='schema_version'"), "3");
    EXPECT_EQ(Scalar("SELECT count(*) FROM sqlite_master WHERE name='attempts_target_key'"), "1");
    EXPECT_EQ(Scalar("SELECT count(*) FROM attempts"), "2");
    // Opening a version-3 ledger again migrates nothing more.
    Ledger again(Path());
    EXPECT_EQ(again.FindAttempt(1)->promoted_commit, "abc123");
  }

  fs::path dir_;
};

TEST_F(LedgerCostTest, EveryNewAttemptFieldRoundTripsThroughEveryRead) {
  Ledger ledger(Path());
  int64_t run = ledger.BeginRun("m", "e", "{}", 1, "best-of-n");
  EXPECT_EQ(ledger.LastRun()->strategy, "best-of-n");
  AttemptRecord a = Attempt(run, "gemm", "error", "key-a");
  a.cost = 0.0125;
  a.cost_estimated = true;
  a.cached_prompt_tokens = 640;
  a.repeat_of = 77;
  int64_t id = ledger.AddAttempt(a);
  auto expect_fields = [&](const AttemptRecord& back, double cost, bool estimated, int64_t cached,
                           const std::string& key, std::optional<int64_t> repeat_of) {
    EXPECT_EQ(back.cost, cost);
    EXPECT_EQ(back.cost_estimated, estimated);
    EXPECT_EQ(back.cached_prompt_tokens, cached);
    EXPECT_EQ(back.candidate_key, key);
    EXPECT_EQ(back.repeat_of, repeat_of);
  };
  expect_fields(*ledger.FindAttempt(id), 0.0125, true, 640, "key-a", 77);
  expect_fields(ledger.RecentAttempts("gemm", 1).at(0), 0.0125, true, 640, "key-a", 77);
  expect_fields(ledger.RunAttempts(run).at(0), 0.0125, true, 640, "key-a", 77);

  // UpdateAttempt rewrites the key and repeat_of; the request's cost stays as booked even when
  // the judged record does not carry it (the loop's judged rows are built afresh).
  a.id = id;
  a.verdict = "failed";
  a.cost.reset();
  a.cost_estimated = false;
  a.cached_prompt_tokens = 0;
  a.candidate_key = "key-b";
  a.repeat_of.reset();
  ledger.UpdateAttempt(a);
  expect_fields(*ledger.FindAttempt(id), 0.0125, true, 640, "key-b", std::nullopt);

  // An unpriced attempt has no cost, not a cost of 0.
  int64_t unpriced = ledger.AddAttempt(Attempt(run, "gemm", "failed", ""));
  EXPECT_FALSE(ledger.FindAttempt(unpriced)->cost.has_value());
  EXPECT_EQ(ledger.FindAttempt(unpriced)->candidate_key, "");
}

TEST_F(LedgerCostTest, BeginRunStoresGreedyByDefault) {
  Ledger ledger(Path());
  ledger.BeginRun("m", "e", "{}", 1);
  EXPECT_EQ(ledger.LastRun()->strategy, "greedy");
  ledger.BeginRun("m", "e", "{}", 1, "archive");
  EXPECT_EQ(ledger.LastRun()->strategy, "archive");
}

TEST_F(LedgerCostTest, CostUsedSumsTheRunsPricedAttemptsOnly) {
  Ledger ledger(Path());
  int64_t run = ledger.BeginRun("m", "e", "{}", 1);
  int64_t other = ledger.BeginRun("m", "e", "{}", 1);
  EXPECT_DOUBLE_EQ(ledger.CostUsed(run), 0);
  AttemptRecord a = Attempt(run, "gemm", "failed", "");
  a.cost = 0.75;
  ledger.AddAttempt(a);
  a.cost = 1.5;
  ledger.AddAttempt(a);
  a.cost.reset();
  ledger.AddAttempt(a);
  a.run_id = other;
  a.cost = 100;
  ledger.AddAttempt(a);
  EXPECT_DOUBLE_EQ(ledger.CostUsed(run), 2.25);
  EXPECT_DOUBLE_EQ(ledger.CostUsed(other), 100);
  EXPECT_DOUBLE_EQ(ledger.CostUsed(999), 0);
}

TEST_F(LedgerCostTest, FindJudgedByKeyTakesTheEarliestJudgementOfThatTargetOnly) {
  Ledger ledger(Path());
  int64_t run = ledger.BeginRun("m", "e", "{}", 1);
  ledger.AddAttempt(Attempt(run, "gemm", "error", "k"));  // an error is no judgement
  ledger.AddAttempt(Attempt(run, "dot", "failed", "k"));  // another target
  AttemptRecord repeat = Attempt(run, "gemm", "failed", "k");
  repeat.repeat_of = 1;  // a repeat is never the original
  ledger.AddAttempt(repeat);
  EXPECT_FALSE(ledger.FindJudgedByKey("gemm", "k").has_value());

  int64_t judged = ledger.AddAttempt(Attempt(run, "gemm", "passed", "k"));
  ledger.AddAttempt(Attempt(run, "gemm", "failed", "k"));  // later: not the earliest
  std::optional<AttemptRecord> found = ledger.FindJudgedByKey("gemm", "k");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, judged);
  EXPECT_EQ(found->verdict, "passed");

  EXPECT_FALSE(ledger.FindJudgedByKey("gemm", "other").has_value());
  // Rows without a key never match the empty key.
  ledger.AddAttempt(Attempt(run, "gemm", "failed", ""));
  EXPECT_FALSE(ledger.FindJudgedByKey("gemm", "").has_value());
  // A promotion counts as a judgement.
  int64_t promoted = ledger.AddAttempt(Attempt(run, "rope", "passed", "p"));
  ledger.MarkPromoted(promoted, "abc");
  EXPECT_EQ(ledger.FindJudgedByKey("rope", "p")->verdict, "promoted");
}

TEST_F(LedgerCostTest, MigratesAVersion1LedgerToVersion3) {
  Exec(kVersion1);
  ExpectMigratedToVersion3();
}

TEST_F(LedgerCostTest, MigratesAVersion2LedgerToVersion3KeepingExecutorColumns) {
  Exec(kVersion1);
  Exec(kVersion1To2);
  ExpectMigratedToVersion3();
  Ledger ledger(Path());
  EXPECT_EQ(ledger.FindAttempt(1)->job_id, "local");
  EXPECT_EQ(ledger.FindAttempt(1)->tries, 1);
}

TEST_F(LedgerCostTest, HistoryReadsVersion2UnmigratedAndVersion3Costs) {
  Exec(kVersion1);
  Exec(kVersion1To2);
  {
    LedgerHistory history(Path());
    ASSERT_EQ(history.Attempts("").size(), 1u);
    EXPECT_FALSE(history.Attempts("")[0].cost.has_value());
    ASSERT_EQ(history.Runs().size(), 1u);
    EXPECT_EQ(history.Runs()[0].strategy, "greedy");
  }
  EXPECT_EQ(Scalar("SELECT value FROM meta WHERE key='schema_version'"), "2");

  fs::remove(Path());
  Ledger ledger(Path());
  int64_t first = ledger.BeginRun("m", "e", "{}", 1, "independent");
  int64_t second = ledger.BeginRun("m", "e", "{}", 1, "archive");
  AttemptRecord a = Attempt(second, "gemm", "failed", "k");
  a.cost = 0.125;
  a.cost_estimated = true;
  a.cached_prompt_tokens = 12;
  a.repeat_of = 4;
  ledger.AddAttempt(a);
  LedgerHistory history(Path());
  std::vector<AttemptOutline> rows = history.Attempts("gemm");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].cost, 0.125);
  EXPECT_TRUE(rows[0].cost_estimated);
  EXPECT_EQ(rows[0].cached_prompt_tokens, 12);
  EXPECT_EQ(rows[0].repeat_of, 4);
  std::vector<RunRecord> runs = history.Runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].id, first);
  EXPECT_EQ(runs[0].strategy, "independent");
  EXPECT_EQ(runs[1].strategy, "archive");
  EXPECT_EQ(history.LastRun()->strategy, "archive");
}

}  // namespace
}  // namespace rlvr
