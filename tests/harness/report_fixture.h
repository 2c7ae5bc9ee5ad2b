// Fixture generator for the report tests: writes a ledger with the DESIGN.md schema (version 1)
// holding any number of attempts with a realistic verdict mix, gate failures with compiler-like
// messages, hostile strings (script and onerror payloads) in replies, messages and patches, and
// promotions with figures; plus baselines/<target>.json files. Generated at test time instead of
// committing a large binary. Returns what it wrote, so tests check the report against it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace rlvr {

// If either payload ever runs in a browser it leaves a visible mark: the title changes to
// PWNED, or <html> gets data-xss="1".
inline constexpr const char* kHostileScript = "</script><script>document.title='PWNED'</script>";
inline constexpr const char* kHostileImage =
    "<img src=x onerror=\"document.documentElement.setAttribute('data-xss','1')\">";

struct FixtureLedgerOptions {
  int attempts = 1000;
  int runs = 3;
  int promotions_per_target = 4;  // spread over the attempts; fewer if attempts are few
  std::vector<std::string> targets = {"gemm", "softmax"};
  std::string start = "2026-11-20T18:00:00Z";
  int seconds_between_attempts = 45;
  uint64_t seed = 42;
};

struct FixturePromotion {
  int64_t attempt_id = 0;
  std::string created_at;
  double ratio = 0;  // primary candidate/baseline
};

struct FixtureLedger {
  int attempts = 0;
  std::map<std::string, int> by_category;  // as AttemptCategory names them
  std::map<std::string, int> by_verdict;
  std::map<std::string, std::vector<FixturePromotion>> promotions;  // per target, oldest first
  std::map<std::string, double> first_baseline_ns;                  // per target
  std::vector<std::string> created_at;                              // per attempt, in order
  int64_t last_run_id = 0;
  int last_run_attempts = 0;
  int64_t tokens = 0;
};

// Writes a fresh ledger at `path` (replacing any file there).
FixtureLedger WriteFixtureLedger(const std::filesystem::path& path,
                                 const FixtureLedgerOptions& options);

// A valid ledger with the schema and no runs or attempts.
void WriteEmptyLedger(const std::filesystem::path& path);

// A ledger as an older rlvr might have left it: attempts but no meta table.
void WriteLedgerWithoutMeta(const std::filesystem::path& path);

// A ledger whose meta says schema_version = `version`.
void WriteLedgerWithVersion(const std::filesystem::path& path, const std::string& version);

// The primary benchmark of a fixture target: BM_Gemm/1024 for gemm, BM_<Target>/4096 otherwise.
std::string FixturePrimary(const std::string& target);

// baselines/<target>.json for each target; gemm gets a GFLOPS counter with OpenBLAS and peak FMA
// references in GFLOPS; other targets a memory-bandwidth reference in GB/s only.
void WriteFixtureBaselines(const std::filesystem::path& baselines_dir,
                           const std::vector<std::string>& targets);

// rlvr.json naming each target's primary benchmark.
void WriteFixtureConfig(const std::filesystem::path& path, const std::vector<std::string>& targets);

}  // namespace rlvr
