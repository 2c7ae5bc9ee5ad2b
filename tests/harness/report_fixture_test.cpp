// The report fixture generator (declared in report_fixture.h; defined in a *_test.cpp because
// tests/CMakeLists.txt compiles only those) and tests that what it writes is what it says.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

#include "harness/base/utc_time.h"
#include "harness/report/data.h"
#include "tests/harness/report_fixture.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs(
  id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, model TEXT, endpoint TEXT,
  settings_json TEXT, stop_reason TEXT, pid INTEGER);
CREATE TABLE attempts(
  id INTEGER PRIMARY KEY,
  run_id INTEGER REFERENCES runs(id),
  created_at TEXT NOT NULL,
  target TEXT NOT NULL,
  model TEXT,
  round INTEGER, candidate INTEGER, repair INTEGER NOT NULL DEFAULT 0,
  prompt TEXT, reply TEXT, patch TEXT,
  verdict TEXT NOT NULL,
  failed_gate TEXT,
  message TEXT,
  gates_json TEXT,
  figures_json TEXT,
  primary_ratio REAL,
  prompt_tokens INTEGER, completion_tokens INTEGER,
  seconds REAL,
  promoted_commit TEXT);
CREATE INDEX attempts_target_time ON attempts(target, created_at);
)sql";

class Db {
 public:
  explicit Db(const fs::path& path) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    fs::remove(path, ec);
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      throw std::runtime_error("fixture: cannot create " + path.string());
    }
  }
  ~Db() { sqlite3_close(db_); }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "?";
      sqlite3_free(error);
      throw std::runtime_error("fixture: " + message);
    }
  }
  sqlite3* get() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

struct Insert {
  Insert(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr); }
  ~Insert() { sqlite3_finalize(stmt); }
  void Text(int i, const std::string& value) {
    sqlite3_bind_text(stmt, i, value.c_str(), -1, SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t value) { sqlite3_bind_int64(stmt, i, value); }
  void Real(int i, double value) { sqlite3_bind_double(stmt, i, value); }
  void Null(int i) { sqlite3_bind_null(stmt, i); }
  void Run() {
    if (sqlite3_step(stmt) != SQLITE_DONE) throw std::runtime_error("fixture: insert failed");
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
  sqlite3_stmt* stmt = nullptr;
};

struct GateFailure {
  const char* gate;
  int weight;
  const char* message;  // {n} is replaced by a random number
};

// Roughly what an overnight loop sees: most candidates fail to build or to pass tests; many
// compile and test fine but are not faster.
const GateFailure kFailures[] = {
    {"llm", 3, "endpoint returned HTTP 503 after {n} retries"},
    {"scope", 2, "patch touches kernels/reference/gemm_ref.cpp, which is not editable"},
    {"apply", 8, "hunk {n} of kernels/gemm.cpp did not apply at line {n}"},
    {"format", 4, "clang-format would change {n} lines"},
    {"build", 26, "kernels/gemm.cpp:{n}:{n}: error: 'vpack' was not declared in this scope"},
    {"build", 6, "kernels/gemm.cpp:{n}:{n}: error: expected ';' before '}' token"},
    {"build", 2, "error: template argument <script>alert(1)</script> invalid"},
    {"tests", 14, "GemmTest.RandomShapes/{n} failed: max abs error {n}.{n}e-2 > 1e-4"},
    {"tests", 3, "LinearTest.Bias failed: expected <img src=x onerror=alert(1)> got NaN"},
    {"sanitizers", 3, "AddressSanitizer: heap-buffer-overflow on address 0x{n}"},
    {"allocations", 2, "Gemm allocated {n} times in the measured loop"},
    {"benchmark", 18, "BM_Gemm/1024 ratio 0.{n} not better than the 3% threshold (p={n}.{n})"},
};

std::string FillNumbers(const std::string& pattern, std::mt19937_64& random) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.compare(i, 3, "{n}") == 0) {
      out += std::to_string(random() % 400 + 1);
      i += 2;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

std::string Reply(int i, bool hostile) {
  std::string reply =
      "I will block the inner loop by 8 to keep the accumulators in registers.\n"
      "```diff\n--- a/kernels/gemm.cpp\n+++ b/kernels/gemm.cpp\n@@ -10,3 +10,5 @@\n"
      "-  for (int k = 0; k < K; ++k) {\n+  for (int k = 0; k < K; k += 8) {\n```\n";
  if (hostile) {
    reply += std::string("Note: ") + kHostileScript + " and " + kHostileImage + " attempt " +
             std::to_string(i) + "\n";
  }
  return reply;
}

std::string Patch(const std::string& target, int n) {
  return "--- a/kernels/" + target + ".cpp\n+++ b/kernels/" + target +
         ".cpp\n@@ -40,7 +40,9 @@ void Kernel(const float* a, float* c) {\n"
         "   // blocking step " +
         std::to_string(n) +
         "\n-  for (int i = 0; i < n; ++i) {\n-    c[i] += a[i];\n+  for (int i = 0; i + 8 <= n; i "
         "+= 8) "
         "{\n+    // unrolled by 8 </script><script>document.title='PWNED'</script>\n"
         "+    Accumulate8(a + i, c + i);\n   }\n";
}

std::string Figures(const std::string& target, double baseline_ns, double ratio,
                    std::mt19937_64& random) {
  nlohmann::json figures = {{"metric", "real_time"}, {"benchmarks", nlohmann::json::array()}};
  double width = 0.005 + (random() % 100) / 10000.0;
  figures["benchmarks"].push_back({{"name", FixturePrimary(target)},
                                   {"baseline_ns", baseline_ns},
                                   {"candidate_ns", baseline_ns * ratio},
                                   {"ratio", ratio},
                                   {"ci_low", ratio - width},
                                   {"ci_high", ratio + width},
                                   {"p_value", 0.0004}});
  figures["benchmarks"].push_back({{"name", "BM_" + target + "_small/64"},
                                   {"baseline_ns", 2000.0},
                                   {"candidate_ns", 1980.0},
                                   {"ratio", 0.99},
                                   {"ci_low", 0.97},
                                   {"ci_high", 1.01},
                                   {"p_value", 0.4}});
  return figures.dump();
}

void WriteJson(const fs::path& path, const nlohmann::json& value) {
  std::ofstream(path) << value.dump(2) << "\n";
}

}  // namespace

