#include "harness/verify/preprocessor.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/base/process.h"
#include "harness/candidate/compile_commands.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

constexpr const char* kProbePrefix = ".rlvr-probe-";

}  // namespace

std::optional<ProbeCommand> ProbeCommandFor(const fs::path& build_dir, const fs::path& file) {
  std::optional<nlohmann::json> entry = CompileCommandFor(build_dir, file);
  if (!entry) {
    try {
      nlohmann::json all = ReadCompileCommands(build_dir);
      if (all.empty() || !all[0].is_object()) return std::nullopt;
      entry = all[0];
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  fs::path source = entry->value("file", "");
  fs::path directory = entry->value("directory", build_dir.string());
  if (source.is_relative()) source = directory / source;
  return ProbeCommand{CommandWords(*entry), source, directory};
}

std::string RunPreprocessor(const std::string& probe_text, const fs::path& file,
                            const ProbeCommand& command) {
  const fs::path probe =
      file.parent_path() / fmt::format("{}{}-{}{}", kProbePrefix, ::getpid(), file.stem().string(),
                                       command.source.extension().string());
  std::ofstream(probe, std::ios::trunc) << probe_text;
  // The compile command with the probe for the source, preprocessing only, output to stdout.
  std::vector<std::string> argv;
  std::error_code ec;
  for (size_t i = 0; i < command.words.size(); ++i) {
    const std::string& word = command.words[i];
    if (i == 0 && fs::path(word).filename() == "ccache") continue;
    if (word == "-c" || word == "-MD" || word == "-MMD") continue;
    if (word == "-o" || word == "-MF" || word == "-MT" || word == "-MQ") {
      ++i;
      continue;
    }
    fs::path as_path = fs::path(word).is_relative() ? command.directory / word : fs::path(word);
    if (word[0] != '-' && fs::exists(as_path, ec) && fs::equivalent(as_path, command.source, ec)) {
      argv.push_back(probe.string());
      continue;
    }
    argv.push_back(word);
  }
  argv.push_back("-E");
  RunOptions options;
  options.cwd = command.directory;
  options.limits.wall_seconds = 120;
  options.max_output_bytes = size_t{256} << 20;
  ProcessResult result = RunProcess(argv, options);
  fs::remove(probe, ec);
  if (!result.ok())
    throw std::runtime_error(fmt::format("preprocessing {} failed: {}: {}", file.string(),
                                         result.Describe(), result.err.substr(0, 400)));
  return result.out;
}

std::string OwnExpandedLines(const std::string& preprocessed) {
  std::istringstream in(preprocessed);
  std::string own;
  bool in_probe = false;
  for (std::string line; std::getline(in, line);) {
    // Line markers: # 12 "path" flags
    if (line.rfind("# ", 0) == 0 && line.find('"') != std::string::npos) {
      size_t open = line.find('"'), close = line.rfind('"');
      std::string path = close > open ? line.substr(open + 1, close - open - 1) : "";
      in_probe = fs::path(path).filename().string().rfind(kProbePrefix, 0) == 0;
      continue;
    }
    if (in_probe) own += line + "\n";
  }
  return own;
}

}  // namespace rlvr
