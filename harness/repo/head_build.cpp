#include "harness/repo/head_build.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/base/file_text.h"
#include "harness/candidate/build.h"
#include "harness/git/worktree.h"
#include "harness/verify/object_audit.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

// Executables under a build dir (CMake's own files skipped), for "did you mean" messages.
std::vector<std::string> BuiltPrograms(const fs::path& build_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(build_dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::string name = it->path().filename().string();
    if (it->is_directory() && (name == "CMakeFiles" || name.starts_with("_deps"))) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || name.find('.') != std::string::npos) continue;
    struct stat info;
    if (stat(it->path().c_str(), &info) == 0 && (info.st_mode & S_IXUSR))
      out.push_back(fs::relative(it->path(), build_dir).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// build.source_subdir as written in rlvr.json (the config loader may not know it yet).
std::string SourceSubdir(const fs::path& root) {
  try {
    auto document = nlohmann::json::parse(ReadFileText(root / "rlvr.json"));
    auto build = document.find("build");
    if (build != document.end() && build->is_object()) {
      auto subdir = build->find("source_subdir");
      if (subdir != build->end() && subdir->is_string()) return subdir->get<std::string>();
    }
  } catch (const std::exception&) {
  }
  return "";
}

// The GoogleTest and Google Benchmark binaries of build, when rlvr.json names them: they exist
// and list their tests / benchmarks.
void ProbeBinaries(const Project& project, const fs::path& root, const fs::path& build_dir,
                   HeadBuild& out, CheckReport& report) {
  std::vector<std::string> programs;
  auto missing = [&](const char* field, const std::string& value) {
    if (programs.empty()) programs = BuiltPrograms(build_dir);
    // An option that is off may be what builds it: name it, with the argument that turns it on.
    std::string hint = OffOptionsHint(build_dir);
    report.Fail(field, fmt::format("{} was not built at {} (relative to the build dir); programs "
                                   "the build made: {}{}",
                                   QuoteForCheck(value), fs::relative(build_dir, root).string(),
                                   programs.empty() ? "(none)" : JoinForCheck(programs), hint));
  };
  out.test_binary = build_dir / project.build.test_binary;
  out.bench_binary = build_dir / project.build.bench_binary;
  if (project.build.test_binary.empty()) {
    report.Ok("build.test_binary", "none: the targets' tests are commands (test_commands)");
  } else if (!fs::exists(out.test_binary)) {
    missing("build.test_binary", project.build.test_binary);
  } else {
    ProcessResult listed = RunListing(out.test_binary, {"--gtest_list_tests"});
    out.tests = ParseTestList(listed.out);
    if (listed.ok() && !out.tests.empty()) {
      out.tests_answer = true;
      report.Ok("build.test_binary",
                fmt::format("{} lists {} tests in {} suites", project.build.test_binary,
                            out.tests.size(), SuitesOf(out.tests).size()));
    } else {
      report.Fail("build.test_binary",
                  fmt::format("{} does not answer --gtest_list_tests ({}{}): the tests gate runs "
                              "GoogleTest programs; name one in build.test_binary",
                              project.build.test_binary, listed.Describe(),
                              listed.ok() ? ", no tests listed" : ""));
    }
  }
  if (project.build.bench_binary.empty()) {
    report.Ok("build.bench_binary", "none: the targets' benchmarks are commands (bench_command)");
  } else if (!fs::exists(out.bench_binary)) {
    missing("build.bench_binary", project.build.bench_binary);
  } else {
    ProcessResult listed = RunListing(out.bench_binary, {"--benchmark_list_tests"});
    out.benchmarks = ParseBenchmarkList(listed.out);
    if (listed.ok() && !out.benchmarks.empty()) {
      out.benchmarks_answer = true;
      report.Ok(
          "build.bench_binary",
          fmt::format("{} lists {} benchmarks", project.build.bench_binary, out.benchmarks.size()));
    } else {
      report.Fail("build.bench_binary",
                  fmt::format("{} does not answer --benchmark_list_tests ({}{}): the benchmark "
                              "gate runs Google Benchmark programs; name one in "
                              "build.bench_binary",
                              project.build.bench_binary, listed.Describe(),
                              listed.ok() ? ", no benchmarks listed" : ""));
    }
  }
}

}  // namespace

std::string OffOptionsHint(const fs::path& build_dir) {
  if (!fs::exists(build_dir / "CMakeCache.txt")) return "";
  const std::string cache = ReadFileText(build_dir / "CMakeCache.txt");
  std::vector<std::string> off = OffOptionsNaming(cache, "TEST");
  for (const auto& name : OffOptionsNaming(cache, "BENCH"))
    if (std::find(off.begin(), off.end(), name) == off.end()) off.push_back(name);
  if (off.empty()) return "";
  std::vector<std::string> args;
  for (const auto& name : off) args.push_back("\"-D" + name + "=ON\"");
  return fmt::format(
      "; the build has {} off: add {} to build.configure_args if it builds the program",
      JoinForCheck(off), JoinForCheck(args));
}

std::vector<std::string> OffOptionsNaming(const std::string& cmake_cache, const std::string& word) {
  std::vector<std::string> names;
  std::istringstream in(cmake_cache);
  std::string upper_word = word;
  for (char& c : upper_word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (std::string line; std::getline(in, line);) {
    // "LIBDEFLATE_BUILD_TESTS:BOOL=OFF"
    size_t colon = line.find(":BOOL=");
    if (colon == std::string::npos || line.empty() || line[0] == '#' || line[0] == '/') continue;
    std::string value = line.substr(colon + 6);
    for (char& c : value) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (value != "OFF" && value != "FALSE" && value != "0" && value != "NO") continue;
    std::string name = line.substr(0, colon);
    std::string upper = name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper.find(upper_word) == std::string::npos || upper.rfind("CMAKE_", 0) == 0) continue;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

ProcessResult RunListing(const fs::path& binary, std::vector<std::string> args) {
  args.insert(args.begin(), binary.string());
  RunOptions options;
  options.cwd = binary.parent_path();
  options.limits.wall_seconds = 60;
  return RunProcess(args, options);
}

std::vector<std::string> ParseTestList(const std::string& out) {
  std::vector<std::string> tests;
  std::string suite, line;
  std::istringstream lines(out);
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    std::string name = line.substr(0, line.find("  #"));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.pop_back();
    if (line[0] != ' ') {
      suite = name;
    } else if (!suite.empty()) {
      tests.push_back(suite + name.substr(name.find_first_not_of(' ')));
    }
  }
  return tests;
}

std::vector<std::string> SuitesOf(const std::vector<std::string>& tests) {
  std::vector<std::string> suites;
  for (const auto& test : tests) {
    std::string suite = test.substr(0, test.find('.'));
    if (std::find(suites.begin(), suites.end(), suite) == suites.end()) suites.push_back(suite);
  }
  return suites;
}

std::vector<std::string> ParseBenchmarkList(const std::string& out) {
  std::vector<std::string> names;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    for (const char* suffix : {"/real_time", "/process_time", "/manual_time"}) {
      std::string s = suffix;
      if (line.size() > s.size() && line.ends_with(s)) line.resize(line.size() - s.size());
    }
    names.push_back(line);
  }
  return names;
}

HeadBuild BuildAndProbe(const Project& project, const fs::path& root, int jobs,
                        CheckReport& report) {
  HeadBuild out;
  std::string commit;
  try {
    commit = HeadCommit(root);
  } catch (const GitError& e) {
    report.Fail("build",
                fmt::format("no commit to build ({}): commit the sources first", e.what()));
    return out;
  }
  fs::path state_dir = root / ".rlvr";
  fs::path tree;
  try {
    EnsureStateDir(state_dir);
    tree = PrepareWorktree(root, state_dir, "baseline", commit);
  } catch (const std::exception& e) {
    report.Fail("build", fmt::format("cannot prepare a worktree of HEAD: {}", e.what()));
    return out;
  }
  fs::path build_dir = state_dir / "build" / "baseline";
  out.tree = tree;
  out.build_dir = build_dir;
  BuildRequest request;
  request.source_dir = tree;
  request.build_dir = build_dir;
  request.configure_args = project.build.configure_args;
  // Test and benchmark commands (ctest, scripts) may need any program of the build: build all.
  bool build_all = project.build.test_binary.empty() || project.build.bench_binary.empty();
  for (const auto& target : project.targets)
    build_all = build_all || !target.UsesGoogleTest() || target.UsesBenchCommand() ||
                target.oracle.enabled();
  if (!build_all)
    request.targets = {TargetNameOf(project.build.test_binary),
                       TargetNameOf(project.build.bench_binary)};
  request.jobs = jobs;
  request.source_subdir = SourceSubdir(root);
  std::fprintf(stderr, "rlvr check: building HEAD (%.12s) in %s\n", commit.c_str(),
               build_dir.c_str());
  if (project.build.UsesBuildCommand()) {
    BuildOutcome built = RunBuildCommand(request, project.build.command, project.build.artifacts);
    if (!built.ok) {
      report.Fail("build",
                  fmt::format("HEAD does not build with build.command ({}): {}; the first "
                              "error lines:\n{}",
                              JoinForCheck(project.build.command), built.message, built.detail));
      return out;
    }
    out.built = true;
    report.Ok("build",
              fmt::format("HEAD builds with the build command ({:.1f} s{}) in {}{}", built.seconds,
                          built.reconfigured.empty() ? "" : "; " + built.reconfigured,
                          fs::relative(build_dir, root).string(),
                          project.build.artifacts.empty()
                              ? ""
                              : "; artifacts present: " + JoinForCheck(project.build.artifacts)));
    std::vector<std::string> programs = project.build.artifacts;
    if (programs.empty()) programs = LinkedBinariesUnder(build_dir);
    std::vector<std::string> linked;
    for (const auto& program : programs)
      if (IsLinkedElf(build_dir / program)) linked.push_back(program);
    if (linked.empty())
      report.Warning("binary_audit",
                     "the build made no linked ELF program the binary audit could compare with "
                     "HEAD's (declare the test and benchmark programs in build.artifacts)");
    else
      report.Ok("binary_audit",
                fmt::format("the build gate compares {} with HEAD's build (the per-file object "
                            "audit needs a compile database, which a build command lacks)",
                            JoinForCheck(linked)));
    if (!project.build.test_binary.empty() || !project.build.bench_binary.empty())
      ProbeBinaries(project, root, build_dir, out, report);
    return out;
  }
  BuildOutcome built = ConfigureAndBuild(request);
  if (!built.ok) {
    std::string hint;
    bool no_cmake = built.message.find("configure") != std::string::npos &&
                    request.source_subdir.empty() && !fs::exists(tree / "CMakeLists.txt");
    if (no_cmake && fs::exists(tree / "Makefile")) {
      hint =
          " (this repository builds with make and has no CMakeLists.txt at the root: rlvr "
          "builds CMake projects; wrap the Makefile in a small CMakeLists.txt or describe the "
          "build as a command once build.command is supported)";
    } else if (no_cmake) {
      hint =
          " (no CMakeLists.txt at the root: set build.source_subdir to the directory that "
          "holds it)";
    }
    report.Fail("build", fmt::format("HEAD does not build with rlvr.json's configure_args: "
                                     "{}{}; the first error lines:\n{}",
                                     built.message, hint, built.detail));
    return out;
  }
  out.built = true;
  report.Ok("build", fmt::format("HEAD configures and builds ({:.1f} s{}) in {}", built.seconds,
                                 built.reconfigured.empty() ? "" : "; " + built.reconfigured,
                                 fs::relative(build_dir, root).string()));
  if (fs::exists(build_dir / "compile_commands.json")) {
    report.Ok("compile_commands", "compile_commands.json present (the object audit reads it)");
  } else {
    report.Warning("compile_commands",
                   "no compile_commands.json in the build dir: the per-file object audit cannot "
                   "find the edited files' objects (the binary audit of the linked programs "
                   "still runs); add \"-DCMAKE_EXPORT_COMPILE_COMMANDS=ON\" to "
                   "build.configure_args");
  }
  ProbeBinaries(project, root, build_dir, out, report);
  return out;
}

}  // namespace rlvr