std::string FixturePrimary(const std::string& target) {
  if (target == "gemm") return "BM_Gemm/1024";
  std::string name = target;
  if (!name.empty()) name[0] = static_cast<char>(std::toupper(name[0]));
  return "BM_" + name + "/4096";
}

void WriteEmptyLedger(const fs::path& path) {
  Db db(path);
  db.Exec(kSchemaV1);
  db.Exec("INSERT INTO meta VALUES ('schema_version', '1')");
}

void WriteLedgerWithoutMeta(const fs::path& path) {
  Db db(path);
  db.Exec("CREATE TABLE attempts(id INTEGER PRIMARY KEY, target TEXT, verdict TEXT)");
  db.Exec("INSERT INTO attempts(target, verdict) VALUES ('gemm', 'failed')");
}

void WriteLedgerWithVersion(const fs::path& path, const std::string& version) {
  Db db(path);
  db.Exec(kSchemaV1);
  db.Exec("INSERT INTO meta VALUES ('schema_version', '" + version + "')");
}

FixtureLedger WriteFixtureLedger(const fs::path& path, const FixtureLedgerOptions& options) {
  Db db(path);
  db.Exec(kSchemaV1);
  db.Exec("INSERT INTO meta VALUES ('schema_version', '1')");
  db.Exec("BEGIN");
  std::mt19937_64 random(options.seed);
  FixtureLedger written;
  int64_t start = ParseUtcTime(options.start).value();
  int runs = std::max(options.runs, 1);
  int per_run = (options.attempts + runs - 1) / runs;
  Insert run_insert(db.get(),
                    "INSERT INTO runs(id, started_at, finished_at, model, endpoint, settings_json, "
                    "stop_reason, pid) VALUES (?1, ?2, ?3, 'qwen2.5-coder-32b', "
                    "'http://127.0.0.1:8080/v1', '{}', 'budget', 4242)");
  for (int r = 0; r < runs; ++r) {
    int64_t run_start = start + int64_t(r) * per_run * options.seconds_between_attempts + r * 7200;
    run_insert.Int(1, r + 1);
    run_insert.Text(2, FormatUtcTime(run_start));
    run_insert.Text(3,
                    FormatUtcTime(run_start + int64_t(per_run) * options.seconds_between_attempts));
    run_insert.Run();
  }
  written.last_run_id = runs;

  int total_weight = 0;
  for (const GateFailure& failure : kFailures) total_weight += failure.weight;
  // Promotions at evenly spaced attempt numbers, alternating targets.
  int targets = static_cast<int>(options.targets.size());
  int promotions = std::min(options.promotions_per_target * targets, options.attempts / 3);
  std::map<int, std::string> promotion_at;
  for (int p = 0; p < promotions; ++p) {
    promotion_at[(p + 1) * options.attempts / (promotions + 1)] = options.targets[p % targets];
  }
  std::map<std::string, double> time_ns;
  for (const std::string& target : options.targets) {
    time_ns[target] = target == "gemm" ? 1.6e7 : 9.0e4;
    written.first_baseline_ns[target] = time_ns[target];
  }

  Insert insert(db.get(),
                "INSERT INTO attempts(id, run_id, created_at, target, model, round, candidate, "
                "repair, prompt, reply, patch, verdict, failed_gate, message, gates_json, "
                "figures_json, primary_ratio, prompt_tokens, completion_tokens, seconds, "
                "promoted_commit) VALUES (?1, ?2, ?3, ?4, 'qwen2.5-coder-32b', ?5, ?6, ?7, ?8, ?9, "
                "?10, ?11, ?12, ?13, '[]', ?14, ?15, ?16, ?17, ?18, ?19)");
  for (int i = 0; i < options.attempts; ++i) {
    int run = std::min(i / per_run, runs - 1);
    int64_t t = start + int64_t(i) * options.seconds_between_attempts + run * 7200 +
                static_cast<int64_t>(random() % 20);
    std::string created_at = FormatUtcTime(t);
    auto promoted = promotion_at.find(i);
    std::string target =
        promoted != promotion_at.end() ? promoted->second : options.targets[random() % targets];
    int64_t prompt_tokens = 3000 + static_cast<int64_t>(random() % 3000);
    int64_t completion_tokens = 200 + static_cast<int64_t>(random() % 1500);
    double seconds = 20 + (random() % 900) / 10.0;
    bool hostile = i % 7 == 0;
    insert.Int(1, i + 1);
    insert.Int(2, run + 1);
    insert.Text(3, created_at);
    insert.Text(4, target);
    insert.Int(5, i / 4 + 1);
    insert.Int(6, i % 4);
    insert.Int(7, random() % 5 == 0 ? 1 : 0);
    insert.Text(8, "Make " + target + " faster. Context follows...");
    insert.Text(9, Reply(i, hostile));
    insert.Int(16, prompt_tokens);
    insert.Int(17, completion_tokens);
    insert.Real(18, seconds);
    std::string verdict, gate, message;
    if (promoted != promotion_at.end()) {
      verdict = "promoted";
      double ratio = 0.82 + (random() % 120) / 1000.0;
      double baseline = time_ns[target];
      time_ns[target] = baseline * ratio;
      written.promotions[target].push_back({i + 1, created_at, ratio});
      std::string commit;
      for (int k = 0; k < 40; ++k) commit += "0123456789abcdef"[random() % 16];
      insert.Text(10, Patch(target, i));
      insert.Text(14, Figures(target, baseline, ratio, random));
      insert.Real(15, ratio);
      insert.Text(19, commit);
      message = "promoted: " + FixturePrimary(target) + " ratio " + std::to_string(ratio);
    } else if (random() % 50 == 0) {
      verdict = "passed";
      insert.Text(10, Patch(target, i));
      insert.Real(15, 0.95);
      message = "all gates passed; another candidate of the round was promoted";
    } else {
      int pick = static_cast<int>(random() % total_weight);
      const GateFailure* failure = &kFailures[0];
      for (const GateFailure& candidate : kFailures) {
        if (pick < candidate.weight) {
          failure = &candidate;
          break;
        }
        pick -= candidate.weight;
      }
      gate = failure->gate;
      verdict = gate == "llm" ? "error" : "failed";
      message = FillNumbers(failure->message, random);
      if (hostile && gate == "build") message += std::string(" ") + kHostileImage;
      if (gate != "llm" && gate != "scope" && gate != "apply") insert.Text(10, Patch(target, i));
      if (gate == "benchmark") insert.Real(15, 0.98 + (random() % 60) / 1000.0);
    }
    insert.Text(11, verdict);
    if (gate.empty()) {
      insert.Null(12);
    } else {
      insert.Text(12, gate);
    }
    insert.Text(13, message);
    insert.Run();

    ++written.attempts;
    ++written.by_verdict[verdict];
    ++written.by_category[verdict == "promoted" || verdict == "passed" ? verdict : gate];
    written.created_at.push_back(created_at);
    written.tokens += prompt_tokens + completion_tokens;
    if (run + 1 == runs) ++written.last_run_attempts;
  }
  db.Exec("COMMIT");
  return written;
}

