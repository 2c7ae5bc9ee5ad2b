// Stored baselines: baselines/<target>.json (format in DESIGN.md) — the measured times of the
// accepted state of a target's benchmarks and references, with the host facts (CPU, compiler,
// flags) they were measured on, so a later run can say when the machine or compiler drifted.
#pragma once

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/bench/run.h"

namespace rlvr {

class BaselineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct BaselineEntry {
  double median_ns = 0;
  std::vector<double> samples_ns;  // stored for benchmarks, not for references
  std::map<std::string, double> counters;
};

// Where and with what a measurement was made.
struct HostFacts {
  std::string cpu;       // "AMD EPYC 9R45 (2 cores)"
  std::string compiler;  // "g++ 12.2.0"
  std::string flags;     // "-O3 -DNDEBUG -march=native"
};

struct Baseline {
  int version = 1;
  std::string target;
  std::string commit;       // sha of the measured source
  std::string recorded_at;  // ISO 8601 UTC
  HostFacts host;
  std::string metric = "real_time";
  std::map<std::string, BaselineEntry> benchmarks;
  std::map<std::string, BaselineEntry> references;

  nlohmann::json ToJson() const;
  // Throws BaselineError naming the offending field.
  static Baseline FromJson(const nlohmann::json& json);
};

// <repo_root>/baselines/<target>.json
std::filesystem::path BaselinePath(const std::filesystem::path& repo_root,
                                   const std::string& target);

// Throws BaselineError ("cannot read ...", "... is not valid JSON: ...", "...: missing field x").
Baseline ReadBaselineFile(const std::filesystem::path& path);

// Atomic: writes a temporary file beside `path`, then renames it over. Creates the directory.
void WriteBaselineFile(const std::filesystem::path& path, const Baseline& baseline);

// Facts of this machine; the compiler and flags come from `build_dir`'s CMakeCache.txt when it
// has one (else `c++ --version`).
HostFacts CurrentHostFacts(const std::filesystem::path& build_dir = {});

// Empty when the facts agree; otherwise e.g. "compiler: g++ 12.2.0 -> clang++ 14.0.6".
std::string DescribeDrift(const HostFacts& stored, const HostFacts& current);

struct BaselineMeasurement {
  bool ok = false;
  std::string message;
  Baseline baseline;  // target, host facts, metric and figures; commit/recorded_at left to caller
};

// Runs the target's benchmarks and references `rounds` times (separate processes) and records
// medians and samples.
BaselineMeasurement MeasureBaseline(const std::vector<std::string>& bench_command,
                                    const Target& target, int rounds,
                                    const BenchRunSettings& settings, BenchMetric metric,
                                    const RunOptions& options);

}  // namespace rlvr
