#include "harness/candidate/build.h"

#include <fstream>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/candidate/diagnostics.h"
#include "harness/candidate/machine_fault.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

RunOptions BuildRunOptions(const BuildRequest& request) {
  RunOptions options;
  options.cwd = request.source_dir;
  options.limits.wall_seconds = request.timeout_seconds;
  // Compilers of large TUs need room; ASan binaries run by a build step need no limit at all.
  options.limits.memory_bytes = request.sanitizer ? 0 : size_t{16} << 30;
  options.limits.file_size_bytes = size_t{4} << 30;
  options.limits.no_network = true;
  // Colour codes would clutter the verdict.
  options.unset_env = {"CLICOLOR_FORCE", "GCC_COLORS"};
  for (const auto& [name, value] : request.env) options.env[name] = value;
  return options;
}

// A build's output as it may be shown: diagnostics in files outside the tree being built, its build
// dir and the system's headers omitted (candidate/diagnostics.h).
std::string RepositoryOutput(const BuildRequest& request, const std::string& output) {
  return KeepRepositoryDiagnostics(
      output, {fs::absolute(request.source_dir), fs::absolute(request.build_dir)});
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// What a build dir was configured with; kConfigureStampName holds it as JSON.
struct ConfigureStamp {
  std::string source_dir;  // canonical, what `cmake -S` was given
  std::string build_dir;   // canonical
  std::vector<std::string> configure_args;
  std::string cmake_version;
};

// A path as the file system resolves it (symbolic links, "..") so that /tmp/x and its real path
// compare equal; a path that no longer exists is kept as far as it resolves.
std::string CanonicalPath(const fs::path& path) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) canonical = fs::absolute(path).lexically_normal();
  std::string text = canonical.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

// "cmake version 3.25.1" (the first line of `cmake --version`), asked once per process.
std::string CMakeVersion(const RunOptions& options) {
  static std::mutex mutex;
  static std::optional<std::string> version;
  std::lock_guard lock(mutex);
  if (!version) {
    RunOptions quick = options;
    quick.limits.wall_seconds = 30;
    ProcessResult result = RunProcess({"cmake", "--version"}, quick);
    std::string first = result.ok() ? result.out.substr(0, result.out.find('\n')) : "";
    version = first;
  }
  return *version;
}

ConfigureStamp WantedStamp(const BuildRequest& request) {
  return {CanonicalPath(request.CMakeSourceDir()), CanonicalPath(request.build_dir),
          request.configure_args, CMakeVersion(BuildRunOptions(request))};
}

std::optional<ConfigureStamp> ReadStamp(const fs::path& build_dir) {
  std::string text = ReadFileText(build_dir / kConfigureStampName);
  if (text.empty()) return std::nullopt;
  try {
    nlohmann::json json = nlohmann::json::parse(text);
    return ConfigureStamp{json.at("source_dir").get<std::string>(),
                          json.at("build_dir").get<std::string>(),
                          json.at("configure_args").get<std::vector<std::string>>(),
                          json.at("cmake_version").get<std::string>()};
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged stamp says nothing: reconfigure
  }
}

bool WriteStamp(const fs::path& build_dir, const ConfigureStamp& stamp) {
  nlohmann::json json = {{"source_dir", stamp.source_dir},
                         {"build_dir", stamp.build_dir},
                         {"configure_args", stamp.configure_args},
                         {"cmake_version", stamp.cmake_version}};
  fs::path temporary = build_dir / (std::string(kConfigureStampName) + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << json.dump(2) << "\n";
    if (!out.flush()) return false;
  }
  std::error_code ec;
  fs::rename(temporary, build_dir / kConfigureStampName, ec);
  return !ec;
}

// The value of `NAME:TYPE=value` in a CMakeCache.txt; empty when absent.
std::string CacheValue(const std::string& cache, const std::string& name) {
  std::istringstream in(cache);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(name + ":")) continue;
    size_t equals = line.find('=');
    if (equals == std::string::npos) continue;
    std::string value = line.substr(equals + 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
    return value;
  }
  return "";
}

std::string JoinArgs(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& arg : args) out += (out.empty() ? "" : " ") + arg;
  if (out.empty()) out = "none";
  if (out.size() > 200) out = out.substr(0, 200) + " ...";
  return out;
}

}  // namespace

fs::path BuildRequest::CMakeSourceDir() const {
  return source_subdir.empty() ? source_dir : source_dir / source_subdir;
}

