#include "harness/repo/inspect.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "harness/base/config.h"
#include "harness/base/file_text.h"
#include "harness/base/process.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool IsSourceFile(const std::string& path) {
  for (const char* ext : {".c", ".cc", ".cpp", ".cxx"})
    if (EndsWith(path, ext)) return true;
  return false;
}

bool IsHeaderFile(const std::string& path) {
  for (const char* ext : {".h", ".hh", ".hpp", ".hxx"})
    if (EndsWith(path, ext)) return true;
  return false;
}

std::string Stem(const std::string& path) {
  return fs::path(path).stem().string();
}

// The repository's files: git-tracked ones, or a walk that skips .git, .rlvr and build trees.
std::vector<std::string> RepositoryFiles(const fs::path& root) {
  RunOptions options;
  options.cwd = root;
  options.limits.wall_seconds = 60;
  ProcessResult listed = RunProcess({"git", "ls-files", "-z"}, options);
  std::vector<std::string> files;
  if (listed.ok() && !listed.out.empty()) {
    std::string_view out = listed.out;
    size_t start = 0;
    while (start < out.size()) {
      size_t end = out.find('\0', start);
      if (end == std::string_view::npos) end = out.size();
      if (end > start) files.emplace_back(out.substr(start, end - start));
      start = end + 1;
    }
  } else {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      std::string name = it->path().filename().string();
      if (it->is_directory() &&
          (name == ".git" || name == ".rlvr" || fs::exists(it->path() / "CMakeCache.txt"))) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) files.push_back(fs::relative(it->path(), root).generic_string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// ---- A small CMake reader ----------------------------------------------------------------

struct CMakeCommand {
  std::string name;  // lower case
  std::vector<std::string> args;
};

std::vector<CMakeCommand> ParseCMake(const std::string& text) {
  std::vector<CMakeCommand> commands;
  size_t i = 0;
  auto skip_space_and_comments = [&] {
    while (i < text.size()) {
      if (std::isspace(static_cast<unsigned char>(text[i]))) {
        ++i;
      } else if (text[i] == '#') {
        if (text.compare(i, 3, "#[[") == 0) {
          size_t close = text.find("]]", i);
          i = close == std::string::npos ? text.size() : close + 2;
        } else {
          while (i < text.size() && text[i] != '\n') ++i;
        }
      } else {
        break;
      }
    }
  };
  while (true) {
    skip_space_and_comments();
    if (i >= text.size()) break;
    size_t name_begin = i;
    while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_'))
      ++i;
    if (i == name_begin) {
      ++i;
      continue;
    }
    CMakeCommand command{Lower(text.substr(name_begin, i - name_begin)), {}};
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size() || text[i] != '(') continue;
    ++i;
    int depth = 1;
    std::string arg;
    bool in_arg = false;
    auto flush = [&] {
      if (in_arg) command.args.push_back(arg);
      arg.clear();
      in_arg = false;
    };
    while (i < text.size() && depth > 0) {
      char c = text[i];
      if (c == '"') {
        ++i;
        in_arg = true;
        while (i < text.size() && text[i] != '"') {
          if (text[i] == '\\' && i + 1 < text.size()) ++i;
          arg += text[i++];
        }
        ++i;
        continue;
      }
      if (c == '#') {
        flush();
        while (i < text.size() && text[i] != '\n') ++i;
        continue;
      }
      if (c == '(') {
        ++depth;
      } else if (c == ')') {
        if (--depth == 0) {
          ++i;
          break;
        }
      }
      if (std::isspace(static_cast<unsigned char>(c)) || c == '(' || c == ')') {
        flush();
      } else {
        arg += c;
        in_arg = true;
      }
      ++i;
    }
    flush();
    commands.push_back(std::move(command));
  }
  return commands;
}

constexpr const char* kBinaryDirMark = "@RLVR_BINARY_DIR@";

class CMakeReader {
 public:
  CMakeReader(const fs::path& root, const std::vector<std::string>& files)
      : root_(root), files_(files) {}

  void Read(const std::string& top_dir, RepoInspection& out) {
    top_ = top_dir;
    variables_["CMAKE_BINARY_DIR"] = kBinaryDirMark;
    variables_["PROJECT_BINARY_DIR"] = kBinaryDirMark;
    variables_["CMAKE_SOURCE_DIR"] = Abs(top_dir);
    variables_["PROJECT_SOURCE_DIR"] = Abs(top_dir);
    ReadFile(top_dir, 0);
    Finish(out);
  }

 private:
  struct Program {
    std::string name;
    bool executable = false;
    bool imported = false;
    std::string dir;  // repository-relative dir of its CMakeLists.txt
    std::string output_dir;
    std::vector<std::string> sources;
    std::vector<std::string> links;
  };

  std::string Abs(const std::string& relative_dir) const {
    return (root_ / relative_dir).lexically_normal().generic_string();
  }

  std::string Expand(std::string text) const {
    static const std::regex kVariable(R"(\$\{([A-Za-z0-9_]+)\})");
    for (int round = 0; round < 8; ++round) {
      std::smatch match;
      if (!std::regex_search(text, match, kVariable)) break;
      auto it = variables_.find(match[1].str());
      std::string value = it == variables_.end() ? std::string("@UNKNOWN@") : it->second;
      text = match.prefix().str() + value + match.suffix().str();
    }
    return text;
  }

  // Expanded arguments, lists split on ';'.
  std::vector<std::string> ExpandArgs(const std::vector<std::string>& args) const {
    std::vector<std::string> out;
    for (const auto& arg : args) {
      std::string value = Expand(arg);
      size_t start = 0;
      while (start <= value.size()) {
        size_t end = value.find(';', start);
        if (end == std::string::npos) end = value.size();
        if (end > start) out.push_back(value.substr(start, end - start));
        start = end + 1;
      }
    }
    return out;
  }

  // A source argument as a repository-relative path, or "" when it is not one.
  std::string SourcePath(const std::string& dir, const std::string& arg) const {
    if (arg.empty() || arg.find("@UNKNOWN@") != std::string::npos || arg.starts_with("$<") ||
        arg.find(kBinaryDirMark) != std::string::npos)
      return "";
    fs::path path = fs::path(arg).is_absolute() ? fs::path(arg) : root_ / dir / arg;
    fs::path relative = path.lexically_normal().lexically_relative(root_);
    std::string text = relative.generic_string();
    if (text.empty() || text.starts_with("..")) return "";
    return text;
  }

  void ReadFile(const std::string& dir, int depth) {
    if (depth > 8) return;
    std::string file = dir.empty() ? "CMakeLists.txt" : dir + "/CMakeLists.txt";
    std::string text = ReadFileText(root_ / file);
    variables_["CMAKE_CURRENT_SOURCE_DIR"] = Abs(dir);
    variables_["CMAKE_CURRENT_LIST_DIR"] = Abs(dir);
    std::string relative_to_top = fs::path(dir).lexically_relative(top_).generic_string();
    if (relative_to_top == ".") relative_to_top = "";
    std::string binary_dir =
        std::string(kBinaryDirMark) + (relative_to_top.empty() ? "" : "/" + relative_to_top);
    variables_["CMAKE_CURRENT_BINARY_DIR"] = binary_dir;
    for (const auto& command : ParseCMake(text)) {
      std::vector<std::string> args = ExpandArgs(command.args);
      const std::string& name = command.name;
      if (name == "set" && !command.args.empty()) {
        std::string value;
        for (size_t i = 1; i < args.size(); ++i) {
          if (args[i] == "CACHE" || args[i] == "PARENT_SCOPE") break;
          value += (value.empty() ? "" : ";") + args[i];
        }
        variables_[command.args[0]] = value;
        if (command.args[0] == "CMAKE_EXPORT_COMPILE_COMMANDS") exports_compile_commands_ = true;
      } else if (name == "option" && !args.empty()) {
        if (Lower(args[0]).find("sanitiz") != std::string::npos && sanitize_option_.empty())
          sanitize_option_ = args[0];
      } else if (name == "file" && args.size() >= 3 &&
                 (args[0] == "GLOB" || args[0] == "GLOB_RECURSE")) {
        Glob(dir, args, args[0] == "GLOB_RECURSE");
      } else if ((name == "add_executable" || name == "add_library") && !args.empty()) {
        Program& p = programs_[args[0]];
        p.name = args[0];
        p.executable = name == "add_executable";
        p.dir = dir;
        p.output_dir = variables_.count("CMAKE_RUNTIME_OUTPUT_DIRECTORY")
                           ? variables_["CMAKE_RUNTIME_OUTPUT_DIRECTORY"]
                           : binary_dir;
        for (size_t i = 1; i < args.size(); ++i) {
          static const std::set<std::string> kKeywords = {
              "STATIC",           "SHARED", "MODULE",        "OBJECT", "INTERFACE",
              "EXCLUDE_FROM_ALL", "WIN32",  "MACOSX_BUNDLE", "GLOBAL"};
          if (args[i] == "IMPORTED" || args[i] == "ALIAS") p.imported = true;
          if (kKeywords.contains(args[i]) || p.imported) continue;
          if (std::string path = SourcePath(dir, args[i]); !path.empty()) p.sources.push_back(path);
        }
      } else if (name == "target_sources" && !args.empty()) {
        Program& p = programs_[args[0]];
        for (size_t i = 1; i < args.size(); ++i) {
          if (std::string path = SourcePath(dir, args[i]); !path.empty()) p.sources.push_back(path);
        }
      } else if (name == "target_link_libraries" && !args.empty()) {
        Program& p = programs_[args[0]];
        for (size_t i = 1; i < args.size(); ++i) p.links.push_back(args[i]);
      } else if (name == "gtest_discover_tests" || name == "gtest_add_tests") {
        for (size_t i = 0; i < args.size(); ++i) {
          if (args[i] == "TARGET" && i + 1 < args.size()) gtest_programs_.insert(args[i + 1]);
        }
        if (!args.empty() && args[0] != "TARGET") gtest_programs_.insert(args[0]);
      } else if (name == "add_test" && !args.empty()) {
        auto it = std::find(args.begin(), args.end(), "COMMAND");
        if (it != args.end() && it + 1 != args.end()) {
          ctest_programs_.insert(*(it + 1));
        } else if (args.size() >= 2 && args[0] != "NAME") {
          ctest_programs_.insert(args[1]);
        }
      } else if (name == "add_subdirectory" && !args.empty()) {
        std::string sub = SourcePath(dir, args[0]);
        std::string saved_source = variables_["CMAKE_CURRENT_SOURCE_DIR"];
        if (!sub.empty() && fs::exists(root_ / sub / "CMakeLists.txt")) {
          ReadFile(sub, depth + 1);
          variables_["CMAKE_CURRENT_SOURCE_DIR"] = saved_source;
          variables_["CMAKE_CURRENT_LIST_DIR"] = saved_source;
          variables_["CMAKE_CURRENT_BINARY_DIR"] = binary_dir;
        }
      }
    }
  }

  void Glob(const std::string& dir, const std::vector<std::string>& args, bool recurse) {
    std::string variable = args[1];
    std::string relative_base = dir;
    std::vector<std::string> matched;
    for (size_t i = 2; i < args.size(); ++i) {
      if (args[i] == "CONFIGURE_DEPENDS" || args[i] == "FOLLOW_SYMLINKS") continue;
      if (args[i] == "LIST_DIRECTORIES" || args[i] == "RELATIVE") {
        ++i;
        continue;
      }
      std::string pattern = SourcePath(dir, args[i]);
      if (pattern.empty()) continue;
      if (recurse) {
        size_t slash = pattern.rfind('/');
        pattern = slash == std::string::npos
                      ? "**/" + pattern
                      : pattern.substr(0, slash) + "/**/" + pattern.substr(slash + 1);
      }
      for (const auto& file : files_) {
        if (GlobMatches(pattern, file)) matched.push_back((root_ / file).generic_string());
      }
    }
    std::string value;
    for (const auto& m : matched) value += (value.empty() ? "" : ";") + m;
    variables_[variable] = value;
  }

  static bool LinksAny(const Program& p, std::initializer_list<const char*> names) {
    for (const auto& link : p.links) {
      for (const char* name : names)
        if (link == name) return true;
    }
    return false;
  }

  // Libraries a program links, followed through the repository's own libraries.
  void CollectLinks(const std::string& name, std::set<std::string>& seen) {
    if (!seen.insert(name).second) return;
    auto it = programs_.find(name);
    if (it == programs_.end()) return;
    for (const auto& link : it->second.links) CollectLinks(link, seen);
  }

  void Finish(RepoInspection& out) {
    out.sanitize_option = sanitize_option_;
    out.exports_compile_commands = exports_compile_commands_;
    std::set<std::string> library_sources;
    for (auto& [name, p] : programs_) {
      if (p.imported || p.name.empty()) continue;
      if (!p.executable) {
        for (const auto& source : p.sources) {
          if ((IsSourceFile(source) || IsHeaderFile(source)) && !IsTestOrToolPath(source))
            library_sources.insert(source);
        }
        continue;
      }
      std::set<std::string> links;
      CollectLinks(name, links);
      Program all = p;
      all.links.assign(links.begin(), links.end());
      BuildProgram program;
      program.name = name;
      std::string output_dir = p.output_dir;
      if (output_dir.starts_with(kBinaryDirMark)) {
        output_dir = output_dir.substr(std::string(kBinaryDirMark).size());
        if (!output_dir.empty() && output_dir.front() == '/') output_dir.erase(0, 1);
        program.output_path = output_dir.empty() ? name : output_dir + "/" + name;
      } else {
        program.output_path = name;  // unknown output directory: `rlvr check` will tell
      }
      program.sources = p.sources;
      program.defined_in = p.dir.empty() ? "CMakeLists.txt" : p.dir + "/CMakeLists.txt";
      program.googletest =
          gtest_programs_.contains(name) ||
          LinksAny(all, {"GTest::gtest", "GTest::gtest_main", "GTest::GTest", "GTest::Main",
                         "gtest", "gtest_main", "GTest::gmock_main", "gmock_main", "GTest::gmock"});
      program.benchmark = LinksAny(all, {"benchmark::benchmark", "benchmark::benchmark_main",
                                         "benchmark", "benchmark_main"});
      program.ctest = ctest_programs_.contains(name);
      if (program.benchmark) {
        out.bench_programs.push_back(program);
      } else if (program.googletest || program.ctest ||
                 Lower(name).find("test") != std::string::npos) {
        out.test_programs.push_back(program);
      }
    }
    for (const auto& source : library_sources) {
      if (IsSourceFile(source)) out.library_sources.push_back(source);
    }
    if (out.library_sources.empty()) {
      for (const auto& source : library_sources) out.library_sources.push_back(source);
    }
  }

  fs::path root_;
  const std::vector<std::string>& files_;
  std::string top_;
  std::map<std::string, std::string> variables_;
  std::map<std::string, Program> programs_;
  std::set<std::string> gtest_programs_;
  std::set<std::string> ctest_programs_;
  std::string sanitize_option_;
  bool exports_compile_commands_ = false;
};

// ---- Makefiles: the programs their rules make ----------------------------------------------

void ReadMakefile(const fs::path& root, RepoInspection& out) {
  std::string text = ReadFileText(root / "Makefile");
  static const std::regex kRule(R"(^([^\s:#=]+)\s*:[^=])");
  std::istringstream lines(text);
  std::string line;
  std::set<std::string> seen;
  static const std::regex kPhony(R"(^\.PHONY\s*:(.*)$)");
  std::set<std::string> phony;
  {
    std::istringstream scan(text);
    while (std::getline(scan, line)) {
      std::smatch match;
      if (!std::regex_search(line, match, kPhony)) continue;
      std::istringstream names(match[1].str());
      std::string name;
      while (names >> name) phony.insert(name);
    }
  }
  // "BUILD ?= build", "O := out": a variable naming where the programs go, when the rules use it.
  static const std::regex kAssignment(R"(^\s*([A-Za-z_][A-Za-z0-9_]*)\s*[?:+]?=\s*(.*)$)");
  {
    std::istringstream scan(text);
    while (std::getline(scan, line)) {
      std::smatch match;
      if (std::regex_search(line, match, kAssignment)) {
        std::string name = match[1].str();
        if (name == "CFLAGS" && out.make_cflags.empty()) out.make_cflags = match[2].str();
        static const std::set<std::string> kOutputVariables = {
            "BUILD",  "BUILD_DIR", "BUILDDIR", "BUILD_PATH", "OUT",     "OUT_DIR",
            "OUTDIR", "O",         "OBJDIR",   "BIN",        "BIN_DIR", "BINDIR"};
        if (out.make_build_variable.empty() && kOutputVariables.contains(name) &&
            (text.find("$(" + name + ")/") != std::string::npos ||
             text.find("${" + name + "}/") != std::string::npos))
          out.make_build_variable = name;
      }
      if (line.rfind("all:", 0) == 0 || line.rfind("all :", 0) == 0) out.make_has_all = true;
    }
  }
  while (std::getline(lines, line)) {
    std::smatch match;
    if (!std::regex_search(line, match, kRule)) continue;
    std::string target = match[1].str();
    std::string name = fs::path(target).filename().string();
    if (name.find('.') != std::string::npos || name.find('$') != std::string::npos ||
        phony.contains(target))
      continue;
    if (!seen.insert(name).second) continue;
    BuildProgram program;
    program.name = name;
    program.output_path = name;
    program.defined_in = "Makefile";
    std::string lower = Lower(name);
    if (lower.find("bench") != std::string::npos && lower != "bench") {
      out.bench_programs.push_back(program);
    } else if (lower.find("test") != std::string::npos && lower != "test") {
      out.test_programs.push_back(program);
    }
  }
}

// ---- Benchmarks registered in the sources --------------------------------------------------

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

std::string Alnum(const std::string& text) {
  std::string out;
  for (char c : text)
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  return Lower(out);
}

std::string RegexEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

bool HasProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && fs::exists(fs::path(dir) / name)) return true;
  }
  return false;
}

}  // namespace

