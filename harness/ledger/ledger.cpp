#include "harness/ledger/ledger.h"

#include <sqlite3.h>

#include <cstring>
#include <system_error>

#include "harness/base/secrets.h"
#include "harness/base/utc_time.h"

namespace rlvr {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs(
  id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, model TEXT, endpoint TEXT,
  settings_json TEXT, stop_reason TEXT, pid INTEGER);
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
  infrastructure_events TEXT);
CREATE INDEX attempts_target_time ON attempts(target, created_at);
INSERT INTO meta(key, value) VALUES ('schema_version', '2');
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

constexpr const char* kAttemptColumns =
    "id, run_id, created_at, target, model, round, candidate, repair, prompt, reply, patch, "
    "verdict, failed_gate, message, gates_json, figures_json, primary_ratio, prompt_tokens, "
    "completion_tokens, seconds, promoted_commit, job_id, node, queued_seconds, run_seconds, "
    "tries, "
    "infrastructure_events";

// SQLite's last error on `db`, naming the file and, when there is one, the system's reason
// ("disk I/O error (Operation not permitted)").
std::string DatabaseError(sqlite3* db) {
  const char* file = sqlite3_db_filename(db, "main");
  std::string text =
      std::string("ledger ") + (file && *file ? file : "(unnamed)") + ": " + sqlite3_errmsg(db);
  if (int system_errno = sqlite3_system_errno(db); system_errno != 0) {
    text += std::string(" (") + std::strerror(system_errno) + ")";
  }
  return text;
}