std::string StaleBuildReason(const BuildRequest& request) {
  const std::string cache = ReadFileText(request.build_dir / "CMakeCache.txt");
  if (cache.empty() && !fs::exists(request.build_dir / "CMakeCache.txt")) return "";
  const ConfigureStamp wanted = WantedStamp(request);
  // The cache itself says where it belongs; cmake refuses a cache made for another build dir,
  // and builds the old tree from one made for another source dir.
  const std::string home = CacheValue(cache, "CMAKE_HOME_DIRECTORY");
  if (!home.empty() && CanonicalPath(home) != wanted.source_dir)
    return fmt::format("reconfigured: the build dir was configured for source {}, not {}", home,
                       wanted.source_dir);
  const std::string cache_dir = CacheValue(cache, "CMAKE_CACHEFILE_DIR");
  if (!cache_dir.empty() && CanonicalPath(cache_dir) != wanted.build_dir)
    return fmt::format("reconfigured: the build dir was moved or copied from {}", cache_dir);
  const std::optional<ConfigureStamp> recorded = ReadStamp(request.build_dir);
  if (!recorded)
    return fmt::format("reconfigured: the build dir has no record ({}) of how it was configured",
                       kConfigureStampName);
  if (recorded->source_dir != wanted.source_dir)
    return fmt::format("reconfigured: the source dir changed (was {})", recorded->source_dir);
  if (recorded->build_dir != wanted.build_dir)
    return fmt::format("reconfigured: the build dir was moved or copied from {}",
                       recorded->build_dir);
  if (recorded->configure_args != wanted.configure_args)
    return fmt::format("reconfigured: configure_args changed (were: {}; now: {})",
                       JoinArgs(recorded->configure_args), JoinArgs(wanted.configure_args));
  if (recorded->cmake_version != wanted.cmake_version)
    return fmt::format("reconfigured: cmake changed (was {}, now {})", recorded->cmake_version,
                       wanted.cmake_version);
  return "";
}

std::string TargetNameOf(const std::string& binary_path) {
  return fs::path(binary_path).filename().string();
}

std::string FirstErrorLines(const std::string& log, int max_lines) {
  std::vector<std::string> lines = SplitLines(log);
  size_t first = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.find("error:") != std::string::npos || line.find("Error:") != std::string::npos ||
        line.find("CMake Error") != std::string::npos ||
        line.find("undefined reference") != std::string::npos || line.rfind("FAILED:", 0) == 0) {
      // Prefer the compiler's own line over ninja's "FAILED:" command echo.
      first = i;
      if (line.rfind("FAILED:", 0) == 0) continue;
      break;
    }
  }
  size_t start = first;
  if (first == lines.size())
    start = lines.size() > size_t(max_lines) ? lines.size() - max_lines : 0;
  // Include the "In function ..." context line just before a compiler error.
  if (first != lines.size() && start > 0 && lines[start - 1].find(": In ") != std::string::npos)
    --start;
  std::string out;
  for (size_t i = start; i < lines.size() && i < start + size_t(max_lines); ++i) {
    std::string line = lines[i];
    if (line.size() > 300) line = line.substr(0, 300) + " ...";
    out += line + "\n";
  }
  return out;
}

BuildOutcome Configure(const BuildRequest& request) {
  BuildOutcome outcome;
  RunOptions options = BuildRunOptions(request);
  std::error_code ec;
  const fs::path cache = request.build_dir / "CMakeCache.txt";
  if (fs::exists(cache)) {
    outcome.reconfigured = StaleBuildReason(request);
    if (outcome.reconfigured.empty()) {
      outcome.ok = true;
      return outcome;
    }
    // Wipe, not just delete the cache: objects, generated files and ninja's logs of the old
    // configuration must not leak into the new one. Only a dir holding a CMake cache is wiped.
    fs::remove_all(request.build_dir, ec);
    if (ec) {
      outcome.message = fmt::format("{}, but the stale build dir {} cannot be removed: {}",
                                    outcome.reconfigured, request.build_dir.string(), ec.message());
      return outcome;
    }
  }
  fs::create_directories(request.build_dir, ec);
  fs::remove(request.build_dir / kConfigureStampName, ec);
  std::vector<std::string> argv = {"cmake", "-S", request.CMakeSourceDir().string(), "-B",
                                   request.build_dir.string()};
  argv.insert(argv.end(), request.configure_args.begin(), request.configure_args.end());
  ProcessResult configure = RunProcess(argv, options);
  outcome.seconds = configure.wall_seconds;
  if (!configure.ok()) {
    outcome.machine_fault = BuildMachineFault(configure, configure.out + configure.err);
    if (!outcome.machine_fault.empty()) NoteMachineFault(outcome.machine_fault);
    // A half-written cache would make the next build skip configuring: remove it.
    fs::remove(cache, ec);
    outcome.message = "cmake configure failed: " + configure.Describe();
    if (!request.source_subdir.empty() && !fs::exists(request.CMakeSourceDir() / "CMakeLists.txt"))
      outcome.message += fmt::format(" (no CMakeLists.txt in source_subdir \"{}\")",
                                     request.source_subdir.string());
    if (!outcome.reconfigured.empty()) outcome.message += "; " + outcome.reconfigured;
    outcome.detail = FirstErrorLines(RepositoryOutput(request, configure.out + configure.err));
    return outcome;
  }
  if (!WriteStamp(request.build_dir, WantedStamp(request))) {
    fs::remove(cache, ec);
    outcome.message = "cannot write " + (request.build_dir / kConfigureStampName).string();
    return outcome;
  }
  outcome.ok = true;
  outcome.message = outcome.reconfigured;
  return outcome;
}

