#include "harness/bench/baseline.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/bench/stats.h"

namespace rlvr {

namespace {

using nlohmann::json;

json EntryToJson(const BaselineEntry& entry, bool with_samples) {
  json j = {{"median_ns", entry.median_ns}, {"counters", entry.counters}};
  if (with_samples) j["samples_ns"] = entry.samples_ns;
  return j;
}

std::map<std::string, BaselineEntry> EntriesFromJson(const json& j, const std::string& field) {
  std::map<std::string, BaselineEntry> entries;
  if (!j.contains(field)) return entries;
  if (!j[field].is_object()) throw BaselineError(fmt::format("{}: not an object", field));
  for (const auto& [name, value] : j[field].items()) {
    BaselineEntry entry;
    if (!value.is_object() || !value.contains("median_ns") || !value["median_ns"].is_number()) {
      throw BaselineError(fmt::format("{}.{}: missing number median_ns", field, name));
    }
    entry.median_ns = value["median_ns"].get<double>();
    if (value.contains("samples_ns")) {
      entry.samples_ns = value["samples_ns"].get<std::vector<double>>();
    }
    if (value.contains("counters")) {
      entry.counters = value["counters"].get<std::map<std::string, double>>();
    }
    entries[name] = std::move(entry);
  }
  return entries;
}

// Value of `key:TYPE=value` in a CMakeCache.txt.
std::string CacheValue(const std::string& cache, const std::string& key) {
  std::istringstream lines(cache);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + ":", 0) == 0) {
      size_t eq = line.find('=');
      if (eq != std::string::npos) return line.substr(eq + 1);
    }
  }
  return "";
}

// "g++ (Debian 12.2.0-14) 12.2.0" -> "g++ 12.2.0"; other first lines are kept whole.
std::string CompilerName(const std::string& version_output) {
  std::string first = version_output.substr(0, version_output.find('\n'));
  size_t paren = first.find(" (");
  size_t last_space = first.rfind(' ');
  if (paren != std::string::npos && last_space != std::string::npos && last_space > paren) {
    return first.substr(0, paren) + first.substr(last_space);
  }
  return first;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string model = "unknown CPU";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) model = line.substr(colon + 2);
      break;
    }
  }
  return fmt::format("{} ({} cores)", model, std::thread::hardware_concurrency());
}

}  // namespace

json Baseline::ToJson() const {
  json j = {{"version", version},        {"target", target},
            {"commit", commit},          {"recorded_at", recorded_at},
            {"compiler", host.compiler}, {"flags", host.flags},
            {"cpu", host.cpu},           {"metric", metric}};
  j["benchmarks"] = json::object();
  for (const auto& [name, entry] : benchmarks) j["benchmarks"][name] = EntryToJson(entry, true);
  j["references"] = json::object();
  for (const auto& [name, entry] : references) j["references"][name] = EntryToJson(entry, false);
  return j;
}

Baseline Baseline::FromJson(const json& j) {
  if (!j.is_object()) throw BaselineError("not a JSON object");
  Baseline b;
  try {
    b.version = j.value("version", 0);
    if (b.version != 1) throw BaselineError(fmt::format("version {} (expected 1)", b.version));
    if (!j.contains("target") || !j["target"].is_string()) {
      throw BaselineError("missing string field target");
    }
    b.target = j["target"].get<std::string>();
    b.commit = j.value("commit", "");
    b.recorded_at = j.value("recorded_at", "");
    b.host.compiler = j.value("compiler", "");
    b.host.flags = j.value("flags", "");
    b.host.cpu = j.value("cpu", "");
    b.metric = j.value("metric", "real_time");
    b.benchmarks = EntriesFromJson(j, "benchmarks");
    b.references = EntriesFromJson(j, "references");
  } catch (const json::exception& e) {
    throw BaselineError(fmt::format("wrong type: {}", e.what()));
  }
  return b;
}

std::filesystem::path BaselinePath(const std::filesystem::path& repo_root,
                                   const std::string& target) {
  return repo_root / "baselines" / (target + ".json");
}

Baseline ReadBaselineFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw BaselineError(fmt::format("cannot read baseline {}", path.string()));
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    throw BaselineError(fmt::format("baseline {} is not valid JSON", path.string()));
  }
  try {
    return Baseline::FromJson(j);
  } catch (const BaselineError& e) {
    throw BaselineError(fmt::format("baseline {}: {}", path.string(), e.what()));
  }
}

