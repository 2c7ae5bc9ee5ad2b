#include "harness/ledger/ledger.h"

#include <sqlite3.h>

#include <system_error>

#include "harness/base/utc_time.h"
#include "harness/ledger/records.h"
#include "harness/ledger/statement.h"
#include "harness/ledger/stored_text.h"

namespace rlvr {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs(
  id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, model TEXT, endpoint TEXT,
  settings_json TEXT, stop_reason TEXT, pid INTEGER, strategy TEXT);
CREATE TABLE attempts(
  id INTEGER PRIMARY KEY,
  run_id INTEGER REFERENCES runs(id),
  created_at TEXT NOT NULL,
  target TEXT NOT NULL,
  model TEXT,
  round INTEGER, candidate INTEGER, repair INTEGER NOT NULL DEFAULT 0,
  prompt TEXT, reply TEXT, patch TEXT,
  verdict TEXT NOT NULL,
  failed_gate TEXT,
  message TEXT,
  gates_json TEXT,
  figures_json TEXT,
  primary_ratio REAL,
  prompt_tokens INTEGER, completion_tokens INTEGER,
  seconds REAL,
  promoted_commit TEXT,
  job_id TEXT, node TEXT, queued_seconds REAL, run_seconds REAL, tries INTEGER,
  infrastructure_events TEXT,
  cost REAL, cost_estimated INTEGER, cached_prompt_tokens INTEGER,
  candidate_key TEXT, repeat_of INTEGER);
CREATE INDEX attempts_target_time ON attempts(target, created_at);
CREATE INDEX attempts_target_key ON attempts(target, candidate_key);
INSERT INTO meta(key, value) VALUES ('schema_version', '3');
)sql";

// Version 1 -> 2: the executor columns, NULL in the rows already there.
constexpr const char* kMigrationFrom1 = R"sql(
ALTER TABLE attempts ADD COLUMN job_id TEXT;
ALTER TABLE attempts ADD COLUMN node TEXT;
ALTER TABLE attempts ADD COLUMN queued_seconds REAL;
ALTER TABLE attempts ADD COLUMN run_seconds REAL;
ALTER TABLE attempts ADD COLUMN tries INTEGER;
ALTER TABLE attempts ADD COLUMN infrastructure_events TEXT;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
)sql";

// Version 2 -> 3: cost accounting, repeat detection and the run's strategy, NULL in the rows
// already there (the readers take a NULL strategy for "greedy").
constexpr const char* kMigrationFrom2 = R"sql(
ALTER TABLE runs ADD COLUMN strategy TEXT;
ALTER TABLE attempts ADD COLUMN cost REAL;
ALTER TABLE attempts ADD COLUMN cost_estimated INTEGER;
ALTER TABLE attempts ADD COLUMN cached_prompt_tokens INTEGER;
ALTER TABLE attempts ADD COLUMN candidate_key TEXT;
ALTER TABLE attempts ADD COLUMN repeat_of INTEGER;
CREATE INDEX attempts_target_key ON attempts(target, candidate_key);
UPDATE meta SET value = '3' WHERE key = 'schema_version';
)sql";

// SQLite's quick integrity check, before anything is written: a damaged ledger is refused as it
// is, never written into.
void CheckIntegrity(sqlite3* db, const std::filesystem::path& path) {
  std::string problems;
  try {
    Statement check(db, "PRAGMA quick_check(5)");
    while (check.Step()) {
      std::string line = check.Text(0);
      if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
    }
  } catch (const LedgerError& e) {
    problems = e.what();
  }
  if (!problems.empty()) {
    throw LedgerError("ledger " + path.string() + " is damaged (" + problems +
                      "); nothing was written to it: restore it from a backup, or move it away to "
                      "start a new ledger");
  }
}

}  // namespace