namespace {

// Runs a build tool, adding its time to `outcome`. A compiler killed for memory may fit with one
// job at a time: then once more as `one_job_argv` / `one_job_options` say, before blaming the
// machine (never the candidate); a fault that stays is set in outcome.machine_fault and noted.
ProcessResult RunBuildTool(const std::vector<std::string>& argv, const RunOptions& options,
                           const std::vector<std::string>& one_job_argv,
                           const RunOptions& one_job_options, BuildOutcome& outcome) {
  ProcessResult build = RunProcess(argv, options);
  outcome.seconds += build.wall_seconds;
  std::string fault = build.ok() ? "" : BuildMachineFault(build, build.out + build.err);
  if (IsOutOfMemoryFault(fault)) {
    build = RunProcess(one_job_argv, one_job_options);
    outcome.seconds += build.wall_seconds;
    fault = build.ok() ? "" : BuildMachineFault(build, build.out + build.err);
    if (!fault.empty()) fault += " (also with one build job)";
  }
  if (!fault.empty()) {
    outcome.machine_fault = fault;
    NoteMachineFault(fault);
  }
  return build;
}

}  // namespace

BuildOutcome ConfigureAndBuild(const BuildRequest& request) {
  BuildOutcome outcome = Configure(request);
  if (!outcome.ok) return outcome;
  outcome.ok = false;
  RunOptions options = BuildRunOptions(request);
  std::vector<std::string> argv = {"cmake", "--build", request.build_dir.string(), "-j",
                                   std::to_string(request.jobs)};
  if (!request.targets.empty()) {
    argv.push_back("--target");
    argv.insert(argv.end(), request.targets.begin(), request.targets.end());
  }
  options.limits.wall_seconds = request.timeout_seconds;
  std::vector<std::string> one_job = argv;
  one_job[4] = "1";
  ProcessResult build = RunBuildTool(argv, options, one_job, options, outcome);
  if (!build.ok()) {
    std::string log = RepositoryOutput(request, build.out + build.err);
    outcome.message = build.timed_out ? "build " + build.Describe() : "build failed";
    outcome.timed_out = build.timed_out;
    const std::string reconfigured = outcome.reconfigured;
    outcome.detail = FirstErrorLines(log);
    // Name the first file with an error in the one-line message.
    for (const auto& line : SplitLines(outcome.detail)) {
      size_t at = line.find(": error:");
      if (at != std::string::npos) {
        outcome.message = "compile error: " + line.substr(0, 240);
        break;
      }
    }
    if (!reconfigured.empty()) outcome.message += "; " + reconfigured;
    return outcome;
  }
  outcome.ok = true;
  outcome.message = outcome.reconfigured.empty() ? "built" : "built; " + outcome.reconfigured;
  return outcome;
}

