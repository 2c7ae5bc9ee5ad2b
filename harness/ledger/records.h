// Reading the ledger's rows into the records of ledger.h, shared by the loop's connection
// (ledger.cpp) and the read-only history (history.cpp): the column lists and their order live
// here once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/ledger/ledger.h"
#include "harness/ledger/statement.h"

namespace rlvr {

// Every column of an attempt (schema version 3), in the order ReadAttempt expects.
extern const char* const kAttemptColumns;

// The current row of a statement that selected kAttemptColumns.
AttemptRecord ReadAttempt(const Statement& s);

// Whether `table` has `column` (older ledgers read by history.h lack the newer ones).
bool HasColumn(sqlite3* db, const std::string& table, const std::string& column,
               const Statement::ErrorText& error_text);

// Every run, by id; only the `last` ones, newest first, when given. Ledgers of versions 1 to 3
// alike (strategy "greedy" where none is stored).
std::vector<RunRecord> ReadRuns(sqlite3* db, const Statement::ErrorText& error_text,
                                std::optional<int> last = std::nullopt);

// The run with the highest id, if any (version 1, 2 and 3 ledgers alike).
std::optional<RunRecord> ReadLastRun(sqlite3* db, const Statement::ErrorText& error_text);

}  // namespace rlvr
