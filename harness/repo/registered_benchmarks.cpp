#include "harness/repo/registered_benchmarks.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <sstream>

#include "harness/base/file_text.h"
#include "harness/repo/macro_expander.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

// "1 << 16" -> "65536", "(1024 * 1024)" -> "1048576"; anything else without its spaces.
std::string EvaluateArgument(const std::string& text) {
  if (std::optional<long long> value = EvaluateIntegerExpression(text))
    return std::to_string(*value);
  std::string out = text;
  out.erase(std::remove_if(out.begin(), out.end(), ::isspace), out.end());
  return out;
}

// Splits `text` at commas outside parentheses and braces, each part trimmed.
std::vector<std::string> SplitTopLevel(const std::string& text) {
  std::vector<std::string> parts;
  std::string current;
  int depth = 0;
  for (char c : text) {
    if (c == '(' || c == '{') ++depth;
    if (c == ')' || c == '}') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(current);
      current.clear();
      continue;
    }
    current += c;
  }
  parts.push_back(current);
  for (auto& part : parts) {
    size_t begin = part.find_first_not_of(" \t\r\n");
    size_t end = part.find_last_not_of(" \t\r\n");
    part = begin == std::string::npos ? "" : part.substr(begin, end - begin + 1);
  }
  return parts;
}

// The text between the '(' at `open` and its ')', and the position after that ')'; nothing when
// it is not closed.
std::optional<std::pair<std::string, size_t>> Parenthesized(const std::string& text, size_t open) {
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    if (text[i] == '(') ++depth;
    if (text[i] == ')' && --depth == 0)
      return std::pair{text.substr(open + 1, i - open - 1), i + 1};
  }
  return std::nullopt;
}

// The name Google Benchmark gives a registration macro's benchmark: BENCHMARK(BM_X) "BM_X",
// BENCHMARK_CAPTURE(BM_X, tag, ...) "BM_X/tag", BENCHMARK_F / BENCHMARK_REGISTER_F /
// BENCHMARK_TEMPLATE_F(Fixture, Method...) "Fixture/Method", BENCHMARK_TEMPLATE(BM_X, T...)
// "BM_X<T...>". Empty when the arguments do not fit.
std::string RegisteredName(const std::string& macro, const std::vector<std::string>& args) {
  if (args.empty() || args[0].empty()) return "";
  if (macro == "BENCHMARK") return args[0];
  if (args.size() < 2) return "";
  if (macro == "BENCHMARK_CAPTURE") return args[0] + "/" + args[1];
  if (macro == "BENCHMARK_F" || macro == "BENCHMARK_REGISTER_F" || macro.ends_with("_F"))
    return args[0] + "/" + args[1];
  std::string types;
  for (size_t i = 1; i < args.size(); ++i) types += (i == 1 ? "" : ", ") + args[i];
  return args[0] + "<" + types + ">";  // BENCHMARK_TEMPLATE, BENCHMARK_TEMPLATE1/2
}

// The last argument the ->Arg/Args/Range/DenseRange calls of a registration chain give (the
// largest size, usually the one worth optimising), "" when none.
std::string LastArgument(const std::string& text, size_t& pos) {
  std::string last;
  while (true) {
    size_t arrow = text.find_first_not_of(" \t\r\n", pos);
    if (arrow == std::string::npos || text.compare(arrow, 2, "->") != 0) break;
    size_t name_begin = text.find_first_not_of(" \t\r\n", arrow + 2);
    if (name_begin == std::string::npos) break;
    size_t name_end = name_begin;
    while (name_end < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[name_end])) || text[name_end] == '_'))
      ++name_end;
    size_t open = text.find_first_not_of(" \t\r\n", name_end);
    if (open == std::string::npos || text[open] != '(') break;
    auto call = Parenthesized(text, open);
    if (!call) break;
    pos = call->second;
    std::string method = text.substr(name_begin, name_end - name_begin);
    std::vector<std::string> args = SplitTopLevel(call->first);
    if (method == "Arg" && !args.empty()) {
      last = EvaluateArgument(args[0]);
    } else if ((method == "Range" || method == "DenseRange") && args.size() >= 2) {
      last = EvaluateArgument(args[1]);
    } else if (method == "Args" && !args.empty()) {
      std::string inner = call->first;
      inner.erase(std::remove(inner.begin(), inner.end(), '{'), inner.end());
      inner.erase(std::remove(inner.begin(), inner.end(), '}'), inner.end());
      std::string joined;
      for (const auto& part : SplitTopLevel(inner)) {
        if (!joined.empty()) joined += '/';
        joined += EvaluateArgument(part);
      }
      last = joined;
    }
  }
  return last;
}

}  // namespace

std::string RegisteredBenchmark::FullName() const {
  return last_argument.empty() ? name : name + "/" + last_argument;
}

void FindBenchmarks(const fs::path& root, const std::vector<std::string>& sources,
                    RepoInspection& out) {
  static const std::regex kRegistration(
      R"(\b(BENCHMARK|BENCHMARK_CAPTURE|BENCHMARK_F|BENCHMARK_REGISTER_F|BENCHMARK_TEMPLATE[12]?|BENCHMARK_TEMPLATE[12]?_F)\s*\()");
  std::set<std::string> seen;
  for (const auto& source : sources) {
    // The file's own macros expanded first: registrations written through a macro of the
    // repository (zlib-ng's BENCHMARK_ADLER32(c, ...)) are read as the compiler sees them, and
    // the macro's definition itself registers nothing.
    std::string text = ExpandOwnMacros(ReadFileText(root / source));
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kRegistration);
         it != std::sregex_iterator(); ++it) {
      size_t open = static_cast<size_t>(it->position(0) + it->length(0)) - 1;
      auto call = Parenthesized(text, open);
      if (!call) continue;
      RegisteredBenchmark b;
      b.name = RegisteredName((*it)[1].str(), SplitTopLevel(call->first));
      if (b.name.empty()) continue;
      b.source = source;
      size_t pos = call->second;
      b.last_argument = LastArgument(text, pos);
      if (!seen.insert(b.name).second) continue;
      out.benchmarks.push_back(b);
    }
  }
}

}  // namespace rlvr