BuildOutcome RunBuildCommand(const BuildRequest& request, const std::vector<std::string>& command,
                             const std::vector<std::string>& artifacts) {
  BuildOutcome outcome;
  std::error_code ec;
  const std::vector<std::string> argv =
      ExpandCommand(command, CanonicalPath(request.source_dir), CanonicalPath(request.build_dir));
  const std::string wanted = nlohmann::json(argv).dump();
  const fs::path stamp = request.build_dir / kCommandStampName;
  if (fs::exists(stamp)) {
    if (ReadFileText(stamp) != wanted) {
      outcome.reconfigured = "rebuilt from scratch: the build command or the tree's path changed";
      fs::remove_all(request.build_dir, ec);
      if (ec) {
        outcome.message = fmt::format("the stale build dir {} cannot be removed: {}",
                                      request.build_dir.string(), ec.message());
        return outcome;
      }
    }
  } else if (fs::exists(request.build_dir) && !fs::is_empty(request.build_dir, ec)) {
    // Left by an unknown command: its objects must not count as built by this one.
    outcome.reconfigured = "rebuilt from scratch: the build dir had no record of its command";
    fs::remove_all(request.build_dir, ec);
  }
  fs::create_directories(request.build_dir, ec);
  fs::remove(stamp, ec);
  RunOptions options = BuildRunOptions(request);
  options.env["MAKEFLAGS"] = fmt::format("-j{}", request.jobs);
  RunOptions one_job = options;
  one_job.env["MAKEFLAGS"] = "-j1";
  ProcessResult build = RunBuildTool(argv, options, argv, one_job, outcome);
  if (!build.ok()) {
    outcome.message =
        fmt::format("build command `{}` failed: {}", JoinArgs(argv), build.Describe());
    outcome.detail = FirstErrorLines(RepositoryOutput(request, build.out + build.err));
    for (const auto& line : SplitLines(outcome.detail)) {
      size_t at = line.find(": error:");
      if (at != std::string::npos) {
        outcome.message = "compile error: " + line.substr(0, 240);
        break;
      }
    }
    if (!outcome.reconfigured.empty()) outcome.message += "; " + outcome.reconfigured;
    return outcome;
  }
  std::vector<std::string> missing;
  for (const auto& artifact : artifacts) {
    if (!fs::exists(request.build_dir / artifact)) missing.push_back(artifact);
  }
  if (!missing.empty()) {
    std::string names;
    for (const auto& name : missing) names += (names.empty() ? "" : ", ") + name;
    outcome.message = fmt::format("the build command succeeded but did not produce {} in {}", names,
                                  request.build_dir.string());
    return outcome;
  }
  std::ofstream stamp_out(stamp, std::ios::binary | std::ios::trunc);
  stamp_out << wanted;
  if (!stamp_out.flush()) {
    outcome.message = "cannot write " + stamp.string();
    return outcome;
  }
  outcome.ok = true;
  outcome.message = outcome.reconfigured.empty() ? "built" : "built; " + outcome.reconfigured;
  return outcome;
}

std::vector<std::string> MergeConfigureArgs(const std::vector<std::string>& base,
                                            const std::vector<std::string>& extra) {
  static const std::regex flags_re(R"(^-D([A-Za-z0-9_]*_FLAGS(?:_[A-Z]+)?)(:[A-Z]+)?=(.*)$)");
  std::vector<std::string> merged = base;
  for (const auto& arg : extra) {
    std::smatch added;
    bool appended = false;
    if (std::regex_match(arg, added, flags_re)) {
      for (auto& existing : merged) {
        std::smatch have;
        if (!std::regex_match(existing, have, flags_re) || have[1] != added[1]) continue;
        existing = fmt::format("-D{}{}={} {}", have[1].str(), have[2].str(), have[3].str(),
                               added[3].str());
        appended = true;
      }
    }
    if (!appended) merged.push_back(arg);
  }
  return merged;
}

BuildRequest ProjectBuild(const BuildConfig& config, const std::filesystem::path& source_dir,
                          const std::filesystem::path& build_dir,
                          const std::vector<std::string>& extra_args,
                          std::vector<std::string> targets, int jobs, double timeout_seconds,
                          bool sanitizer) {
  BuildRequest request;
  request.source_dir = source_dir;
  request.build_dir = build_dir;
  request.configure_args = MergeConfigureArgs(config.configure_args, extra_args);
  request.targets = std::move(targets);
  request.jobs = jobs;
  request.timeout_seconds = timeout_seconds;
  request.sanitizer = sanitizer;
  request.source_subdir = config.source_subdir;
  return request;
}

BuildOutcome BuildProject(const BuildConfig& config, const std::filesystem::path& source_dir,
                          const std::filesystem::path& build_dir, std::vector<std::string> targets,
                          int jobs, double timeout_seconds) {
  BuildRequest request =
      ProjectBuild(config, source_dir, build_dir, {}, std::move(targets), jobs, timeout_seconds);
  return config.UsesBuildCommand() ? RunBuildCommand(request, config.command, config.artifacts)
                                   : ConfigureAndBuild(request);
}

std::vector<std::string> BenchBinaryTarget(const BuildConfig& config) {
  if (config.bench_binary.empty()) return {};
  return {TargetNameOf(config.bench_binary)};
}

}  // namespace rlvr
