// A prepared SQLite statement on the ledger, for the ledger part's own files (ledger.cpp writes,
// history.cpp reads back): it finalizes itself, redacts every text it binds, and turns SQLite's
// errors into LedgerError. No other part prepares SQL on the ledger.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace rlvr {

// SQLite's last error on `db`, naming the file and, when there is one, the system's reason
// ("ledger /x/.rlvr/ledger.sqlite: disk I/O error (Operation not permitted)").
std::string DatabaseError(sqlite3* db);

class Statement {
 public:
  // The message of the LedgerError thrown when preparing or stepping fails.
  using ErrorText = std::function<std::string(sqlite3*)>;

  Statement(sqlite3* db, const std::string& sql, ErrorText error_text = DatabaseError);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void Bind(int i, int64_t v);
  void Bind(int i, double v);
  // Every text the ledger stores passes here: no registered secret (the API key, a token a
  // candidate printed in a failing test) ever reaches the file. Redacting the parameters of
  // lookups too keeps them matching what was stored.
  void Bind(int i, const std::string& v);
  void Bind(int i, const std::optional<std::string>& v);
  void Bind(int i, const std::optional<double>& v);
  void Bind(int i, const std::optional<int64_t>& v);
  // True while there is a row.
  bool Step();
  bool IsNull(int col) const;
  int64_t Int(int col) const;
  double Real(int col) const;
  std::string Text(int col) const;
  std::optional<std::string> OptText(int col) const;
  std::optional<int64_t> OptInt(int col) const;
  std::optional<double> OptReal(int col) const;

 private:
  [[noreturn]] void Fail() const;

  sqlite3* db_;
  ErrorText error_text_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace rlvr