std::string RegisteredBenchmark::FullName() const {
  return last_argument.empty() ? name : name + "/" + last_argument;
}

bool IsTestOrToolPath(const std::string& path) {
  static const std::set<std::string> kDirs = {
      "test",       "tests",      "testing", "unittest", "unittests", "bench",   "benches",
      "benchmark",  "benchmarks", "example", "examples", "doc",       "docs",    "third_party",
      "thirdparty", "external",   "extern",  "vendor",   "deps",      "fuzz",    "fuzzing",
      "tools",      "scripts",    "cmake",   "contrib",  "perf",      "samples", "reference",
      "references", "ref",        "refs"};
  std::vector<std::string> segments;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) segments.push_back(part);
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    if (kDirs.contains(Lower(segments[i]))) return true;
  }
  std::string file = segments.empty() ? path : Lower(segments.back());
  return file.find("test") != std::string::npos || file.find("bench") != std::string::npos ||
         file.find("example") != std::string::npos;
}

RepoInspection InspectRepository(const fs::path& root) {
  RepoInspection out;
  out.root = root;
  std::vector<std::string> files = RepositoryFiles(root);
  std::set<std::string> file_set(files.begin(), files.end());
  out.has_clang_format = file_set.contains(".clang-format") || file_set.contains("_clang-format");
  // The top CMakeLists.txt: the shallowest one that declares a project.
  std::string top_cmake;
  size_t top_depth = SIZE_MAX;
  for (const auto& file : files) {
    if (fs::path(file).filename() != "CMakeLists.txt") continue;
    size_t depth = std::count(file.begin(), file.end(), '/');
    if (depth >= top_depth) continue;
    std::string text = Lower(ReadFileText(root / file));
    if (text.find("project(") == std::string::npos && text.find("project (") == std::string::npos)
      continue;
    top_cmake = file;
    top_depth = depth;
  }
  if (!top_cmake.empty()) {
    out.build_system = "cmake";
    out.cmake_dir = fs::path(top_cmake).parent_path().generic_string();
    out.findings.push_back(fmt::format("CMake project in {}", top_cmake));
    CMakeReader(root, files).Read(out.cmake_dir, out);
  } else if (file_set.contains("Makefile") || file_set.contains("makefile") ||
             file_set.contains("GNUmakefile")) {
    out.build_system = "make";
    out.findings.push_back("Makefile at the root (no CMakeLists.txt)");
    ReadMakefile(root, out);
  } else {
    out.findings.push_back("no CMakeLists.txt or Makefile found");
  }
  if (out.library_sources.empty()) {
    // No library target read: the non-test sources, or (header-only) the non-test headers.
    for (const auto& file : files) {
      if (IsSourceFile(file) && !IsTestOrToolPath(file)) out.library_sources.push_back(file);
    }
    if (out.library_sources.empty()) {
      for (const auto& file : files) {
        if (IsHeaderFile(file) && !IsTestOrToolPath(file)) out.library_sources.push_back(file);
      }
      out.header_only = !out.library_sources.empty();
    }
  }
  for (const auto& source : out.library_sources) {
    if (EndsWith(source, ".c")) out.c_sources = true;
  }
  std::vector<std::string> bench_sources;
  for (const auto& program : out.bench_programs)
    bench_sources.insert(bench_sources.end(), program.sources.begin(), program.sources.end());
  if (bench_sources.empty()) {
    for (const auto& file : files) {
      if ((IsSourceFile(file)) && Lower(file).find("bench") != std::string::npos)
        bench_sources.push_back(file);
    }
  }
  FindBenchmarks(root, bench_sources, out);
  for (const auto& p : out.test_programs) {
    out.findings.push_back(
        fmt::format("test program {} ({}{}{}), built as {}", p.name,
                    p.googletest ? "GoogleTest" : "plain", p.ctest ? ", run by ctest" : "",
                    p.sources.empty() ? "" : ", from " + p.sources.front(), p.output_path));
  }
  for (const auto& p : out.bench_programs) {
    out.findings.push_back(fmt::format("benchmark program {} ({}), built as {}", p.name,
                                       p.benchmark ? "Google Benchmark" : "its own output format",
                                       p.output_path));
  }
  if (!out.benchmarks.empty()) {
    std::string names;
    for (const auto& b : out.benchmarks) names += (names.empty() ? "" : ", ") + b.FullName();
    out.findings.push_back("registered benchmarks: " + names);
  }
  std::string sources;
  for (const auto& source : out.library_sources) sources += (sources.empty() ? "" : ", ") + source;
  out.findings.push_back(fmt::format("{} sources: {}",
                                     out.header_only ? "header-only library" : "library",
                                     sources.empty() ? std::string("(none)") : sources));
  out.findings.push_back(out.has_clang_format
                             ? std::string(".clang-format present")
                             : std::string("no .clang-format: the format gate must not restyle"));
  if (!out.sanitize_option.empty())
    out.findings.push_back("sanitizer option " + out.sanitize_option);
  return out;
}