Ledger::Ledger(const std::filesystem::path& path) : path_(path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) {
    throw LedgerError("ledger: cannot create " + path.parent_path().string() + ": " + ec.message());
  }
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw LedgerError("ledger: cannot open " + path.string() + ": " + msg);
  }
  // Two processes (a loop and `rlvr status`, or the report) may touch the file at once.
  sqlite3_busy_timeout(db_, 10000);
  try {
    // No memory-mapped file: a ledger made read-only or immutable under a running loop would
    // kill it with SIGBUS (WAL's -shm index is always mapped). With a rollback journal and no
    // mmap every storage fault is an error naming the file, and a transaction is still all or
    // nothing. An old WAL ledger is switched over when no other process has it open.
    Exec("PRAGMA mmap_size=0");
    CheckIntegrity(db_, path_);
    sqlite3_exec(db_, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr);
    Exec("PRAGMA synchronous=NORMAL");
    CreateOrCheckSchema();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Ledger::~Ledger() {
  sqlite3_close(db_);
}

void Ledger::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw LedgerError("ledger " + path_.string() + ": " + msg);
  }
}

void Ledger::CreateOrCheckSchema() {
  Exec("BEGIN IMMEDIATE");
  try {
    bool has_meta = false;
    {
      Statement s(db_, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'");
      has_meta = s.Step();
    }
    if (!has_meta) {
      Statement tables(db_, "SELECT count(*) FROM sqlite_master");
      tables.Step();
      if (tables.Int(0) != 0) {
        throw LedgerError("ledger " + path_.string() +
                          ": not an rlvr ledger (tables present but no meta table)");
      }
      Exec(kSchema);
    } else {
      Statement s(db_, "SELECT value FROM meta WHERE key='schema_version'");
      std::string version = s.Step() ? s.Text(0) : "";
      // An older ledger keeps its rows, with the new columns empty, one version step after
      // the other; the whole migration is one transaction (this one).
      if (version == "1") {
        Exec(kMigrationFrom1);  // from before the executors
        version = "2";
      }
      if (version == "2") {
        Exec(kMigrationFrom2);  // from before cost accounting
        version = "3";
      }
      if (version != std::to_string(kLedgerSchemaVersion)) {
        throw LedgerError("ledger " + path_.string() + ": schema_version '" + version +
                          "' is not supported by this rlvr (it knows version " +
                          std::to_string(kLedgerSchemaVersion) +
                          "); use a matching rlvr or move the file away");
      }
    }
    Exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

int64_t Ledger::BeginRun(const std::string& model, const std::string& endpoint,
                         const std::string& settings_json, int64_t pid,
                         const std::string& strategy) {
  Statement s(db_,
              "INSERT INTO runs(started_at, model, endpoint, settings_json, pid, strategy) "
              "VALUES (?, ?, ?, ?, ?, ?)");
  s.Bind(1, UtcNowIso8601());
  s.Bind(2, model);
  s.Bind(3, endpoint);
  s.Bind(4, settings_json);
  s.Bind(5, pid);
  s.Bind(6, strategy);
  s.Step();
  return sqlite3_last_insert_rowid(db_);
}

void Ledger::FinishRun(int64_t run_id, const std::string& stop_reason) {
  Statement s(db_, "UPDATE runs SET finished_at = ?, stop_reason = ? WHERE id = ?");
  s.Bind(1, UtcNowIso8601());
  s.Bind(2, stop_reason);
  s.Bind(3, run_id);
  s.Step();
}

int Ledger::CloseAbandonedRuns(const std::string& stop_reason) {
  Statement s(db_, "UPDATE runs SET finished_at = ?, stop_reason = ? WHERE finished_at IS NULL");
  s.Bind(1, UtcNowIso8601());
  s.Bind(2, stop_reason);
  s.Step();
  return sqlite3_changes(db_);
}

namespace {

// Binds an attempt's outcome columns (its texts cut to their bound, stored_text.h), in the order
// patch, verdict, failed_gate, message, gates_json, figures_json, primary_ratio, prompt_tokens,
// completion_tokens, seconds, promoted_commit, job_id, node, queued_seconds, run_seconds, tries,
// infrastructure_events, candidate_key, repeat_of, from parameter `first` on (the INSERT and the
// UPDATE list them alike); kOutcomeColumns of them. The request's cost is not among them: it is
// a fact of the request, booked once by AddAttempt, and a judgement does not change it.
constexpr int kOutcomeColumns = 19;
void BindOutcome(Statement& s, int first, const AttemptRecord& a) {
  s.Bind(first, StoredText(a.patch));
  s.Bind(first + 1, a.verdict);
  s.Bind(first + 2, a.failed_gate);
  s.Bind(first + 3, StoredText(a.message));
  s.Bind(first + 4, a.gates_json);
  s.Bind(first + 5, a.figures_json);
  s.Bind(first + 6, a.primary_ratio);
  s.Bind(first + 7, a.prompt_tokens);
  s.Bind(first + 8, a.completion_tokens);
  s.Bind(first + 9, a.seconds);
  s.Bind(first + 10, a.promoted_commit);
  s.Bind(first + 11, a.job_id);
  s.Bind(first + 12, a.node);
  s.Bind(first + 13, a.queued_seconds);
  s.Bind(first + 14, a.run_seconds);
  s.Bind(first + 15, int64_t{a.tries});
  s.Bind(first + 16, a.infrastructure_events);
  // NULL rather than '' for "no key": such rows never match a lookup by key.
  s.Bind(first + 17,
         a.candidate_key.empty() ? std::nullopt : std::optional<std::string>(a.candidate_key));
  s.Bind(first + 18, a.repeat_of);
}

}  // namespace

int64_t Ledger::AddAttempt(AttemptRecord a) {
  if (a.created_at.empty()) a.created_at = UtcNowIso8601();
  // A single INSERT is its own transaction: the row is all there or not at all.
  Statement s(db_,
              "INSERT INTO attempts(run_id, created_at, target, model, round, candidate, repair, "
              "prompt, reply, patch, verdict, failed_gate, message, gates_json, figures_json, "
              "primary_ratio, prompt_tokens, completion_tokens, seconds, promoted_commit, job_id, "
              "node, queued_seconds, run_seconds, tries, infrastructure_events, candidate_key, "
              "repeat_of, cost, cost_estimated, cached_prompt_tokens) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  s.Bind(1, a.run_id);
  s.Bind(2, a.created_at);
  s.Bind(3, a.target);
  s.Bind(4, a.model);
  s.Bind(5, int64_t{a.round});
  s.Bind(6, int64_t{a.candidate});
  s.Bind(7, int64_t{a.repair});
  s.Bind(8, StoredText(a.prompt));
  s.Bind(9, StoredText(a.reply));
  BindOutcome(s, 10, a);
  s.Bind(10 + kOutcomeColumns, a.cost);
  s.Bind(11 + kOutcomeColumns, int64_t{a.cost_estimated ? 1 : 0});
  s.Bind(12 + kOutcomeColumns, a.cached_prompt_tokens);
  s.Step();
  return sqlite3_last_insert_rowid(db_);
}

void Ledger::UpdateAttempt(const AttemptRecord& a) {
  Statement s(db_,
              "UPDATE attempts SET patch = ?, verdict = ?, failed_gate = ?, message = ?, "
              "gates_json = ?, figures_json = ?, primary_ratio = ?, prompt_tokens = ?, "
              "completion_tokens = ?, seconds = ?, promoted_commit = ?, job_id = ?, node = ?, "
              "queued_seconds = ?, run_seconds = ?, tries = ?, infrastructure_events = ?, "
              "candidate_key = ?, repeat_of = ? "
              "WHERE id = ?");
  BindOutcome(s, 1, a);
  s.Bind(1 + kOutcomeColumns, a.id);
  s.Step();
  if (sqlite3_changes(db_) != 1) {
    throw LedgerError("ledger: no attempt " + std::to_string(a.id) + " to update");
  }
}

void Ledger::MarkPromoted(int64_t attempt_id, const std::string& commit) {
  Statement s(db_, "UPDATE attempts SET verdict = 'promoted', promoted_commit = ? WHERE id = ?");
  s.Bind(1, commit);
  s.Bind(2, attempt_id);
  s.Step();
  if (sqlite3_changes(db_) != 1) {
    throw LedgerError("ledger: no attempt " + std::to_string(attempt_id) + " to mark promoted");
  }
}

std::optional<AttemptRecord> Ledger::FindAttempt(int64_t attempt_id) const {
  Statement s(db_, std::string("SELECT ") + kAttemptColumns + " FROM attempts WHERE id = ?");
  s.Bind(1, attempt_id);
  if (!s.Step()) return std::nullopt;
  return ReadAttempt(s);
}

std::vector<AttemptRecord> Ledger::RecentAttempts(const std::string& target, int limit) const {
  Statement s(db_, std::string("SELECT ") + kAttemptColumns +
                       " FROM attempts WHERE target = ? ORDER BY id DESC LIMIT ?");
  s.Bind(1, target);
  s.Bind(2, int64_t{limit});
  std::vector<AttemptRecord> out;
  while (s.Step()) out.push_back(ReadAttempt(s));
  return out;
}

std::vector<AttemptRecord> Ledger::RunAttempts(int64_t run_id) const {
  Statement s(db_, std::string("SELECT ") + kAttemptColumns +
                       " FROM attempts WHERE run_id = ? ORDER BY id");
  s.Bind(1, run_id);
  std::vector<AttemptRecord> out;
  while (s.Step()) out.push_back(ReadAttempt(s));
  return out;
}

std::optional<RunRecord> Ledger::LastRun() const {
  return ReadLastRun(db_, DatabaseError);
}

std::map<std::string, int> Ledger::VerdictCounts(std::optional<int64_t> run_id) const {
  Statement s(db_, run_id ? "SELECT verdict, count(*) FROM attempts WHERE run_id = ? GROUP BY 1"
                          : "SELECT verdict, count(*) FROM attempts GROUP BY 1");
  if (run_id) s.Bind(1, *run_id);
  std::map<std::string, int> out;
  while (s.Step()) out[s.Text(0)] = static_cast<int>(s.Int(1));
  return out;
}

int Ledger::LastRound(const std::string& target) const {
  Statement s(db_, "SELECT coalesce(max(round), 0) FROM attempts WHERE target = ?");
  s.Bind(1, target);
  s.Step();
  return static_cast<int>(s.Int(0));
}

std::optional<AttemptRecord> Ledger::FindJudgedByKey(const std::string& target,
                                                     const std::string& candidate_key) const {
  if (candidate_key.empty()) return std::nullopt;
  Statement s(db_, std::string("SELECT ") + kAttemptColumns +
                       " FROM attempts WHERE target = ? AND candidate_key = ? AND repeat_of IS NULL"
                       " AND verdict IN ('promoted', 'passed', 'failed') ORDER BY id LIMIT 1");
  s.Bind(1, target);
  s.Bind(2, candidate_key);
  if (!s.Step()) return std::nullopt;
  return ReadAttempt(s);
}

std::vector<AttemptRecord> Ledger::UnjudgedReplies(int limit) const {
  Statement s(db_, std::string("SELECT ") + kAttemptColumns +
                       " FROM attempts WHERE verdict = 'error' AND message LIKE 'not judged: %'"
                       " AND reply <> '' AND run_id IN (SELECT id FROM runs WHERE finished_at IS"
                       " NOT NULL) ORDER BY id LIMIT ?");
  s.Bind(1, static_cast<int64_t>(limit));
  std::vector<AttemptRecord> rows;
  while (s.Step()) rows.push_back(ReadAttempt(s));
  return rows;
}

double Ledger::CostUsed(int64_t run_id) const {
  Statement s(db_, "SELECT coalesce(sum(cost), 0) FROM attempts WHERE run_id = ?");
  s.Bind(1, run_id);
  s.Step();
  return s.Real(0);
}

int64_t Ledger::TokensUsed(int64_t run_id) const {
  Statement s(db_,
              "SELECT coalesce(sum(prompt_tokens), 0) + coalesce(sum(completion_tokens), 0) "
              "FROM attempts WHERE run_id = ?");
  s.Bind(1, run_id);
  s.Step();
  return s.Int(0);
}

}  // namespace rlvr
