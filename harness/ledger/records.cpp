#include "harness/ledger/records.h"

namespace rlvr {
namespace {

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
  // NULL in rows from before schema version 3 (and the column absent in such ledgers).
  if (!s.IsNull(8)) r.strategy = s.Text(8);
  return r;
}

}  // namespace

const char* const kAttemptColumns =
    "id, run_id, created_at, target, model, round, candidate, repair, prompt, reply, patch, "
    "verdict, failed_gate, message, gates_json, figures_json, primary_ratio, prompt_tokens, "
    "completion_tokens, seconds, promoted_commit, job_id, node, queued_seconds, run_seconds, "
    "tries, infrastructure_events, cost, cost_estimated, cached_prompt_tokens, candidate_key, "
    "repeat_of";

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
  a.cost = s.OptReal(27);
  a.cost_estimated = s.Int(28) != 0;
  a.cached_prompt_tokens = s.Int(29);
  a.candidate_key = s.Text(30);
  a.repeat_of = s.OptInt(31);
  return a;
}

bool HasColumn(sqlite3* db, const std::string& table, const std::string& column,
               const Statement::ErrorText& error_text) {
  Statement info(db, "PRAGMA table_info(" + table + ")", error_text);
  while (info.Step()) {
    if (info.Text(1) == column) return true;
  }
  return false;
}

std::vector<RunRecord> ReadRuns(sqlite3* db, const Statement::ErrorText& error_text,
                                std::optional<int> last) {
  std::string strategy = HasColumn(db, "runs", "strategy", error_text) ? "strategy" : "NULL";
  std::string sql =
      "SELECT id, started_at, finished_at, model, endpoint, settings_json, stop_reason, pid, " +
      strategy + " FROM runs ORDER BY id" + (last ? " DESC LIMIT " + std::to_string(*last) : "");
  Statement s(db, sql, error_text);
  std::vector<RunRecord> runs;
  while (s.Step()) runs.push_back(ReadRun(s));
  return runs;
}

std::optional<RunRecord> ReadLastRun(sqlite3* db, const Statement::ErrorText& error_text) {
  std::vector<RunRecord> runs = ReadRuns(db, error_text, 1);
  if (runs.empty()) return std::nullopt;
  return runs.front();
}

}  // namespace rlvr
