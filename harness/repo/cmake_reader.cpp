#include "harness/repo/cmake_reader.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "harness/base/config.h"
#include "harness/base/file_text.h"
#include "harness/repo/inspect_helpers.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

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
    // Unset in a native build: they expand to nothing.
    variables_["CMAKE_CROSSCOMPILING_EMULATOR"] = "";
    variables_["CMAKE_EXECUTABLE_SUFFIX"] = "";
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
    std::vector<std::string> enabled_by;
    std::string output_name;  // OUTPUT_NAME, when it is not the target's name
  };

  // A macro() or function() of the CMake files.
  struct Callable {
    std::vector<std::string> params;
    std::vector<CMakeCommand> body;
    bool function = false;
  };
  static constexpr int kMaxCallDepth = 16;

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
    size_t conditions = conditions_.size();
    Run(ParseCMake(text), dir, file, binary_dir, depth);
    conditions_.resize(conditions);  // an if() left open by the file ends with it
  }

  // The options, off by default, that a condition names outside a NOT: those the branch needs on.
  std::vector<std::string> OptionsNamed(const std::vector<std::string>& raw_args) const {
    std::vector<std::string> names;
    for (size_t i = 0; i < raw_args.size(); ++i) {
      if (raw_args[i] == "NOT") {
        ++i;
        continue;
      }
      std::string name = raw_args[i];
      if (name.starts_with("${") && name.ends_with("}")) name = name.substr(2, name.size() - 3);
      auto it = options_.find(name);
      if (it != options_.end() && !it->second.default_on) names.push_back(name);
    }
    return names;
  }

  // Runs parsed commands: foreach() bodies once per item, if() branches all (their conditions are
  // remembered, not evaluated).
  void Run(const std::vector<CMakeCommand>& commands, const std::string& dir,
           const std::string& file, const std::string& binary_dir, int depth) {
    for (size_t index = 0; index < commands.size(); ++index) {
      const CMakeCommand& command = commands[index];
      const std::string& name = command.name;
      if (name == "foreach") {
        size_t nesting = 1, end = index + 1;
        for (; end < commands.size(); ++end) {
          if (commands[end].name == "foreach") ++nesting;
          if (commands[end].name == "endforeach" && --nesting == 0) break;
        }
        std::vector<CMakeCommand> body(commands.begin() + index + 1, commands.begin() + end);
        std::vector<std::string> args = ExpandArgs(command.args);
        if (!command.args.empty()) {
          std::vector<std::string> items;
          bool lists = false;
          for (size_t i = 1; i < args.size(); ++i) {
            if (args[i] == "IN" || args[i] == "ITEMS") continue;
            if (args[i] == "LISTS") {
              lists = true;
              continue;
            }
            if (lists) {
              for (const auto& item : ExpandArgs({"${" + args[i] + "}"})) items.push_back(item);
            } else {
              items.push_back(args[i]);
            }
          }
          if (args.size() >= 2 && args[1] == "RANGE") items.clear();  // numbers: nothing to read
          for (const auto& item : items) {
            variables_[command.args[0]] = item;
            Run(body, dir, file, binary_dir, depth);
          }
        }
        index = end;
        continue;
      }
      if (name == "macro" || name == "function") {
        // Remembered, run where it is called (zlib-ng's configure_test_executable(target) sets
        // the test program's RUNTIME_OUTPUT_DIRECTORY).
        size_t nesting = 1, end = index + 1;
        const std::string close = "end" + name;
        for (; end < commands.size(); ++end) {
          if (commands[end].name == name) ++nesting;
          if (commands[end].name == close && --nesting == 0) break;
        }
        if (!command.args.empty()) {
          Callable& callable = callables_[Lower(command.args[0])];
          callable.params.assign(command.args.begin() + 1, command.args.end());
          callable.body.assign(commands.begin() + index + 1, commands.begin() + end);
          callable.function = name == "function";
        }
        index = end;
        continue;
      }
      if (auto callable = callables_.find(name);
          callable != callables_.end() && calls_ < kMaxCallDepth) {
        Call(callable->second, ExpandArgs(command.args), dir, file, binary_dir, depth);
        continue;
      }
      if (name == "if") {
        conditions_.push_back(OptionsNamed(command.args));
        continue;
      }
      if (name == "elseif" && !conditions_.empty()) {
        conditions_.back() = OptionsNamed(command.args);
        continue;
      }
      if (name == "else" && !conditions_.empty()) {
        conditions_.back().clear();
        continue;
      }
      if (name == "endif") {
        if (!conditions_.empty()) conditions_.pop_back();
        continue;
      }
      std::vector<std::string> args = ExpandArgs(command.args);
      if (name == "set" && !command.args.empty()) {
        std::string value;
        for (size_t i = 1; i < args.size(); ++i) {
          if (args[i] == "CACHE" || args[i] == "PARENT_SCOPE") break;
          value += (value.empty() ? "" : ";") + args[i];
        }
        variables_[command.args[0]] = value;
        if (command.args[0] == "CMAKE_EXPORT_COMPILE_COMMANDS") exports_compile_commands_ = true;
      } else if (name == "list" && command.args.size() >= 2 &&
                 (command.args[0] == "APPEND" || command.args[0] == "PREPEND")) {
        std::string& value = variables_[command.args[1]];
        std::string added;
        for (size_t i = 2; i < args.size(); ++i) added += (added.empty() ? "" : ";") + args[i];
        if (added.empty()) continue;
        if (command.args[0] == "APPEND")
          value = value.empty() ? added : value + ";" + added;
        else
          value = value.empty() ? added : added + ";" + value;
      } else if (name == "option" && !args.empty()) {
        if (Lower(args[0]).find("sanitiz") != std::string::npos && sanitize_option_.empty())
          sanitize_option_ = args[0];
        BuildOption option;
        option.name = command.args[0];
        std::string value = args.size() >= 3 ? args[2] : "OFF";
        for (char& c : value) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        option.default_on = value == "ON" || value == "TRUE" || value == "YES" || value == "1";
        option.defined_in = file;
        if (!options_.contains(option.name)) option_order_.push_back(option.name);
        options_[option.name] = option;
        variables_[option.name] = option.default_on ? "ON" : "OFF";
      } else if (name == "file" && args.size() >= 3 &&
                 (args[0] == "GLOB" || args[0] == "GLOB_RECURSE")) {
        Glob(dir, args, args[0] == "GLOB_RECURSE");
      } else if ((name == "add_executable" || name == "add_library") && !args.empty()) {
        if (args[0].find("@UNKNOWN@") != std::string::npos || args[0].find("${") == 0) {
          unresolved_.push_back(
              fmt::format("{}({} ...) in {}: the name is set through a variable "
                          "rlvr init cannot evaluate; left out",
                          name, command.args[0], file));
          continue;
        }
        Program& p = programs_[args[0]];
        p.name = args[0];
        p.executable = name == "add_executable";
        p.dir = dir;
        p.output_dir = variables_.count("CMAKE_RUNTIME_OUTPUT_DIRECTORY")
                           ? variables_["CMAKE_RUNTIME_OUTPUT_DIRECTORY"]
                           : binary_dir;
        std::set<std::string> guards;
        for (const auto& condition : conditions_) guards.insert(condition.begin(), condition.end());
        p.enabled_by.assign(guards.begin(), guards.end());
        for (size_t i = 1; i < args.size(); ++i) {
          static const std::set<std::string> kKeywords = {
              "STATIC",           "SHARED", "MODULE",        "OBJECT", "INTERFACE",
              "EXCLUDE_FROM_ALL", "WIN32",  "MACOSX_BUNDLE", "GLOBAL"};
          if (args[i] == "IMPORTED" || args[i] == "ALIAS") p.imported = true;
          if (kKeywords.contains(args[i]) || p.imported) continue;
          if (std::string path = SourcePath(dir, args[i]); !path.empty()) p.sources.push_back(path);
        }
      } else if (name == "set_target_properties") {
        // set_target_properties(a b PROPERTIES RUNTIME_OUTPUT_DIRECTORY dir OUTPUT_NAME n)
        auto keyword = std::find(args.begin(), args.end(), "PROPERTIES");
        for (auto target = args.begin(); target != keyword; ++target) {
          for (auto it = keyword; it != args.end() && it + 1 != args.end() && it + 2 != args.end();
               it += 2)
            SetProperty(*target, *(it + 1), *(it + 2));
        }
      } else if (name == "set_property" && args.size() >= 4 && args[0] == "TARGET") {
        // set_property(TARGET a b [APPEND] PROPERTY RUNTIME_OUTPUT_DIRECTORY dir)
        auto keyword = std::find(args.begin(), args.end(), "PROPERTY");
        if (keyword != args.end() && keyword + 2 < args.end()) {
          for (auto target = args.begin() + 1; target != keyword; ++target)
            if (*target != "APPEND" && *target != "APPEND_STRING")
              SetProperty(*target, *(keyword + 1), *(keyword + 2));
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
        // COMMAND [emulator] $<TARGET_FILE:prog> args, or the old add_test(name prog args).
        std::vector<std::string> words;
        for (const auto& arg : args) {
          if (arg.find("@UNKNOWN@") != std::string::npos) continue;
          static const std::string kTargetFile = "$<TARGET_FILE:";
          if (arg.starts_with(kTargetFile) && arg.ends_with(">"))
            words.push_back(arg.substr(kTargetFile.size(), arg.size() - kTargetFile.size() - 1));
          else
            words.push_back(arg);
        }
        auto it = std::find(words.begin(), words.end(), "COMMAND");
        if (it != words.end() && it + 1 != words.end()) {
          ctest_programs_.insert(*(it + 1));
        } else if (words.size() >= 2 && words[0] != "NAME") {
          ctest_programs_.insert(words[1]);
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

  // Runs a macro() or function() body with its parameters, ARGN and ARGC bound to `args`; the
  // bound names get their earlier values back afterwards, and a function's other variables too
  // (its scope is its own).
  void Call(const Callable& callable, const std::vector<std::string>& args, const std::string& dir,
            const std::string& file, const std::string& binary_dir, int depth) {
    std::map<std::string, std::string> saved = variables_;
    std::string rest;
    for (size_t i = 0; i < args.size(); ++i) {
      if (i < callable.params.size())
        variables_[callable.params[i]] = args[i];
      else
        rest += (rest.empty() ? "" : ";") + args[i];
      variables_["ARGV" + std::to_string(i)] = args[i];
    }
    variables_["ARGN"] = rest;
    variables_["ARGC"] = std::to_string(args.size());
    ++calls_;
    Run(callable.body, dir, file, binary_dir, depth);
    --calls_;
    if (callable.function) {
      variables_ = std::move(saved);
      return;
    }
    std::vector<std::string> bound = callable.params;
    for (const char* name : {"ARGN", "ARGC"}) bound.push_back(name);
    for (size_t i = 0; i < args.size(); ++i) bound.push_back("ARGV" + std::to_string(i));
    for (const auto& name : bound) {
      if (auto it = saved.find(name); it != saved.end())
        variables_[name] = it->second;
      else
        variables_.erase(name);
    }
  }

  // The target properties that move or rename a program the build makes.
  void SetProperty(const std::string& target, const std::string& property,
                   const std::string& value) {
    auto it = programs_.find(target);
    if (it == programs_.end()) return;
    if (property == "RUNTIME_OUTPUT_DIRECTORY" || property == "RUNTIME_OUTPUT_DIRECTORY_RELEASE")
      it->second.output_dir = value;
    else if (property == "OUTPUT_NAME" || property == "OUTPUT_NAME_RELEASE")
      it->second.output_name = value;
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

  // Whether `p` links one of `names` that is not a target of the repository itself (libdeflate's
  // own program `benchmark` is no Google Benchmark).
  bool LinksAny(const Program& p, std::initializer_list<const char*> names) const {
    for (const auto& link : p.links) {
      auto own = programs_.find(link);
      if (own != programs_.end() && !own->second.imported && !own->second.name.empty()) continue;
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
          if ((IsSourceFile(source) || IsHeaderFile(source)) && !IsTestOrToolPath(source) &&
              std::binary_search(files_.begin(), files_.end(), source))
            library_sources.insert(source);
        }
        continue;
      }
      std::set<std::string> links;
      CollectLinks(name, links);
      links.erase(name);
      Program all = p;
      all.links.assign(links.begin(), links.end());
      BuildProgram program;
      program.name = name;
      std::string output_dir = p.output_dir;
      const std::string file_name = p.output_name.empty() ? name : p.output_name;
      if (output_dir.starts_with(kBinaryDirMark)) {
        output_dir = output_dir.substr(std::string(kBinaryDirMark).size());
        if (!output_dir.empty() && output_dir.front() == '/') output_dir.erase(0, 1);
        program.output_path = output_dir.empty() ? file_name : output_dir + "/" + file_name;
      } else {
        program.output_path = file_name;  // unknown output directory: `rlvr check` will tell
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
      program.enabled_by = p.enabled_by;
      // A benchmark program of the repository's own (libdeflate's `benchmark`) is told from a
      // Google Benchmark one by what it links, not by its name.
      if (program.benchmark || (Lower(name).find("bench") != std::string::npos &&
                                !program.googletest && !program.ctest)) {
        out.bench_programs.push_back(program);
      } else if (program.googletest || program.ctest ||
                 Lower(name).find("test") != std::string::npos) {
        out.test_programs.push_back(program);
      }
    }
    for (const auto& option : option_order_) out.options.push_back(options_.at(option));
    for (const auto& line : unresolved_) out.findings.push_back(line);
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
  std::map<std::string, BuildOption> options_;
  std::vector<std::string> option_order_;
  std::vector<std::vector<std::string>> conditions_;  // per open if(): the options it needs on
  std::vector<std::string> unresolved_;
  std::map<std::string, Callable> callables_;  // by lower-case name
  int calls_ = 0;                              // macro/function calls under way
};

}  // namespace

void ReadCMakeBuild(const fs::path& root, const std::vector<std::string>& files,
                    const std::string& top_dir, RepoInspection& out) {
  CMakeReader(root, files).Read(top_dir, out);
}

}  // namespace rlvr
