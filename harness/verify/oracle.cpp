#include "harness/verify/oracle.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "harness/base/process.h"
#include "harness/candidate/run.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

struct Token {
  std::string text;
  int line = 0;
  int index = 0;  // within its line, from 1
};

std::vector<Token> Tokens(const std::string& output) {
  std::vector<Token> tokens;
  std::istringstream lines(output);
  int line_number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++line_number;
    std::istringstream words(line);
    int index = 0;
    for (std::string word; words >> word;) tokens.push_back({word, line_number, ++index});
  }
  return tokens;
}

bool ParseNumber(const std::string& text, double* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

bool TokensAgree(const std::string& a, const std::string& b, double tolerance) {
  if (a == b) return true;
  double x, y;
  if (tolerance <= 0 || !ParseNumber(a, &x) || !ParseNumber(b, &y)) return false;
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
  if (std::isinf(x) || std::isinf(y)) return x == y;
  return std::fabs(x - y) <= tolerance * std::max(std::fabs(x), std::fabs(y));
}

std::string Excerpt(const std::string& text, size_t limit = 2000) {
  return text.size() <= limit ? text : text.substr(0, limit) + "\n...";
}

ProcessResult RunOnce(const OracleConfig& oracle, const fs::path& tree, const fs::path& build,
                      uint64_t seed, double timeout_seconds) {
  std::vector<std::string> command = ExpandCommand(oracle.command, tree, build);
  for (auto& word : command) {
    for (size_t at = word.find("{seed}"); at != std::string::npos; at = word.find("{seed}", at))
      word.replace(at, 6, std::to_string(seed));
  }
  RunOptions options;
  options.cwd = tree;
  options.limits = CandidateLimits(timeout_seconds, false);
  options.limits.writable.push_back(build);
  options.env["RLVR_ORACLE_SEED"] = std::to_string(seed);
  options.unset_env.push_back("RLVR_TEST_SEED");
  return RunProcess(command, options);
}

}  // namespace

std::string CompareOracleOutputs(const std::string& head, const std::string& candidate,
                                 double tolerance) {
  std::vector<Token> a = Tokens(head), b = Tokens(candidate);
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (TokensAgree(a[i].text, b[i].text, tolerance)) continue;
    return fmt::format("line {}, value {}: HEAD printed {}, the candidate {}{}", a[i].line,
                       a[i].index, a[i].text, b[i].text,
                       tolerance > 0 ? fmt::format(" (relative tolerance {})", tolerance) : "");
  }
  if (a.size() != b.size())
    return fmt::format("HEAD printed {} values, the candidate {}", a.size(), b.size());
  return "";
}

OracleRun RunDifferentialOracle(const OracleConfig& oracle, const fs::path& head_tree,
                                const fs::path& head_build, const fs::path& candidate_tree,
                                const fs::path& candidate_build, uint64_t first_seed,
                                double timeout_seconds) {
  OracleRun run;
  const std::string name =
      oracle.command.empty() ? "" : fs::path(oracle.command.front()).filename().string();
  for (int i = 0; i < oracle.seeds; ++i) {
    const uint64_t seed = first_seed + static_cast<uint64_t>(i);
    ProcessResult head = RunOnce(oracle, head_tree, head_build, seed, timeout_seconds);
    if (!head.ok()) {
      run.message = fmt::format(
          "oracle: {} fails on HEAD's build with seed {}: {} (fix the oracle command in rlvr.json)",
          name, seed, head.Describe());
      run.detail = Excerpt(head.out + head.err);
      return run;
    }
    ProcessResult candidate =
        RunOnce(oracle, candidate_tree, candidate_build, seed, timeout_seconds);
    if (!candidate.ok()) {
      run.message = fmt::format("oracle: {} fails on the candidate's build with seed {}: {}", name,
                                seed, candidate.Describe());
      run.detail = Excerpt(candidate.out + candidate.err);
      return run;
    }
    if (std::string difference = CompareOracleOutputs(head.out, candidate.out, oracle.tolerance);
        !difference.empty()) {
      run.message = fmt::format(
          "oracle: the candidate's outputs differ from HEAD's for seed {} (RLVR_ORACLE_SEED={}): "
          "{}",
          seed, seed, difference);
      run.detail =
          fmt::format("HEAD:\n{}\ncandidate:\n{}", Excerpt(head.out), Excerpt(candidate.out));
      return run;
    }
    ++run.seeds_compared;
  }
  run.ok = true;
  run.message = fmt::format(
      "oracle {} agreed with HEAD on {} seed(s) ({}..{}, {})", name, run.seeds_compared, first_seed,
      first_seed + static_cast<uint64_t>(oracle.seeds) - 1,
      oracle.tolerance > 0 ? fmt::format("within relative tolerance {}", oracle.tolerance)
                           : std::string("exactly"));
  return run;
}

}  // namespace rlvr
