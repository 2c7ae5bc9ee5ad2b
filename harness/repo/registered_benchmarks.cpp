#include "harness/repo/registered_benchmarks.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <sstream>

#include "harness/base/file_text.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

// "1 << 16" -> "65536", "4096" -> "4096"; anything else unchanged.
std::string EvaluateArgument(std::string text) {
  text.erase(std::remove_if(text.begin(), text.end(), ::isspace), text.end());
  static const std::regex kShift(R"((\d+)<<(\d+))");
  static const std::regex kProduct(R"((\d+)\*(\d+))");
  std::smatch match;
  if (std::regex_match(text, match, kShift))
    return std::to_string(std::stoll(match[1].str()) << std::stoll(match[2].str()));
  if (std::regex_match(text, match, kProduct))
    return std::to_string(std::stoll(match[1].str()) * std::stoll(match[2].str()));
  return text;
}

}  // namespace

std::string RegisteredBenchmark::FullName() const {
  return last_argument.empty() ? name : name + "/" + last_argument;
}

void FindBenchmarks(const fs::path& root, const std::vector<std::string>& sources,
                    RepoInspection& out) {
  static const std::regex kRegistration(
      R"(BENCHMARK(?:_CAPTURE)?\s*\(\s*([A-Za-z_][A-Za-z0-9_:]*)\s*(?:,\s*([A-Za-z_][A-Za-z0-9_]*))?[^;]*)");
  static const std::regex kArg(R"(->\s*(Arg|Range|Args|DenseRange)\s*\(([^;]*?)\)\s*(?=->|;|$))");
  std::set<std::string> seen;
  for (const auto& source : sources) {
    std::string text = ReadFileText(root / source);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kRegistration);
         it != std::sregex_iterator(); ++it) {
      std::string whole = (*it)[0].str();
      if (whole.starts_with("BENCHMARK_MAIN")) continue;
      RegisteredBenchmark b;
      b.name = (*it)[1].str();
      if ((*it)[2].matched && whole.starts_with("BENCHMARK_CAPTURE"))
        b.name += "/" + (*it)[2].str();
      b.source = source;
      std::string chain = whole;
      for (auto a = std::sregex_iterator(chain.begin(), chain.end(), kArg);
           a != std::sregex_iterator(); ++a) {
        std::string kind = (*a)[1].str(), args = (*a)[2].str();
        if (kind == "Arg") {
          b.last_argument = EvaluateArgument(args);
        } else if (kind == "Range" || kind == "DenseRange") {
          size_t comma = args.find(',');
          if (comma != std::string::npos) {
            std::string upper = args.substr(comma + 1);
            size_t second = upper.find(',');
            b.last_argument = EvaluateArgument(upper.substr(0, second));
          }
        } else if (kind == "Args") {
          std::string inner = args;
          inner.erase(std::remove(inner.begin(), inner.end(), '{'), inner.end());
          inner.erase(std::remove(inner.begin(), inner.end(), '}'), inner.end());
          std::string joined;
          std::stringstream parts(inner);
          std::string part;
          while (std::getline(parts, part, ',')) {
            if (!joined.empty()) joined += '/';
            joined += EvaluateArgument(part);
          }
          b.last_argument = joined;
        }
      }
      if (b.name == "BENCHMARK_MAIN" || !seen.insert(b.name).second) continue;
      out.benchmarks.push_back(b);
    }
  }
}

}  // namespace rlvr
