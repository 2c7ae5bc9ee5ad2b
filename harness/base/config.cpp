#include "harness/base/config.h"

#include <algorithm>

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/base/child_env.h"

namespace rlvr {

namespace {

using nlohmann::json;

// Field readers: each names the full path of the field in its error, so a user can fix rlvr.json
// without guessing.
struct Reader {
  std::string source;

  [[noreturn]] void Fail(const std::string& where, const std::string& what) const {
    throw ConfigError(fmt::format("{}: {}: {}", source, where, what));
  }

  const json& Require(const json& object, const std::string& where, const char* key) const {
    auto it = object.find(key);
    if (it == object.end()) Fail(where, fmt::format("missing required field \"{}\"", key));
    return *it;
  }

  std::string String(const json& value, const std::string& where) const {
    if (!value.is_string()) Fail(where, fmt::format("expected a string, got {}", value.dump()));
    return value.get<std::string>();
  }

  std::string OptionalString(const json& object, const std::string& where, const char* key,
                             std::string fallback = "") const {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return fallback;
    return String(*it, where + "." + key);
  }

  std::vector<std::string> StringList(const json& value, const std::string& where) const {
    if (!value.is_array()) Fail(where, "expected an array of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < value.size(); ++i)
      out.push_back(String(value[i], fmt::format("{}[{}]", where, i)));
    return out;
  }

  std::vector<std::string> OptionalStringList(const json& object, const std::string& where,
                                              const char* key) const {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return {};
    return StringList(*it, where + "." + key);
  }

  double Fraction(const json& object, const std::string& where, const char* key,
                  double fallback) const {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return fallback;
    if (!it->is_number()) Fail(where + "." + key, "expected a number");
    double value = it->get<double>();
    if (!(value >= 0.0 && value < 1.0))
      Fail(where + "." + key, fmt::format("must be in [0, 1), got {}", value));
    return value;
  }
};

// A relative path inside the repository: no absolute paths, no "..", no empty segments.
bool IsSafeRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

BuildConfig ParseBuild(const Reader& r, const json& build) {
  if (!build.is_object()) r.Fail("build", "expected an object");
  BuildConfig out;
  out.command = r.OptionalStringList(build, "build", "command");
  out.sanitize_command = r.OptionalStringList(build, "build", "sanitize_command");
  out.artifacts = r.OptionalStringList(build, "build", "artifacts");
  if (build.contains("command") && out.command.empty())
    r.Fail("build.command", "the build command must not be empty");
  if (out.UsesBuildCommand()) {
    for (const char* cmake_only :
         {"configure_args", "sanitize_args", "source_subdir", "portable_args"}) {
      if (build.contains(cmake_only))
        r.Fail(fmt::format("build.{}", cmake_only),
               "is for CMake builds; this build section gives a \"command\" instead (use one "
               "or the other)");
    }
  } else if (!out.sanitize_command.empty() || !out.artifacts.empty() ||
             build.contains("isa_command")) {
    r.Fail("build",
           "\"sanitize_command\", \"artifacts\" and \"isa_command\" need a build \"command\"");
  }
  out.isa_command = r.OptionalStringList(build, "build", "isa_command");
  if (!out.isa_command.empty() &&
      std::none_of(out.isa_command.begin(), out.isa_command.end(),
                   [](const std::string& w) { return w.find("{march}") != std::string::npos; }))
    r.Fail("build.isa_command",
           "must say where the -march= value goes with {march}, e.g. \"CFLAGS=-O3 "
           "-march={march}\"");
  for (const auto& artifact : out.artifacts) {
    if (!IsSafeRelativePath(artifact))
      r.Fail("build.artifacts",
             fmt::format("\"{}\" must be relative to the build dir, without \"..\"", artifact));
  }
  out.configure_args = r.OptionalStringList(build, "build", "configure_args");
  out.sanitize_args = r.OptionalStringList(build, "build", "sanitize_args");
  // Required only by targets that use them (checked in ParseProject).
  out.test_binary = r.OptionalString(build, "build", "test_binary");
  out.bench_binary = r.OptionalString(build, "build", "bench_binary");
  out.portable_args = r.OptionalStringList(build, "build", "portable_args");
  out.source_subdir = r.OptionalString(build, "build", "source_subdir");
  if (!out.source_subdir.empty() && !IsSafeRelativePath(out.source_subdir))
    r.Fail("build.source_subdir",
           fmt::format("\"{}\" must be a repository-relative directory, without \"..\"",
                       out.source_subdir));
  out.pass_env = r.OptionalStringList(build, "build", "pass_env");
  for (const auto* binary : {&out.test_binary, &out.bench_binary}) {
    if (!binary->empty() && !IsSafeRelativePath(*binary))
      r.Fail("build", fmt::format("binary path \"{}\" must be relative to the build dir, without "
                                  "\"..\"",
                                  *binary));
  }
  return out;
}

std::vector<TestCommand> ParseTestCommands(const Reader& r, const json& object,
                                           const std::string& named) {
  std::vector<TestCommand> out;
  auto it = object.find("test_commands");
  if (it == object.end() || it->is_null()) return out;
  const std::string where = named + ".test_commands";
  if (!it->is_array() || it->empty())
    r.Fail(where, "expected a non-empty array of {\"name\", \"command\", \"kind\"}");
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string item = fmt::format("{}[{}]", where, i);
    const json& entry = (*it)[i];
    if (!entry.is_object()) r.Fail(item, "expected an object {\"name\", \"command\", \"kind\"}");
    TestCommand test;
    test.command = r.StringList(r.Require(entry, item, "command"), item + ".command");
    if (test.command.empty()) r.Fail(item + ".command", "the command must not be empty");
    test.name = r.OptionalString(entry, item, "name", test.command.front());
    test.kind = r.OptionalString(entry, item, "kind", "exit_status");
    if (test.kind != "exit_status" && test.kind != "ctest" && test.kind != "gtest")
      r.Fail(item + ".kind",
             fmt::format("\"{}\": expected \"exit_status\", \"ctest\" or \"gtest\"", test.kind));
    out.push_back(std::move(test));
  }
  return out;
}

BenchCommand ParseBenchCommand(const Reader& r, const json& object, const std::string& named) {
  BenchCommand out;
  auto it = object.find("bench_command");
  if (it == object.end() || it->is_null()) return out;
  const std::string where = named + ".bench_command";
  if (!it->is_object()) r.Fail(where, "expected an object {\"command\", \"format\"}");
  out.command = r.StringList(r.Require(*it, where, "command"), where + ".command");
  if (out.command.empty()) r.Fail(where + ".command", "the command must not be empty");
  out.format = r.OptionalString(*it, where, "format", "google_benchmark_json");
  if (out.format != "google_benchmark_json")
    r.Fail(where + ".format", fmt::format("\"{}\": expected \"google_benchmark_json\" (convert "
                                          "other output with a small script)",
                                          out.format));
  if (auto reps = it->find("repetitions"); reps != it->end() && !reps->is_null()) {
    if (!reps->is_number_integer() || reps->get<int>() < 1 || reps->get<int>() > 100)
      r.Fail(where + ".repetitions", "expected a whole number in [1, 100]");
    out.repetitions = reps->get<int>();
  }
  return out;
}

Target ParseTarget(const Reader& r, const json& object, const std::string& where) {
  if (!object.is_object()) r.Fail(where, "expected an object");
  Target t;
  t.name = r.String(r.Require(object, where, "name"), where + ".name");
  if (t.name.empty() || t.name.find_first_of("/\\ \t\n.") != std::string::npos)
    r.Fail(where + ".name",
           fmt::format("\"{}\" is not a valid target name (no spaces, '/', '.')", t.name));
  std::string named = fmt::format("{} (\"{}\")", where, t.name);
  t.description = r.OptionalString(object, named, "description");
  t.editable = r.StringList(r.Require(object, named, "editable"), named + ".editable");
  if (t.editable.empty()) r.Fail(named + ".editable", "a target needs at least one editable file");
  for (const auto& glob : t.editable) {
    if (!IsSafeRelativePath(glob))
      r.Fail(named + ".editable", fmt::format("\"{}\" is not a repository-relative path", glob));
  }
  t.context = r.OptionalStringList(object, named, "context");
  t.test_commands = ParseTestCommands(r, object, named);
  t.tests = r.OptionalString(object, named, "tests");
  if (object.contains("tests") && t.tests.empty())
    r.Fail(named + ".tests", "the test filter must not be empty");
  if (t.tests.empty() && t.test_commands.empty())
    r.Fail(named,
           "a target needs either \"tests\" (a GoogleTest filter on build.test_binary) or "
           "\"test_commands\" (test programs whose exit status decides)");
  if (!t.tests.empty() && !t.test_commands.empty())
    r.Fail(named, "give either \"tests\" (GoogleTest) or \"test_commands\", not both");
  t.bench_command = ParseBenchCommand(r, object, named);
  t.alloc_tests = r.OptionalString(object, named, "alloc_tests");
  t.benchmarks = r.String(r.Require(object, named, "benchmarks"), named + ".benchmarks");
  t.primary = r.StringList(r.Require(object, named, "primary"), named + ".primary");
  if (t.primary.empty()) r.Fail(named + ".primary", "name at least one primary benchmark");
  t.references = r.OptionalStringList(object, named, "references");
  t.min_improvement = r.Fraction(object, named, "min_improvement", 0.03);
  t.max_regression = r.Fraction(object, named, "max_regression", 0.05);
  t.history_tests = r.OptionalString(object, named, "history_tests");
  if (auto it = object.find("roofline"); it != object.end() && !it->is_null()) {
    const std::string where_roofline = named + ".roofline";
    if (!it->is_object()) r.Fail(where_roofline, "expected an object {\"bound\", \"margin\"}");
    t.roofline.bound = r.OptionalString(*it, where_roofline, "bound", "compute");
    if (t.roofline.bound != "compute" && t.roofline.bound != "memory" && t.roofline.bound != "none")
      r.Fail(where_roofline + ".bound",
             fmt::format("\"{}\": expected \"compute\", \"memory\" or \"none\"", t.roofline.bound));
    if (auto m = it->find("margin"); m != it->end() && !m->is_null()) {
      if (!m->is_number() || !(m->get<double>() >= 1.0 && m->get<double>() <= 10.0))
        r.Fail(where_roofline + ".margin", "expected a number in [1, 10]");
      t.roofline.margin = m->get<double>();
    }
  }
  t.allowed_state = r.OptionalStringList(object, named, "allowed_state");
  t.allowed_calls = r.OptionalStringList(object, named, "allowed_calls");
  if (auto it = object.find("oracle"); it != object.end() && !it->is_null()) {
    const std::string where_oracle = named + ".oracle";
    if (!it->is_object())
      r.Fail(where_oracle, "expected an object {\"command\", \"tolerance\", \"seeds\"}");
    // Without "command" the object only tunes the default oracle (its tolerance).
    if (it->is_object() && it->contains("command")) {
      t.oracle.command = r.StringList(it->at("command"), where_oracle + ".command");
      if (t.oracle.command.empty())
        r.Fail(where_oracle + ".command", "the command must not be empty");
    }
    if (auto tol = it->find("tolerance"); tol != it->end() && !tol->is_null()) {
      if (!tol->is_number() || !(tol->get<double>() >= 0.0 && tol->get<double>() < 1.0))
        r.Fail(where_oracle + ".tolerance", "expected a relative tolerance in [0, 1) (0 = exact)");
      t.oracle.tolerance = tol->get<double>();
    }
    if (auto seeds = it->find("seeds"); seeds != it->end() && !seeds->is_null()) {
      if (!seeds->is_number_integer() || seeds->get<int>() < 1 || seeds->get<int>() > 1000)
        r.Fail(where_oracle + ".seeds", "expected a whole number in [1, 1000]");
      t.oracle.seeds = seeds->get<int>();
    }
  }
  if (auto it = object.find("symbols"); it != object.end() && !it->is_null()) {
    const std::string where_symbols = named + ".symbols";
    if (!it->is_object())
      r.Fail(where_symbols, "expected an object {\"namespace\": \"...\", \"prefix\": \"...\"}");
    t.symbols.namespace_name = r.OptionalString(*it, where_symbols, "namespace", "rlvr");
    t.symbols.prefix = r.OptionalString(*it, where_symbols, "prefix");
    for (const auto& [key, value] : it->items()) {
      if (key != "namespace" && key != "prefix")
        r.Fail(where_symbols + "." + key, "unknown field (expected \"namespace\" or \"prefix\")");
    }
  }
  return t;
}

}  // namespace

const Target* Project::FindTarget(std::string_view name) const {
  for (const auto& target : targets) {
    if (target.name == name) return &target;
  }
  return nullptr;
}

const Target& Project::GetTarget(std::string_view name) const {
  if (const Target* target = FindTarget(name)) return *target;
  std::string known;
  for (const auto& target : targets) known += (known.empty() ? "" : ", ") + target.name;
  throw ConfigError(fmt::format("no target \"{}\" in {}; known targets: {}", name,
                                (root / "rlvr.json").string(), known.empty() ? "(none)" : known));
}

Project ParseProject(std::string_view json_text, const std::filesystem::path& root,
                     std::string_view source) {
  Reader r{std::string(source)};
  json document;
  try {
    document = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw ConfigError(fmt::format("{}: not valid JSON: {}", source, e.what()));
  }
  if (!document.is_object()) r.Fail("(top level)", "expected an object");
  Project project;
  project.root = root;
  project.build = ParseBuild(r, r.Require(document, "(top level)", "build"));
  const json& targets = r.Require(document, "(top level)", "targets");
  if (!targets.is_array()) r.Fail("targets", "expected an array");
  std::set<std::string> names;
  for (size_t i = 0; i < targets.size(); ++i) {
    Target t = ParseTarget(r, targets[i], fmt::format("targets[{}]", i));
    if (!names.insert(t.name).second)
      r.Fail(fmt::format("targets[{}]", i), fmt::format("duplicate target name \"{}\"", t.name));
    project.targets.push_back(std::move(t));
  }
  for (const auto& t : project.targets) {
    const std::string named = fmt::format("target \"{}\"", t.name);
    if (t.UsesGoogleTest() && project.build.test_binary.empty())
      r.Fail("build", fmt::format("missing \"test_binary\": {} gives a GoogleTest filter "
                                  "(\"tests\"); or give it \"test_commands\" instead",
                                  named));
    if (!t.UsesGoogleTest() && (!t.alloc_tests.empty() || !t.history_tests.empty()) &&
        project.build.test_binary.empty())
      r.Fail("build", fmt::format("missing \"test_binary\": {} gives GoogleTest filters "
                                  "(\"alloc_tests\"/\"history_tests\")",
                                  named));
    if (!t.UsesBenchCommand() && project.build.bench_binary.empty())
      r.Fail("build", fmt::format("missing \"bench_binary\": {} has no \"bench_command\"", named));
  }
  return project;
}

Project LoadProject(const std::filesystem::path& repo_root) {
  Project project = ReadProject(repo_root);
  // Every process rlvr starts for this repository sees the variables the user passes on purpose.
  SetPassThroughEnvironment(project.build.pass_env);
  return project;
}

Project ReadProject(const std::filesystem::path& repo_root) {
  std::filesystem::path path = repo_root / "rlvr.json";
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ConfigError(
        fmt::format("cannot read {}: is this an rlvr kernel repository?", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return ParseProject(text.str(), repo_root, path.string());
}

namespace {

// Commands run in the tree being judged, so a relative path would name the wrong directory.
std::string Absolute(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  return (ec ? path : absolute.lexically_normal()).string();
}

}  // namespace

std::vector<std::string> ExpandCommand(const std::vector<std::string>& command,
                                       const std::filesystem::path& source_dir,
                                       const std::filesystem::path& build_dir) {
  std::vector<std::string> out;
  for (std::string word : command) {
    for (const auto& [key, value] :
         {std::pair<std::string, std::string>{"{build_dir}", Absolute(build_dir)},
          std::pair<std::string, std::string>{"{source_dir}", Absolute(source_dir)}}) {
      for (size_t at = word.find(key); at != std::string::npos;
           at = word.find(key, at + value.size()))
        word.replace(at, key.size(), value);
    }
    out.push_back(std::move(word));
  }
  return out;
}

bool GlobMatches(std::string_view glob, std::string_view path) {
  // Iterative matcher with backtracking for the last '*' and '**'.
  if (glob.empty()) return path.empty();
  if (glob.substr(0, 2) == "**") {
    std::string_view rest = glob.substr(2);
    if (!rest.empty() && rest.front() == '/') {
      // "**/x" matches "x" and "a/b/x".
      if (GlobMatches(rest.substr(1), path)) return true;
    }
    for (size_t i = 0; i <= path.size(); ++i) {
      if (GlobMatches(rest, path.substr(i))) return true;
    }
    return false;
  }
  if (glob.front() == '*') {
    for (size_t i = 0; i <= path.size(); ++i) {
      if (GlobMatches(glob.substr(1), path.substr(i))) return true;
      if (i < path.size() && path[i] == '/') break;
    }
    return false;
  }
  if (path.empty()) return false;
  if (glob.front() == '?' ? path.front() == '/' : glob.front() != path.front()) return false;
  return GlobMatches(glob.substr(1), path.substr(1));
}

}  // namespace rlvr