// A prepared statement that finalizes itself; errors carry SQLite's message and the file.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) {
      throw LedgerError(DatabaseError(db));
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  // Every text the ledger stores passes here: no registered secret (the API key, a token a
  // candidate printed in a failing test) ever reaches the file. Redacting the parameters of
  // lookups too keeps them matching what was stored.
  void Bind(int i, const std::string& v) {
    std::string text = RedactSecrets(v);
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, const std::optional<std::string>& v) {
    if (v) {
      Bind(i, *v);
    } else {
      sqlite3_bind_null(stmt_, i);
    }
  }
  void Bind(int i, const std::optional<double>& v) {
    if (v) {
      Bind(i, *v);
    } else {
      sqlite3_bind_null(stmt_, i);
    }
  }
  // True while there is a row.
  bool Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw LedgerError(DatabaseError(db_));
  }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  std::optional<std::string> OptText(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Text(col);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

AttemptRecord ReadAttempt(const Statement& s) {
  AttemptRecord a;
  a.id = s.Int(0);
  a.run_id = s.Int(1);
  a.created_at = s.Text(2);
  a.target = s.Text(3);
  a.model = s.Text(4);
  a.round = static_cast<int>(s.Int(5));
  a.candidate = static_cast<int>(s.Int(6));
  a.repair = static_cast<int>(s.Int(7));
  a.prompt = s.Text(8);
  a.reply = s.Text(9);
  a.patch = s.Text(10);
  a.verdict = s.Text(11);
  a.failed_gate = s.OptText(12);
  a.message = s.Text(13);
  a.gates_json = s.Text(14);
  a.figures_json = s.Text(15);
  if (!s.IsNull(16)) a.primary_ratio = s.Real(16);
  a.prompt_tokens = s.Int(17);
  a.completion_tokens = s.Int(18);
  a.seconds = s.Real(19);
  a.promoted_commit = s.OptText(20);
  a.job_id = s.OptText(21);
  a.node = s.OptText(22);
  if (!s.IsNull(23)) a.queued_seconds = s.Real(23);
  if (!s.IsNull(24)) a.run_seconds = s.Real(24);
  a.tries = static_cast<int>(s.Int(25));
  a.infrastructure_events = s.Text(26);
  return a;
}

RunRecord ReadRun(const Statement& s) {
  RunRecord r;
  r.id = s.Int(0);
  r.started_at = s.Text(1);
  r.finished_at = s.OptText(2);
  r.model = s.Text(3);
  r.endpoint = s.Text(4);
  r.settings_json = s.Text(5);
  r.stop_reason = s.OptText(6);
  r.pid = s.Int(7);
  return r;
}

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
      if (version == "1") {
        // A ledger of an rlvr from before the executors: its rows stay, with the new columns
        // empty; the whole migration is one transaction (this one).
        MigrateFromVersion1();
        version = std::to_string(kLedgerSchemaVersion);
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

void Ledger::MigrateFromVersion1() {
  Exec(kMigrationFrom1);
}

int64_t Ledger::BeginRun(const std::string& model, const std::string& endpoint,
                         const std::string& settings_json, int64_t pid) {
  Statement s(db_,
              "INSERT INTO runs(started_at, model, endpoint, settings_json, pid) "
              "VALUES (?, ?, ?, ?, ?)");
  s.Bind(1, UtcNowIso8601());
  s.Bind(2, model);
  s.Bind(3, endpoint);
  s.Bind(4, settings_json);
  s.Bind(5, pid);
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

// Binds an attempt's outcome columns, in the order patch, verdict, failed_gate, message,
// gates_json, figures_json, primary_ratio, prompt_tokens, completion_tokens, seconds,
// promoted_commit, job_id, node, queued_seconds, run_seconds, tries, infrastructure_events, from
// parameter `first` on (the INSERT and the UPDATE list them alike).
void BindOutcome(Statement& s, int first, const AttemptRecord& a) {
  s.Bind(first, a.patch);
  s.Bind(first + 1, a.verdict);
  s.Bind(first + 2, a.failed_gate);
  s.Bind(first + 3, a.message);
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
}

}  // namespace

int64_t Ledger::AddAttempt(AttemptRecord a) {
  if (a.created_at.empty()) a.created_at = UtcNowIso8601();
  // A single INSERT is its own transaction: the row is all there or not at all.
  Statement s(db_,
              "INSERT INTO attempts(run_id, created_at, target, model, round, candidate, repair, "
              "prompt, reply, patch, verdict, failed_gate, message, gates_json, figures_json, "
              "primary_ratio, prompt_tokens, completion_tokens, seconds, promoted_commit, job_id, "
              "node, queued_seconds, run_seconds, tries, infrastructure_events) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  s.Bind(1, a.run_id);
  s.Bind(2, a.created_at);
  s.Bind(3, a.target);
  s.Bind(4, a.model);
  s.Bind(5, int64_t{a.round});
  s.Bind(6, int64_t{a.candidate});
  s.Bind(7, int64_t{a.repair});
  s.Bind(8, a.prompt);
  s.Bind(9, a.reply);
  BindOutcome(s, 10, a);
  s.Step();
  return sqlite3_last_insert_rowid(db_);
}

void Ledger::UpdateAttempt(const AttemptRecord& a) {
  Statement s(db_,
              "UPDATE attempts SET patch = ?, verdict = ?, failed_gate = ?, message = ?, "
              "gates_json = ?, figures_json = ?, primary_ratio = ?, prompt_tokens = ?, "
              "completion_tokens = ?, seconds = ?, promoted_commit = ?, job_id = ?, node = ?, "
              "queued_seconds = ?, run_seconds = ?, tries = ?, infrastructure_events = ? "
              "WHERE id = ?");
  BindOutcome(s, 1, a);
  s.Bind(18, a.id);
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
  Statement s(db_,
              "SELECT id, started_at, finished_at, model, endpoint, settings_json, stop_reason, "
              "pid FROM runs ORDER BY id DESC LIMIT 1");
  if (!s.Step()) return std::nullopt;
  return ReadRun(s);
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

int64_t Ledger::TokensUsed(int64_t run_id) const {
  Statement s(db_,
              "SELECT coalesce(sum(prompt_tokens), 0) + coalesce(sum(completion_tokens), 0) "
              "FROM attempts WHERE run_id = ?");
  s.Bind(1, run_id);
  s.Step();
  return s.Int(0);
}

}  // namespace rlvr