void WriteBaselineFile(const std::filesystem::path& path, const Baseline& baseline) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  auto temp = path;
  temp += fmt::format(".tmp.{}", getpid());
  {
    std::ofstream out(temp, std::ios::trunc);
    out << baseline.ToJson().dump(2) << "\n";
    out.flush();
    if (!out) {
      std::filesystem::remove(temp, ec);
      throw BaselineError(fmt::format("cannot write {}", temp.string()));
    }
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp, ec);
    throw BaselineError(fmt::format("cannot replace {}: {}", path.string(), ec.message()));
  }
}

HostFacts CurrentHostFacts(const std::filesystem::path& build_dir) {
  HostFacts facts;
  facts.cpu = CpuModel();
  std::string cache = build_dir.empty() ? "" : ReadFileText(build_dir / "CMakeCache.txt");
  std::string compiler = CacheValue(cache, "CMAKE_CXX_COMPILER");
  if (compiler.empty()) compiler = "c++";
  ProcessResult version = RunProcess({compiler, "--version"});
  facts.compiler = version.ok() ? CompilerName(version.out) : compiler;
  std::string build_type = CacheValue(cache, "CMAKE_BUILD_TYPE");
  std::string upper;
  for (char c : build_type) upper += char(std::toupper(static_cast<unsigned char>(c)));
  std::vector<std::string> flags;
  for (const std::string& value :
       {CacheValue(cache, "CMAKE_CXX_FLAGS"), CacheValue(cache, "CMAKE_CXX_FLAGS_" + upper)}) {
    if (!value.empty()) flags.push_back(value);
  }
  std::string native = CacheValue(cache, "RLVR_NATIVE");
  if (native == "ON" || native == "TRUE" || native == "1") flags.push_back("-march=native");
  facts.flags = fmt::format("{}", fmt::join(flags, " "));
  return facts;
}

std::string DescribeDrift(const HostFacts& stored, const HostFacts& current) {
  std::vector<std::string> changes;
  auto compare = [&](const char* what, const std::string& a, const std::string& b) {
    if (a != b) changes.push_back(fmt::format("{}: {} -> {}", what, a.empty() ? "?" : a, b));
  };
  compare("cpu", stored.cpu, current.cpu);
  compare("compiler", stored.compiler, current.compiler);
  compare("flags", stored.flags, current.flags);
  return fmt::format("{}", fmt::join(changes, "; "));
}

BaselineMeasurement MeasureBaseline(const std::vector<std::string>& bench_command,
                                    const Target& target, int rounds,
                                    const BenchRunSettings& settings, BenchMetric metric,
                                    const RunOptions& options) {
  BaselineMeasurement m;
  m.baseline.target = target.name;
  m.baseline.metric = BenchMetricName(metric);
  BenchRunSettings run_settings = settings;
  run_settings.filter = FilterWithNames(target.benchmarks, target.references);
  std::map<std::string, BaselineEntry> entries;
  for (int round = 0; round < rounds; ++round) {
    BenchmarkOutput output = RunBenchmarkOnce(bench_command, run_settings, options);
    if (!output.ok) {
      m.message = fmt::format("baseline benchmark run {} failed: {}", round + 1, output.message);
      return m;
    }
    for (const auto& sample : output.benchmarks) {
      BaselineEntry& entry = entries[sample.name];
      entry.samples_ns.push_back(MetricOf(sample, metric));
      entry.counters = sample.counters;
    }
  }
  for (auto& [name, entry] : entries) {
    entry.median_ns = MedianOf(entry.samples_ns);
    bool reference = std::find(target.references.begin(), target.references.end(), name) !=
                     target.references.end();
    if (reference) {
      entry.samples_ns.clear();
      m.baseline.references[name] = std::move(entry);
    } else {
      m.baseline.benchmarks[name] = std::move(entry);
    }
  }
  for (const auto& name : target.primary) {
    if (!m.baseline.benchmarks.count(name)) {
      m.message =
          fmt::format("primary benchmark {} did not run (filter '{}')", name, run_settings.filter);
      return m;
    }
  }
  m.ok = rounds > 0;
  if (!m.ok) m.message = "no rounds requested";
  return m;
}

}  // namespace rlvr
