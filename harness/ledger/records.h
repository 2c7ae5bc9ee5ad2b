// Reading the ledger's rows into the records of ledger.h, shared by the loop's connection
// (ledger.cpp) and the read-only history (history.cpp): the column lists and their order live
// here once.
#pragma once

#include <optional>

#include "harness/ledger/ledger.h"
#include "harness/ledger/statement.h"

namespace rlvr {

// Every column of an attempt (schema version 2), in the order ReadAttempt expects.
extern const char* const kAttemptColumns;

// The current row of a statement that selected kAttemptColumns.
AttemptRecord ReadAttempt(const Statement& s);

// The run with the highest id, if any (version 1 and 2 ledgers alike).
std::optional<RunRecord> ReadLastRun(sqlite3* db, const Statement::ErrorText& error_text);

}  // namespace rlvr
