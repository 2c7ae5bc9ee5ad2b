#include "harness/ledger/statement.h"

#include <sqlite3.h>

#include <cstring>
#include <utility>

#include "harness/base/secrets.h"
#include "harness/ledger/ledger.h"

namespace rlvr {

std::string DatabaseError(sqlite3* db) {
  const char* file = sqlite3_db_filename(db, "main");
  std::string text =
      std::string("ledger ") + (file && *file ? file : "(unnamed)") + ": " + sqlite3_errmsg(db);
  if (int system_errno = sqlite3_system_errno(db); system_errno != 0) {
    text += std::string(" (") + std::strerror(system_errno) + ")";
  }
  return text;
}

Statement::Statement(sqlite3* db, const std::string& sql, ErrorText error_text)
    : db_(db), error_text_(std::move(error_text)) {
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) Fail();
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

void Statement::Fail() const {
  throw LedgerError(error_text_(db_));
}

void Statement::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
}

void Statement::Bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
}

void Statement::Bind(int i, const std::string& v) {
  std::string text = RedactSecrets(v);
  sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void Statement::Bind(int i, const std::optional<std::string>& v) {
  if (v) {
    Bind(i, *v);
  } else {
    sqlite3_bind_null(stmt_, i);
  }
}

void Statement::Bind(int i, const std::optional<double>& v) {
  if (v) {
    Bind(i, *v);
  } else {
    sqlite3_bind_null(stmt_, i);
  }
}

void Statement::Bind(int i, const std::optional<int64_t>& v) {
  if (v) {
    Bind(i, *v);
  } else {
    sqlite3_bind_null(stmt_, i);
  }
}

bool Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Fail();
}

bool Statement::IsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

int64_t Statement::Int(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

double Statement::Real(int col) const {
  return sqlite3_column_double(stmt_, col);
}

std::string Statement::Text(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, sqlite3_column_bytes(stmt_, col)) : std::string();
}

std::optional<std::string> Statement::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

std::optional<int64_t> Statement::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

std::optional<double> Statement::OptReal(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Real(col);
}

}  // namespace rlvr
