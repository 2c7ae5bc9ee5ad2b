// The ledger: every loop run and every attempt (model reply + verdict) in SQLite at
// .rlvr/ledger.sqlite, with the schema fixed by DESIGN.md (schema_version 3; version-1 and -2
// ledgers are migrated in place when opened for writing: the executor columns, then the cost,
// repeat and strategy columns are added). A rollback journal
// (not WAL, whose memory-mapped index turns a read-only or full disk into SIGBUS) and one
// transaction per write, so a killed process leaves a valid file and loses at most the attempt
// being written. Reports read it back read-only through history.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace rlvr {

class LedgerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int kLedgerSchemaVersion = 3;

struct RunRecord {
  int64_t id = 0;
  std::string started_at;
  std::optional<std::string> finished_at;
  std::string model;
  std::string endpoint;
  std::string settings_json;
  std::optional<std::string> stop_reason;
  int64_t pid = 0;
  // The search strategy of the run (loop/strategy.h: greedy, best-of-n, independent, archive);
  // "greedy" in rows of ledgers older than schema version 3.
  std::string strategy = "greedy";
};

struct AttemptRecord {
  int64_t id = 0;  // assigned by AddAttempt
  int64_t run_id = 0;
  std::string created_at;  // ISO 8601 UTC; filled by AddAttempt when empty
  std::string target;
  std::string model;
  int round = 0;
  int candidate = 0;
  int repair = 0;
  std::string prompt;
  std::string reply;
  std::string patch;
  std::string verdict;  // promoted | passed | failed | error | repeat (of repeat_of, not judged)
  std::optional<std::string> failed_gate;
  std::string message;
  std::string gates_json;
  std::string figures_json;
  std::optional<double> primary_ratio;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double seconds = 0;
  std::optional<std::string> promoted_commit;
  // Where the evaluation ran (schema version 2; NULL/0 in rows of version-1 ledgers and in rows
  // never evaluated): the executor's job id ("local" on this machine, the Slurm job id of the try
  // that produced the verdict), the node, seconds queued and running, how many times it was
  // started, and the infrastructure faults met on the way, one per line (retries of cancelled or
  // preempted jobs: never a fault of the candidate).
  std::optional<std::string> job_id;
  std::optional<std::string> node;
  std::optional<double> queued_seconds;
  std::optional<double> run_seconds;
  int tries = 0;
  std::string infrastructure_events;
  // What the request behind this attempt cost (schema version 3): dollars at the model's price
  // (llm/price.h), booked like the tokens on the request's first candidate; unset when the model
  // has no price. `cost_estimated` when the endpoint reported no usage and the tokens were
  // estimated from the text. `cached_prompt_tokens` as the endpoint reported them.
  std::optional<double> cost;
  bool cost_estimated = false;
  int64_t cached_prompt_tokens = 0;
  // The candidate's identity for repeat detection (loop/repeats.h): a hash of the commit it was
  // applied to and the files it produced; empty when the reply did not apply. `repeat_of` is the
  // earlier attempt with the same key, whose verdict this one was not judged again for.
  std::string candidate_key;
  std::optional<int64_t> repeat_of;
};

class Ledger {
 public:
  // Opens (creating file, folder and schema if missing) the ledger at `path`. Throws LedgerError
  // for an unreadable file or a schema_version this build does not know.
  explicit Ledger(const std::filesystem::path& path);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  static std::filesystem::path DefaultPath(const std::filesystem::path& repo_root) {
    return repo_root / ".rlvr" / "ledger.sqlite";
  }

  // `strategy` is the run's search strategy (RunRecord::strategy), stored in runs.strategy.
  int64_t BeginRun(const std::string& model, const std::string& endpoint,
                   const std::string& settings_json, int64_t pid,
                   const std::string& strategy = "greedy");
  void FinishRun(int64_t run_id, const std::string& stop_reason);
  // Runs left without finished_at by a killed process are closed with `stop_reason`; returns
  // how many. Call only while holding the repository lock.
  int CloseAbandonedRuns(const std::string& stop_reason);

  int64_t AddAttempt(AttemptRecord attempt);
  // Rewrites the outcome of attempt `attempt.id` (patch, verdict, failed gate, message, gates,
  // figures, ratio, tokens, seconds, promoted commit, executor columns, candidate key,
  // repeat_of); what was asked and answered stays as recorded, and so does the request's cost
  // (cost, cost_estimated, cached_prompt_tokens: written by AddAttempt only).
  void UpdateAttempt(const AttemptRecord& attempt);
  // Turns a 'passed' attempt into 'promoted' with the commit it produced.
  void MarkPromoted(int64_t attempt_id, const std::string& commit);

  std::optional<AttemptRecord> FindAttempt(int64_t attempt_id) const;
  // Most recent first.
  std::vector<AttemptRecord> RecentAttempts(const std::string& target, int limit) const;
  std::vector<AttemptRecord> RunAttempts(int64_t run_id) const;
  std::optional<RunRecord> LastRun() const;
  std::map<std::string, int> VerdictCounts(std::optional<int64_t> run_id) const;
  // Highest round recorded for `target` over all runs (0 if none): a resumed loop goes on after it.
  int LastRound(const std::string& target) const;
  int64_t TokensUsed(int64_t run_id) const;
  // Dollars spent by run `run_id`: the sum of its attempts' cost; 0 when none is priced.
  double CostUsed(int64_t run_id) const;
  // The earliest attempt of `target` with this candidate key that was judged (promoted, passed
  // or failed; an 'error' is no judgement) and is not itself a repeat; nothing when there is
  // none or the key is empty. A candidate whose key matches need not be evaluated again.
  std::optional<AttemptRecord> FindJudgedByKey(const std::string& target,
                                               const std::string& candidate_key) const;
  // Replies of finished runs that a stop (or a kill) left unjudged: 'error' rows whose message
  // starts "not judged: " and that have a reply, oldest first, at most `limit`. Rows of the
  // machine's or the infrastructure's faults ("not judged (...") are not among them.
  std::vector<AttemptRecord> UnjudgedReplies(int limit) const;

 private:
  void Exec(const char* sql);
  void CreateOrCheckSchema();

  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

}  // namespace rlvr
