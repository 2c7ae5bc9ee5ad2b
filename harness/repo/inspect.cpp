#include "harness/repo/inspect.h"

#include <algorithm>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/repo/cmake_reader.h"
#include "harness/repo/inspect_helpers.h"
#include "harness/repo/kernel_ranking.h"
#include "harness/repo/makefile_reader.h"
#include "harness/repo/registered_benchmarks.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

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

// ", only with OPTION=ON (off by default)" for a program an option switches on.
std::string EnabledBy(const BuildProgram& p) {
  if (p.enabled_by.empty()) return "";
  std::string names;
  for (const auto& name : p.enabled_by) names += (names.empty() ? "" : ", ") + name + "=ON";
  return ", only with " + names + " (off by default)";
}

}  // namespace

bool IsTestOrToolPath(const std::string& path) {
  static const std::set<std::string> kDirs = {
      "test",       "tests",      "testing", "unittest", "unittests", "bench",   "benches",
      "benchmark",  "benchmarks", "example", "examples", "doc",       "docs",    "third_party",
      "thirdparty", "external",   "extern",  "vendor",   "deps",      "fuzz",    "fuzzing",
      "tools",      "scripts",    "cmake",   "contrib",  "perf",      "samples", "reference",
      "references", "ref",        "refs",    "programs", "cli",       "apps",    "app"};
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
  bool root_makefile = file_set.contains("Makefile");
  // Which build has the tests and benchmarks: a CMake project at the root is the build; a root
  // Makefile beside a CMake project in a subdirectory (xxHash's cmake_unofficial/) is read too,
  // and the one making more test and benchmark programs wins (the Makefile on a tie).
  RepoInspection cmake_read = out;
  if (!top_cmake.empty()) {
    cmake_read.build_system = "cmake";
    cmake_read.cmake_dir = fs::path(top_cmake).parent_path().generic_string();
    ReadCMakeBuild(root, files, cmake_read.cmake_dir, cmake_read);
  }
  RepoInspection make_read = out;
  if (root_makefile) {
    make_read.build_system = "make";
    ReadMakefile(root, files, make_read);
  }
  auto programs = [](const RepoInspection& r) {
    return r.test_programs.size() + r.bench_programs.size();
  };
  if (!top_cmake.empty() && (!root_makefile || cmake_read.cmake_dir.empty() ||
                             programs(cmake_read) > programs(make_read))) {
    out = std::move(cmake_read);
    out.findings.insert(out.findings.begin(), fmt::format("CMake project in {}", top_cmake));
    out.guesses.push_back(
        root_makefile
            ? fmt::format("build: CMake ({}), because it makes {} test/benchmark program(s) and "
                          "the root Makefile {}",
                          top_cmake, programs(out), programs(make_read))
            : fmt::format("build: CMake ({}), the only build found", top_cmake));
  } else if (root_makefile) {
    out = std::move(make_read);
    out.findings.insert(out.findings.begin(),
                        top_cmake.empty()
                            ? std::string("Makefile at the root (no CMakeLists.txt)")
                            : fmt::format("Makefile at the root; CMake project in {}", top_cmake));
    out.guesses.push_back(
        top_cmake.empty()
            ? std::string("build: the root Makefile, the only build found")
            : fmt::format("build: the root Makefile, because it (with the Makefiles of its test "
                          "and benchmark directories) makes {} test/benchmark program(s) and "
                          "the side CMake project {} makes {}",
                          programs(out), top_cmake, programs(cmake_read)));
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
  // Kernels: the library's sources and its headers (an implementation in a header, xxhash.h),
  // ranked by loops and by the tests and benchmarks that call them.
  std::vector<std::string> candidates = out.library_sources;
  for (const auto& file : files) {
    if (IsHeaderFile(file) && !IsTestOrToolPath(file) &&
        std::find(candidates.begin(), candidates.end(), file) == candidates.end())
      candidates.push_back(file);
  }
  std::vector<std::string> consumers;
  for (const auto* list : {&out.test_programs, &out.bench_programs})
    for (const auto& p : *list)
      consumers.insert(consumers.end(), p.sources.begin(), p.sources.end());
  for (const auto& file : files) {
    std::string lower = Lower(file);
    if ((IsSourceFile(file) || IsHeaderFile(file)) && IsTestOrToolPath(file) &&
        (lower.find("test") != std::string::npos || lower.find("bench") != std::string::npos) &&
        std::find(consumers.begin(), consumers.end(), file) == consumers.end())
      consumers.push_back(file);
  }
  out.kernels = RankKernels(root, candidates, consumers, out.benchmarks);
  uintmax_t largest = 0;
  for (const auto& file : files) {
    if (IsSourceFile(file) || IsHeaderFile(file) || file.starts_with(".") ||
        file.find("/.") != std::string::npos || file == "rlvr.json")
      continue;
    std::error_code ec;
    uintmax_t size = fs::file_size(root / file, ec);
    if (!ec && size > largest && size < (uintmax_t{64} << 20)) {
      largest = size;
      out.largest_data_file = file;
    }
  }
  for (const auto& kernel : out.kernels)
    out.guesses.push_back(fmt::format("kernel {}: {}", kernel.path, kernel.reason));
  if (out.kernels.empty())
    out.guesses.push_back("kernels: no library file with a loop that is not build plumbing");
  for (const auto& p : out.test_programs) {
    out.findings.push_back(fmt::format(
        "test program {} ({}{}{}), built as {}{}", p.name, p.googletest ? "GoogleTest" : "plain",
        p.ctest ? ", run by ctest" : "", p.sources.empty() ? "" : ", from " + p.sources.front(),
        p.output_path, EnabledBy(p)));
  }
  for (const auto& p : out.bench_programs) {
    out.findings.push_back(
        fmt::format("benchmark program {} ({}), built as {}{}", p.name,
                    p.benchmark ? "links Google Benchmark"
                                : "its own output format: it links no Google Benchmark library",
                    p.output_path, EnabledBy(p)));
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

}  // namespace rlvr
