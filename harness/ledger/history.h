// Reading runs and attempts back for reports: the ledger opened read-only. It never creates,
// migrates or writes the file, so it reads ledgers of schema version 1 (from before the executor
// columns) and 2 (from before the cost columns) as well as 3, and it works while a running loop is
// writing (it waits for the loop's lock). The rows come as plain structs without the large texts a
// report does not need.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "harness/ledger/ledger.h"

struct sqlite3;

namespace rlvr {
class Statement;
}  // namespace rlvr

namespace rlvr {

// The oldest schema version LedgerHistory reads; the newest is kLedgerSchemaVersion.
inline constexpr int kLedgerOldestReadableSchemaVersion = 1;

// An attempt without its prompt, reply, patch, gates or figures.
struct AttemptOutline {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string created_at;
  std::string target;
  std::string model;
  int round = 0, candidate = 0, repair = 0;
  std::string verdict;
  std::string failed_gate;  // "" when none
  std::string message;      // its first kOutlineMessageChars characters
  std::optional<double> primary_ratio;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double seconds = 0;
  // Schema version 3 (unset, false, 0 and unset in older ledgers): what the request cost when
  // the model had a price, whether the endpoint's usage was estimated, the cached prompt tokens,
  // and the earlier attempt this one repeated.
  std::optional<double> cost;
  bool cost_estimated = false;
  int64_t cached_prompt_tokens = 0;
  std::optional<int64_t> repeat_of;
};
inline constexpr int kOutlineMessageChars = 500;

// A promoted attempt: the commit it made, its patch and its benchmark figures.
struct PromotedAttempt {
  int64_t attempt_id = 0;
  std::string created_at;
  std::string target;
  std::string model;
  int round = 0;
  std::string commit;
  std::string patch;
  std::string figures_json;  // as DESIGN.md fixes it; unparsed
  std::optional<double> primary_ratio;
};

class LedgerHistory {
 public:
  // Opens the ledger at `path`, which must exist, read-only. Throws LedgerError ("cannot open
  // ledger at ...", "ledger at ... has schema version 4; this rlvr reads versions 1 to 3", ...)
  // when it cannot be opened or is not an rlvr ledger of a version it reads.
  explicit LedgerHistory(const std::filesystem::path& path);
  ~LedgerHistory();
  LedgerHistory(const LedgerHistory&) = delete;
  LedgerHistory& operator=(const LedgerHistory&) = delete;

  // Every attempt (only those of `target` unless it is ""), oldest first: by created_at, then id.
  std::vector<AttemptOutline> Attempts(const std::string& target) const;
  // Every promoted attempt (only those of `target` unless it is ""), oldest first.
  std::vector<PromotedAttempt> Promotions(const std::string& target) const;
  // The first `chars` characters of an attempt's model reply; "" when there is no such attempt.
  std::string ReplyStart(int64_t attempt_id, int chars) const;
  // The run with the highest id, if any.
  std::optional<RunRecord> LastRun() const;
  // Every run, oldest first (strategy "greedy" for runs of ledgers older than version 3).
  std::vector<RunRecord> Runs() const;

 private:
  void CheckSchema() const;
  bool TableExists(const std::string& table) const;
  // "cannot read ledger at <path>: <SQLite's reason>": the message of a failed query.
  std::string ReadError(sqlite3* db) const;
  Statement Prepare(const std::string& sql) const;

  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

}  // namespace rlvr
