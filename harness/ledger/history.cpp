#include "harness/ledger/history.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <set>

#include "harness/ledger/records.h"
#include "harness/ledger/statement.h"

namespace rlvr {

LedgerHistory::LedgerHistory(const std::filesystem::path& path) : path_(path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw LedgerError(fmt::format("cannot open ledger at {}: {}", path.string(), why));
  }
  sqlite3_busy_timeout(db_, 5000);  // a running loop may be writing
  try {
    CheckSchema();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

LedgerHistory::~LedgerHistory() {
  sqlite3_close(db_);
}

std::string LedgerHistory::ReadError(sqlite3* db) const {
  return fmt::format("cannot read ledger at {}: {}", path_.string(), sqlite3_errmsg(db));
}

Statement LedgerHistory::Prepare(const std::string& sql) const {
  return Statement(db_, sql, [this](sqlite3* db) { return ReadError(db); });
}

bool LedgerHistory::TableExists(const std::string& table) const {
  Statement query = Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  query.Bind(1, table);
  return query.Step();
}

// Refuses anything but a ledger of a version this reader knows with the columns it uses.
void LedgerHistory::CheckSchema() const {
  const std::string where = path_.string();
  const int oldest = kLedgerOldestReadableSchemaVersion;
  const int newest = kLedgerSchemaVersion;
  bool has_meta = false;
  try {
    has_meta = TableExists("meta");
  } catch (const LedgerError& e) {
    throw LedgerError(fmt::format("{} (is it an rlvr ledger?)", e.what()));
  }
  if (!has_meta) {
    throw LedgerError(fmt::format(
        "ledger at {} has no schema version (no meta table): it was written by an older rlvr or "
        "is not an rlvr ledger; this rlvr reads versions {} to {}",
        where, oldest, newest));
  }
  Statement version = Prepare("SELECT value FROM meta WHERE key = 'schema_version'");
  if (!version.Step()) {
    throw LedgerError(
        fmt::format("ledger at {} has no schema_version in its meta table; this rlvr "
                    "reads versions {} to {}",
                    where, oldest, newest));
  }
  std::string found = version.Text(0);
  bool known = false;
  for (int v = oldest; v <= newest; ++v) known = known || found == std::to_string(v);
  if (!known) {
    throw LedgerError(
        fmt::format("ledger at {} has schema version {}; this rlvr reads versions {} to {}", where,
                    found, oldest, newest));
  }
  std::set<std::string> columns;
  Statement info = Prepare("PRAGMA table_info(attempts)");
  while (info.Step()) columns.insert(info.Text(1));
  for (const char* needed :
       {"id", "run_id", "created_at", "target", "model", "round", "candidate", "repair", "reply",
        "patch", "verdict", "failed_gate", "message", "figures_json", "primary_ratio",
        "prompt_tokens", "completion_tokens", "seconds", "promoted_commit"}) {
    if (!columns.count(needed)) {
      throw LedgerError(
          fmt::format("ledger at {} says schema version {} but its attempts table "
                      "lacks column '{}'; the file is damaged or not an rlvr ledger",
                      where, found, needed));
    }
  }
  if (!TableExists("runs")) {
    throw LedgerError(fmt::format("ledger at {} lacks its runs table", where));
  }
}

std::vector<AttemptOutline> LedgerHistory::Attempts(const std::string& target) const {
  // Ledgers older than version 3 have no cost columns: NULL stands in for them.
  bool v3 = HasColumn(db_, "attempts", "cost", [this](sqlite3* db) { return ReadError(db); });
  std::string sql = fmt::format(
      "SELECT id, run_id, created_at, target, model, round, candidate, repair, verdict, "
      "failed_gate, substr(message, 1, {}), primary_ratio, prompt_tokens, completion_tokens, "
      "seconds, {} FROM attempts",
      kOutlineMessageChars,
      v3 ? "cost, cost_estimated, cached_prompt_tokens, repeat_of" : "NULL, NULL, NULL, NULL");
  if (!target.empty()) sql += " WHERE target = ?1";
  sql += " ORDER BY created_at, id";
  Statement query = Prepare(sql);
  if (!target.empty()) query.Bind(1, target);
  std::vector<AttemptOutline> rows;
  while (query.Step()) {
    AttemptOutline row;
    row.id = query.Int(0);
    row.run_id = query.Int(1);
    row.created_at = query.Text(2);
    row.target = query.Text(3);
    row.model = query.Text(4);
    row.round = static_cast<int>(query.Int(5));
    row.candidate = static_cast<int>(query.Int(6));
    row.repair = static_cast<int>(query.Int(7));
    row.verdict = query.Text(8);
    row.failed_gate = query.Text(9);
    row.message = query.Text(10);
    row.primary_ratio = query.OptReal(11);
    row.prompt_tokens = query.Int(12);
    row.completion_tokens = query.Int(13);
    row.seconds = query.Real(14);
    row.cost = query.OptReal(15);
    row.cost_estimated = query.Int(16) != 0;
    row.cached_prompt_tokens = query.Int(17);
    row.repeat_of = query.OptInt(18);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<PromotedAttempt> LedgerHistory::Promotions(const std::string& target) const {
  std::string sql =
      "SELECT id, created_at, target, model, round, promoted_commit, patch, figures_json, "
      "primary_ratio FROM attempts WHERE verdict = 'promoted'";
  if (!target.empty()) sql += " AND target = ?1";
  sql += " ORDER BY created_at, id";
  Statement query = Prepare(sql);
  if (!target.empty()) query.Bind(1, target);
  std::vector<PromotedAttempt> promotions;
  while (query.Step()) {
    PromotedAttempt promotion;
    promotion.attempt_id = query.Int(0);
    promotion.created_at = query.Text(1);
    promotion.target = query.Text(2);
    promotion.model = query.Text(3);
    promotion.round = static_cast<int>(query.Int(4));
    promotion.commit = query.Text(5);
    promotion.patch = query.Text(6);
    promotion.figures_json = query.Text(7);
    promotion.primary_ratio = query.OptReal(8);
    promotions.push_back(std::move(promotion));
  }
  return promotions;
}

std::string LedgerHistory::ReplyStart(int64_t attempt_id, int chars) const {
  Statement one = Prepare("SELECT substr(reply, 1, ?2) FROM attempts WHERE id = ?1");
  one.Bind(1, attempt_id);
  one.Bind(2, int64_t{chars});
  return one.Step() ? one.Text(0) : std::string();
}

std::optional<RunRecord> LedgerHistory::LastRun() const {
  return ReadLastRun(db_, [this](sqlite3* db) { return ReadError(db); });
}

}  // namespace rlvr

namespace rlvr {

std::vector<RunRecord> LedgerHistory::Runs() const {
  return ReadRuns(db_, [this](sqlite3* db) { return ReadError(db); });
}

}  // namespace rlvr
