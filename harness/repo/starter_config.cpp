// MakeStarterConfig (declared in inspect.h): the starting rlvr.json `rlvr init` writes from a
// RepoInspection, with a "_comment" in each section and the TODOs the user must settle.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "harness/repo/inspect.h"
#include "harness/repo/inspect_helpers.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

std::string Stem(const std::string& path) {
  return fs::path(path).stem().string();
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
