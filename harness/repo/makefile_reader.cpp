#include "harness/repo/makefile_reader.h"

#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "harness/base/file_text.h"
#include "harness/repo/inspect_helpers.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

std::string StripExtSuffix(std::string name) {
  for (const char* suffix : {"$(EXT)", "${EXT}", "$(EXE)", "$(EXEEXT)"}) {
    std::string s = suffix;
    if (name.ends_with(s)) name.resize(name.size() - s.size());
  }
  return name;
}

// The programs one Makefile (in `dir`, "" = the root) makes: rule targets named like a test or a
// benchmark, and `-o NAME` in a recipe (a test built and run by a phony rule). `out` collects.
void ReadPrograms(const fs::path& root, const std::string& dir, RepoInspection& out,
                  std::set<std::string>& seen) {
  std::string makefile = dir.empty() ? "Makefile" : dir + "/Makefile";
  std::string text = ReadFileText(root / makefile);
  // "a b c: deps" (not "a: VAR += x", a target-specific variable, nor "a := x").
  static const std::regex kRule(R"(^([^\s:#=][^:#=]*):(?!=)(.*)$)");
  static const std::regex kTargetVariable(R"(^\s*[A-Za-z_][A-Za-z0-9_]*\s*[+:?]?=)");
  static const std::regex kPhony(R"(^\.PHONY\s*:(.*)$)");
  static const std::regex kOutput(R"(\s-o\s+(\S+))");
  std::set<std::string> phony;
  std::istringstream scan(text);
  std::string line;
  while (std::getline(scan, line)) {
    std::smatch match;
    if (!std::regex_search(line, match, kPhony)) continue;
    std::istringstream names(match[1].str());
    std::string name;
    while (names >> name) phony.insert(name);
  }
  auto add = [&](const std::string& name, const std::string& goal) {
    if (name.empty() || name.find('.') != std::string::npos ||
        name.find('$') != std::string::npos || name.find('/') != std::string::npos)
      return;
    std::string lower = Lower(name);
    bool bench = lower.find("bench") != std::string::npos && lower != "bench";
    bool test = lower.find("test") != std::string::npos && lower != "test";
    if ((!bench && !test) || lower.find("generat") != std::string::npos) return;
    if (!seen.insert((dir.empty() ? "" : dir + "/") + name).second) return;
    BuildProgram program;
    program.name = name;
    program.output_path = name;
    program.defined_in = makefile;
    program.make_dir = dir;
    // A program whose source is NAME.c next to the Makefile is made by make's built-in rule
    // even when only a phony rule (which also runs it) names it.
    program.make_goal =
        fs::exists(root / dir / (name + ".c")) || fs::exists(root / dir / (name + ".cpp")) ? name
                                                                                           : goal;
    for (const char* ext : {".c", ".cpp", ".cc"}) {
      fs::path source = fs::path(dir) / (name + ext);
      if (fs::exists(root / source)) program.sources.push_back(source.generic_string());
    }
    (bench ? out.bench_programs : out.test_programs).push_back(program);
  };
  std::istringstream lines(text);
  std::string rule;  // the rule whose recipe is being read
  while (std::getline(lines, line)) {
    std::smatch match;
    if (!line.empty() && line[0] == '\t') {
      if (std::regex_search(line, match, kOutput)) add(StripExtSuffix(match[1].str()), rule);
      continue;
    }
    if (!std::regex_search(line, match, kRule)) continue;
    if (std::regex_search(match[2].str(), kTargetVariable)) continue;
    std::istringstream targets(match[1].str());
    std::string target;
    bool first = true;
    while (targets >> target) {
      if (first) rule = target;
      first = false;
      if (phony.contains(target)) continue;
      add(fs::path(target).filename().string(), target);
    }
  }
}

}  // namespace

void ReadMakefile(const fs::path& root, const std::vector<std::string>& files,
                  RepoInspection& out) {
  std::string text = ReadFileText(root / "Makefile");
  std::string line;
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
  std::set<std::string> seen;
  ReadPrograms(root, "", out, seen);
  // The Makefiles of test and benchmark directories (xxHash: tests/Makefile, tests/bench/Makefile).
  for (const auto& file : files) {
    if (fs::path(file).filename() != "Makefile" || file == "Makefile") continue;
    std::string dir = fs::path(file).parent_path().generic_string();
    std::string lower = Lower(dir);
    if (lower.find("test") == std::string::npos && lower.find("bench") == std::string::npos)
      continue;
    ReadPrograms(root, dir, out, seen);
  }
}

}  // namespace rlvr
