// `rlvr status`: a running or finished loop, read from the ledger: the last run's settings, its
// counts per verdict, its tokens and cost (per promotion, per 1% of primary speed-up), its last
// attempts and whether the lock holder is alive. Read-only: it
// never creates a ledger and works while a loop is writing.
#include <signal.h>

#include <cerrno>

#include <iostream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/base/run_lock.h"
#include "harness/cli/commands.h"
#include "harness/git/repo.h"
#include "harness/ledger/ledger.h"
#include "harness/loop/loop.h"
#include "harness/loop/reconcile.h"
#include "harness/report/capacity.h"
#include "harness/report/cost.h"

namespace rlvr {
namespace {

// CLI11 prints nothing for a RuntimeError: say why on stderr, then exit with `status`.
[[noreturn]] void Fail(const std::string& message, int status) {
  throw CLI::RuntimeError(message, status);
}

struct StatusArgs {
  std::string directory = ".";
  int last = 10;
};

bool ProcessAlive(int64_t pid) {
  return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

void RunStatus(const StatusArgs& args) {
  std::optional<std::filesystem::path> root = FindRepoRoot(args.directory);
  if (!root) {
    Fail("rlvr status: " + args.directory + " is not inside a git repository", 2);
  }
  std::filesystem::path path = Ledger::DefaultPath(*root);
  if (!std::filesystem::exists(path)) {
    std::cout << "rlvr status: no loop has run here yet (no " << path.string() << ")\n";
    return;
  }
  std::unique_ptr<Ledger> ledger;
  try {
    ledger = std::make_unique<Ledger>(path);
  } catch (const LedgerError& e) {
    Fail(std::string("rlvr status: ") + e.what(), 2);
  }
  std::optional<RunRecord> run = ledger->LastRun();
  if (!run) {
    std::cout << "rlvr status: the ledger has no runs yet\n";
    return;
  }
  std::optional<pid_t> holder = RunLock::Holder(*root);
  std::string state;
  if (!run->finished_at) {
    if (holder && *holder == run->pid) {
      state = fmt::format("running (pid {}, holds the lock)", run->pid);
    } else if (ProcessAlive(run->pid) && holder) {
      state = fmt::format("running (pid {})", run->pid);
    } else {
      state =
          fmt::format("died without finishing (pid {} is gone; the next run closes it)", run->pid);
    }
  } else {
    state = fmt::format("finished at {}: {}", *run->finished_at, run->stop_reason.value_or("?"));
  }
  std::cout << fmt::format("run {} started {} — {}\n", run->id, run->started_at, state);
  std::cout << fmt::format("model {} at {}, strategy {}\n", run->model, run->endpoint,
                           run->strategy);
  nlohmann::json settings = nlohmann::json::parse(run->settings_json, nullptr, false);
  if (!settings.is_discarded() && settings.is_object()) {
    std::string line = "settings:";
    for (const auto& [key, value] : settings.items()) line += " " + key + "=" + value.dump();
    std::cout << line << "\n";
  }
  if (holder && !(run->finished_at == std::nullopt && *holder == run->pid)) {
    std::cout << fmt::format("lock held by pid {} ({})\n", *holder,
                             ProcessAlive(*holder) ? "alive" : "not running");
  } else if (!holder) {
    std::cout << "lock: free (no loop running)\n";
  }
  std::string counts = "attempts:";
  int total = 0;
  for (const auto& [verdict, count] : ledger->VerdictCounts(run->id)) {
    counts += fmt::format(" {} {}", count, verdict);
    total += count;
  }
  std::cout << (total ? counts : std::string("attempts: none yet")) << "\n";
  std::cout << fmt::format("tokens: {}\n", ledger->TokensUsed(run->id));
  std::vector<AttemptRecord> attempts = ledger->RunAttempts(run->id);
  // A loop killed inside a promotion: git has the commit, the ledger not yet. Say it as git has it.
  std::vector<AttemptCommit> pending;
  try {
    pending = UnrecordedPromotions(*root, *ledger);
  } catch (const std::exception& e) {
    std::cout << "promotions: cannot read the git history: " << e.what() << "\n";
  }
  for (const AttemptCommit& c : pending) {
    std::cout << fmt::format(
        "promoted as {}, not yet in the ledger: attempt {} (a loop was killed while promoting; "
        "the next rlvr iterate records it)\n",
        c.commit.substr(0, 12), c.attempt_id);
    for (AttemptRecord& a : attempts) {
      if (a.id != c.attempt_id) continue;
      a.verdict = "promoted";
      a.promoted_commit = c.commit;
    }
  }
  CostTally cost;
  for (const AttemptRecord& a : attempts) {
    cost.Add(a.cost, a.cost_estimated, a.verdict, a.primary_ratio);
  }
  std::cout << "cost: " << CostText(cost) << "\n";
  std::cout << "nodes (where the evaluations ran; throughput per hour of each node's run time):\n";
  for (const std::string& line : CapacityLines(NodeCapacity(attempts))) std::cout << line << "\n";
  size_t from = attempts.size() > static_cast<size_t>(args.last) ? attempts.size() - args.last : 0;
  if (from < attempts.size()) std::cout << "last attempts:\n";
  for (size_t i = from; i < attempts.size(); ++i) {
    std::cout << "  " << AttemptLine(attempts[i], attempts[i].created_at) << "\n";
    if (std::string time = TimeBreakdown(attempts[i]); !time.empty())
      std::cout << "    time: " << time << "\n";
  }
}

}  // namespace

void AddStatusCommand(CLI::App& app) {
  auto args = std::make_shared<StatusArgs>();
  CLI::App* cmd = app.add_subcommand("status", "Show the running or last loop from the ledger");
  cmd->add_option("-C", args->directory, "Run in this repository instead of the current one");
  cmd->add_option("--last", args->last, "How many recent attempts to show")->capture_default_str();
  cmd->callback([args] { RunStatus(*args); });
}

}  // namespace rlvr