StarterConfig MakeStarterConfig(const RepoInspection& in) {
  StarterConfig out;
  auto& todos = out.todos;
  nlohmann::ordered_json config;
  config["_comment"] =
      "Starting rlvr.json written by `rlvr init` from what it read in this repository. Fields "
      "starting with '_' are comments (rlvr ignores them). Search for TODO, fix what it names, "
      "then run `rlvr check`: it builds, runs every filter and says precisely what is wrong.";
  nlohmann::ordered_json build;
  build["_comment"] =
      "How rlvr builds HEAD and each candidate (cmake -S <tree>[/source_subdir] -B <build dir> "
      "<configure_args>). Binaries are paths relative to the build dir. sanitize_args are added "
      "for the ASan+UBSan build.";
  const BuildProgram* test = nullptr;
  for (const auto& p : in.test_programs) {
    if (p.googletest && test == nullptr) test = &p;
  }
  if (test == nullptr && !in.test_programs.empty()) test = &in.test_programs.front();
  const BuildProgram* bench = in.bench_programs.empty() ? nullptr : &in.bench_programs.front();
  if (in.build_system == "cmake") {
    if (!in.cmake_dir.empty()) build["source_subdir"] = in.cmake_dir;
    std::vector<std::string> configure;
    if (HasProgram("ninja")) configure = {"-G", "Ninja"};
    configure.push_back("-DCMAKE_BUILD_TYPE=Release");
    configure.push_back("-DCMAKE_EXPORT_COMPILE_COMMANDS=ON");
    build["configure_args"] = configure;
    if (!in.sanitize_option.empty()) {
      build["sanitize_args"] = {"-D" + in.sanitize_option + "=ON"};
    } else {
      const std::string flags = "-fsanitize=address,undefined -fno-omit-frame-pointer";
      build["sanitize_args"] = {"-DCMAKE_C_FLAGS=" + flags, "-DCMAKE_CXX_FLAGS=" + flags,
                                "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined",
                                "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined"};
    }
  } else if (in.build_system == "make") {
    build["_comment"] =
        "How rlvr builds HEAD and each candidate: the command runs in the tree being judged, "
        "{build_dir} is that tree's build directory under .rlvr/build/ (artifacts are relative to "
        "it). sanitize_command builds the ASan+UBSan variant into its own build dir.";
    std::vector<std::string> artifacts;
    for (const auto* programs : {&in.test_programs, &in.bench_programs})
      for (const auto& p : *programs) artifacts.push_back(p.output_path);
    std::vector<std::string> command = {"make"};
    if (!in.make_build_variable.empty()) {
      command.push_back(in.make_build_variable + "={build_dir}");
      if (in.make_has_all) command.push_back("all");
    } else {
      // The Makefile builds in the tree: build there, then copy the programs to the build dir.
      std::string copy;
      for (const auto& artifact : artifacts) copy += " " + artifact;
      command = {"sh", "-c",
                 std::string("make") + (in.make_has_all ? " all" : "") +
                     " && mkdir -p {build_dir} && cp" + (copy.empty() ? " TODO" : copy) +
                     " {build_dir}/"};
      todos.push_back(
          "build.command: the Makefile has no output-directory variable (BUILD, O, OUT_DIR...), "
          "so the command builds in the tree and copies the programs to {build_dir}; check it");
    }
    build["command"] = command;
    std::vector<std::string> sanitize = command;
    const std::string flags = "-fsanitize=address,undefined -fno-sanitize-recover=all -g";
    if (!in.make_build_variable.empty()) {
      sanitize.insert(
          sanitize.begin() + 2,
          "CFLAGS=" + (in.make_cflags.empty() ? std::string("-O1") : in.make_cflags) + " " + flags);
      sanitize.insert(sanitize.begin() + 3, "LDFLAGS=-fsanitize=address,undefined");
      build["sanitize_command"] = sanitize;
    } else {
      todos.push_back(
          "build.sanitize_command: not written (the build copies programs); add one that builds "
          "with -fsanitize=address,undefined, or the sanitizers gate says it has nothing to run");
    }
    build["artifacts"] = artifacts;
  } else {
    todos.push_back("build: no CMakeLists.txt or Makefile found; describe the build by hand");
  }
  // Plain test programs (no GoogleTest) run as test_commands: by ctest when it knows them, else
  // each program by its exit status.
  nlohmann::ordered_json test_commands = nlohmann::ordered_json::array();
  if (test != nullptr && !test->googletest) {
    bool ctest =
        in.build_system == "cmake" && std::any_of(in.test_programs.begin(), in.test_programs.end(),
                                                  [](const BuildProgram& p) { return p.ctest; });
    if (ctest) {
      test_commands.push_back(
          {{"name", "ctest"},
           {"command",
            {"ctest", "--test-dir", "{build_dir}", "--output-on-failure", "--no-tests=error"}},
           {"kind", "ctest"}});
      todos.push_back(
          "test_commands: ctest runs every test for every target; narrow each target's with "
          "\"-R\", \"<regex>\" or \"-L\", \"<label>\" so each evaluation is quick");
    } else {
      for (const auto& p : in.test_programs) {
        if (p.googletest) continue;
        test_commands.push_back({{"name", p.name},
                                 {"command", {"{build_dir}/" + p.output_path}},
                                 {"kind", "exit_status"}});
      }
      todos.push_back(
          "test_commands: each test program runs for every target and passes by its exit status; "
          "keep the ones that test the target's kernel");
    }
  }
  if (test != nullptr && test->googletest) {
    build["test_binary"] = test->output_path;
  } else if (test != nullptr) {
    // Tests are commands (test_commands in each target).
  } else if (in.build_system == "make") {
    todos.push_back("test_commands: no test program found in the Makefile; add one by hand");
  } else {
    build["test_binary"] = "TODO: test program, relative to the build dir";
    todos.push_back("build.test_binary: no test program found in the build files");
  }
  if (in.test_programs.size() > 1 && test != nullptr && test->googletest) {
    std::string others;
    for (const auto& p : in.test_programs)
      if (&p != test) others += (others.empty() ? "" : ", ") + p.name;
    todos.push_back(
        fmt::format("build.test_binary: chose {}; other test programs: {}", test->name, others));
  }
  nlohmann::ordered_json bench_command;
  if (bench != nullptr && !bench->benchmark) {
    // A benchmark program of its own output format: run as a command that must print Google
    // Benchmark JSON.
    bench_command = {{"command", {"{build_dir}/" + bench->output_path}},
                     {"format", "google_benchmark_json"}};
    todos.push_back(fmt::format(
        "bench_command: {} prints its own format; the benchmark gate reads Google Benchmark JSON "
        "({{\"benchmarks\": [{{\"name\", \"real_time\", \"time_unit\"}}]}}): put a small "
        "script converting its output in bench_command (see the README), then set benchmarks "
        "and primary",
        bench->name));
  } else if (bench != nullptr) {
    build["bench_binary"] = bench->output_path;
  } else {
    build["bench_binary"] = "TODO: Google Benchmark program, relative to the build dir";
    todos.push_back("build.bench_binary: no program linking Google Benchmark found");
  }
  if (in.build_system != "make") build["portable_args"] = nlohmann::json::array();
  config["build"] = build;

  // Targets: the library sources a registered benchmark names, else the first few sources.
  std::vector<std::string> chosen;
  for (const auto& source : in.library_sources) {
    std::string stem = Alnum(Stem(source));
    if (stem.size() < 3) continue;
    for (const auto& b : in.benchmarks) {
      if (Alnum(b.name).find(stem) != std::string::npos) {
        chosen.push_back(source);
        break;
      }
    }
  }
  bool guessed_sources = chosen.empty();
  if (chosen.empty()) {
    for (size_t i = 0; i < in.library_sources.size() && i < 4; ++i)
      chosen.push_back(in.library_sources[i]);
  }
  if (chosen.empty()) todos.push_back("targets: no library source found; add a target by hand");
  std::vector<std::string> all_files;
  for (const auto& p : in.test_programs)
    all_files.insert(all_files.end(), p.sources.begin(), p.sources.end());
  nlohmann::ordered_json targets = nlohmann::ordered_json::array();
  std::set<std::string> names;
  for (const auto& source : chosen) {
    std::string stem = Stem(source);
    std::string name;
    for (char c : stem) name += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_';
    while (names.contains(name)) name += "_2";
    names.insert(name);
    nlohmann::ordered_json t;
    t["_comment"] = fmt::format(
        "One kernel: the files a candidate may edit, what the model is shown, which tests "
        "(GoogleTest filter) and benchmarks (Google Benchmark regex) judge it, and the primary "
        "benchmark whose speed decides.{}",
        guessed_sources ? " TODO: guessed from the library sources; no benchmark names it." : "");
    t["name"] = name;
    t["description"] = fmt::format("TODO: what {} computes (shown to the model)", source);
    t["editable"] = {source};
    std::vector<std::string> context;
    for (const char* ext : {".h", ".hpp", ".hh"}) {
      fs::path header = fs::path(source).replace_extension(ext);
      if (fs::exists(in.root / header) && header.generic_string() != source)
        context.push_back(header.generic_string());
    }
    for (const auto& file : all_files) {
      if (Alnum(Stem(file)).find(Alnum(stem)) != std::string::npos &&
          std::find(context.begin(), context.end(), file) == context.end())
        context.push_back(file);
    }
    t["context"] = context;
    if (test_commands.empty())
      t["tests"] = "*";
    else
      t["test_commands"] = test_commands;
    if (!bench_command.is_null()) t["bench_command"] = bench_command;
    std::vector<const RegisteredBenchmark*> matching;
    for (const auto& b : in.benchmarks) {
      if (Alnum(b.name).find(Alnum(stem)) != std::string::npos) matching.push_back(&b);
    }
    if (!matching.empty()) {
      std::string alternatives;
      for (const auto* b : matching)
        alternatives += (alternatives.empty() ? "" : "|") + RegexEscape(b->name);
      t["benchmarks"] = fmt::format("^({})(/|$)", alternatives);
      t["primary"] = {matching.front()->FullName()};
    } else {
      t["benchmarks"] = ".";
      if (!in.benchmarks.empty()) {
        t["primary"] = {in.benchmarks.front().FullName()};
      } else {
        t["primary"] = {"TODO: the benchmark whose speed decides"};
      }
      todos.push_back(fmt::format(
          "targets \"{}\": no registered benchmark names {}; set benchmarks and primary", name,
          source));
    }
    t["references"] = nlohmann::json::array();
    t["min_improvement"] = 0.03;
    t["max_regression"] = 0.05;
    targets.push_back(t);
  }
  if (!chosen.empty() && test_commands.empty()) {
    todos.push_back(
        "targets: tests = \"*\" runs every test for every target; narrow it to the target's "
        "tests (a GoogleTest filter such as \"Adler32*\") so each evaluation is quick");
  }
  if (!chosen.empty()) {
    todos.push_back("targets: write each description (the model reads it)");
    todos.push_back(
        "targets: primary is a guess (the last size a BENCHMARK registration names); `rlvr check` "
        "lists the benchmarks that exist");
  }
  config["targets"] = targets;
  out.config = std::move(config);
  return out;
}

}  // namespace rlvr