void WriteFixtureBaselines(const fs::path& baselines_dir, const std::vector<std::string>& targets) {
  fs::create_directories(baselines_dir);
  for (const std::string& target : targets) {
    nlohmann::json baseline = {{"version", 1},
                               {"target", target},
                               {"commit", "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b"},
                               {"recorded_at", "2026-11-23T06:00:00Z"},
                               {"compiler", "g++ 12.2.0"},
                               {"flags", "-O3 -march=native"},
                               {"cpu", "AMD Zen 5 (2 cores)"},
                               {"metric", "real_time"}};
    if (target == "gemm") {
      baseline["benchmarks"] = {{"BM_Gemm/1024",
                                 {{"median_ns", 8.0e6},
                                  {"samples_ns", {8.0e6, 8.1e6}},
                                  {"counters", {{"GFLOPS", 268.4}}}}}};
      baseline["references"] = {
          {"BM_OpenBlasSgemm/1024", {{"median_ns", 5.4e6}, {"counters", {{"GFLOPS", 397.7}}}}},
          {"BM_PeakFma", {{"median_ns", 1.0e6}, {"counters", {{"GFLOPS", 512.0}}}}}};
    } else {
      baseline["benchmarks"] = {
          {FixturePrimary(target), {{"median_ns", 5.0e4}, {"samples_ns", {5.0e4, 5.1e4}}}}};
      baseline["references"] = {
          {"BM_MemBandwidth", {{"median_ns", 1.0e6}, {"counters", {{"GB/s", 61.5}}}}}};
    }
    WriteJson(baselines_dir / (target + ".json"), baseline);
  }
}

