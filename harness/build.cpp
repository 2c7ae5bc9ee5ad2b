#include "harness/build.h"

#include <sstream>

#include <fmt/format.h>

#include "harness/process.h"

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
  return options;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

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
  fs::create_directories(request.build_dir, ec);
  outcome.ok = true;
  if (fs::exists(request.build_dir / "CMakeCache.txt")) return outcome;
  std::vector<std::string> argv = {"cmake", "-S", request.source_dir.string(), "-B",
                                   request.build_dir.string()};
  argv.insert(argv.end(), request.configure_args.begin(), request.configure_args.end());
  ProcessResult configure = RunProcess(argv, options);
  outcome.seconds = configure.wall_seconds;
  if (!configure.ok()) {
    // A half-written cache would make the next build skip configuring: remove it.
    fs::remove(request.build_dir / "CMakeCache.txt", ec);
    outcome.ok = false;
    outcome.message = "cmake configure failed: " + configure.Describe();
    outcome.detail = FirstErrorLines(configure.out + configure.err);
  }
  return outcome;
}

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
  ProcessResult build = RunProcess(argv, options);
  outcome.seconds += build.wall_seconds;
  if (!build.ok()) {
    std::string log = build.out + build.err;
    outcome.message = build.timed_out ? "build " + build.Describe() : "build failed";
    outcome.detail = FirstErrorLines(log);
    // Name the first file with an error in the one-line message.
    for (const auto& line : SplitLines(outcome.detail)) {
      size_t at = line.find(": error:");
      if (at != std::string::npos) {
        outcome.message = "compile error: " + line.substr(0, 240);
        break;
      }
    }
    return outcome;
  }
  outcome.ok = true;
  outcome.message = "built";
  return outcome;
}

}  // namespace rlvr
