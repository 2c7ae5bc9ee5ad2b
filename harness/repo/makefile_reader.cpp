#include "harness/repo/makefile_reader.h"

#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "harness/base/file_text.h"
#include "harness/repo/inspect_helpers.h"

namespace rlvr {

namespace fs = std::filesystem;

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

}  // namespace rlvr
