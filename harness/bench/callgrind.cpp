#include "harness/bench/callgrind.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "harness/base/file_text.h"

namespace rlvr {

std::optional<uint64_t> ParseCallgrindTotal(const std::string& text) {
  std::istringstream lines(text);
  std::optional<uint64_t> total;
  for (std::string line; std::getline(lines, line);) {
    for (const char* key : {"summary:", "totals:"}) {
      if (line.rfind(key, 0) == 0) {
        std::istringstream fields(line.substr(std::string_view(key).size()));
        uint64_t value = 0;
        if (fields >> value) total = value;
      }
    }
  }
  return total;
}

std::optional<uint64_t> CallgrindInstructions(const std::vector<std::string>& command,
                                              const std::string& filter, const RunOptions& options,
                                              std::string* error) {
  auto out_file = std::filesystem::temp_directory_path() /
                  fmt::format("rlvr_callgrind_{}_{}.out", getpid(), std::rand());
  std::vector<std::string> argv = {"valgrind", "--tool=callgrind", "--quiet",
                                   "--callgrind-out-file=" + out_file.string()};
  argv.insert(argv.end(), command.begin(), command.end());
  argv.push_back("--benchmark_filter=" + filter);
  argv.push_back("--benchmark_min_time=0.000001");  // one timing pass: a fixed iteration count
  argv.push_back("--benchmark_repetitions=1");
  RunOptions run_options = options;
  run_options.limits.memory_bytes = 0;  // valgrind reserves large address ranges
  ProcessResult result = RunProcess(argv, run_options);
  std::string text = ReadFileText(out_file);
  std::filesystem::remove(out_file);
  if (!result.ok()) {
    if (error) *error = fmt::format("callgrind run failed: {}: {}", result.Describe(), result.err);
    return std::nullopt;
  }
  auto total = ParseCallgrindTotal(text);
  if (!total && error) *error = "callgrind output has no total";
  return total;
}

}  // namespace rlvr