void WriteFixtureConfig(const fs::path& path, const std::vector<std::string>& targets) {
  nlohmann::json config = {{"targets", nlohmann::json::array()}};
  for (const std::string& target : targets) {
    config["targets"].push_back({{"name", target}, {"primary", {FixturePrimary(target)}}});
  }
  WriteJson(path, config);
}

namespace {

fs::path TempDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() /
                 ("rlvr_report_fixture_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(ReportFixture, WritesRequestedAttemptsWithRealisticMix) {
  fs::path dir = TempDir("mix");
  FixtureLedgerOptions options;
  options.attempts = 2000;
  FixtureLedger written = WriteFixtureLedger(dir / "ledger.sqlite", options);
  EXPECT_EQ(written.attempts, 2000);
  EXPECT_EQ(written.by_verdict["promoted"], 8);
  EXPECT_GT(written.by_category["build"], 400);  // the most common failure
  EXPECT_GT(written.by_category["benchmark"], 200);
  EXPECT_GT(written.by_verdict["error"], 0);
  EXPECT_GT(written.by_verdict["passed"], 0);
  EXPECT_TRUE(std::is_sorted(written.created_at.begin(), written.created_at.end()));
  fs::remove_all(dir);
}

TEST(ReportFixture, SameSeedSameLedger) {
  fs::path dir = TempDir("seed");
  FixtureLedgerOptions options;
  options.attempts = 300;
  FixtureLedger a = WriteFixtureLedger(dir / "a.sqlite", options);
  FixtureLedger b = WriteFixtureLedger(dir / "b.sqlite", options);
  options.seed = 7;
  FixtureLedger c = WriteFixtureLedger(dir / "c.sqlite", options);
  EXPECT_EQ(a.by_category, b.by_category);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_NE(a.created_at, c.created_at);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace rlvr
