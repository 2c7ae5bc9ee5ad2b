// MakeStarterConfig (declared in inspect.h): the starting rlvr.json `rlvr init` writes from a
// RepoInspection, with a "_comment" in each section and the TODOs the user must settle.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/repo/inspect.h"
#include "harness/repo/inspect_helpers.h"
#include "harness/repo/kernel_ranking.h"

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

// A command timing `program` as a whole: the fastest of three runs (stdout discarded, a failing
// run fails the command), printed as one Google Benchmark JSON benchmark named `name`. Arguments
// appended to the command go to the program.
std::vector<std::string> TimedCommand(const std::string& name, const std::string& program) {
  const std::string script =
      "name=$0; best=; i=0; "
      "while [ $i -lt 3 ]; do "
      "s=$(date +%s%N); \"$@\" >/dev/null || exit $?; e=$(date +%s%N); t=$((e - s)); "
      "if [ -z \"$best\" ] || [ $t -lt $best ]; then best=$t; fi; i=$((i + 1)); "
      "done; "
      "printf '{\"benchmarks\": [{\"name\": \"%s\", \"real_time\": %s, \"cpu_time\": %s, "
      "\"time_unit\": \"ns\", \"iterations\": 1}]}\\n' \"$name\" \"$best\" \"$best\"";
  return {"sh", "-c", script, name, program};
}

// Whether a benchmark's name, cut after one of its '/' components, ends with the file's stem
// (letters and digits only, any case): "adler32/c" and "BM_Adler32C" name adler32_c.c,
// "adler32_copy/c" does not.
bool NamesFileStrictly(const std::string& benchmark, const std::string& stem) {
  const std::string wanted = Alnum(stem);
  if (wanted.empty()) return false;
  std::string prefix;
  std::stringstream parts(benchmark);
  std::string part;
  while (std::getline(parts, part, '/')) {
    prefix += Alnum(part);
    if (EndsWith(prefix, wanted)) return true;
  }
  return false;
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
  // The test program: GoogleTest first, then one ctest runs, then plain ones; among equals the
  // one needing the fewest options switched on.
  auto fewer_options = [](const BuildProgram* a, const BuildProgram& b) {
    return a == nullptr || b.enabled_by.size() < a->enabled_by.size();
  };
  const BuildProgram* test = nullptr;
  for (const auto& p : in.test_programs)
    if (p.googletest && fewer_options(test, p)) test = &p;
  if (test == nullptr) {
    for (const auto& p : in.test_programs)
      if (p.ctest && fewer_options(test, p)) test = &p;
  }
  // Plain ones: a program with its own source file, then the plainest name.
  for (const auto& p : in.test_programs) {
    if (test != nullptr && (test->googletest || test->ctest)) break;
    if (test == nullptr || (test->sources.empty() && !p.sources.empty()) ||
        (test->sources.empty() == p.sources.empty() && p.name.size() < test->name.size()))
      test = &p;
  }
  // The benchmark program: a Google Benchmark one that registers benchmarks, else any Google
  // Benchmark one, else one of the repository's own.
  const BuildProgram* bench = nullptr;
  for (const auto& p : in.bench_programs) {
    bool registers = std::any_of(in.benchmarks.begin(), in.benchmarks.end(), [&](const auto& b) {
      return std::find(p.sources.begin(), p.sources.end(), b.source) != p.sources.end();
    });
    if (p.benchmark && registers && fewer_options(bench, p)) bench = &p;
  }
  for (const auto& p : in.bench_programs)
    if (bench == nullptr && p.benchmark) bench = &p;
  // Among the repository's own, the fewest options, then the plainest name (benchHash, not its
  // variants benchHash32 or benchHash_avx512).
  for (const auto& p : in.bench_programs) {
    if (bench != nullptr && bench->benchmark) break;
    if (bench == nullptr || p.enabled_by.size() < bench->enabled_by.size() ||
        (p.enabled_by.size() == bench->enabled_by.size() && p.name.size() < bench->name.size()))
      bench = &p;
  }
  auto& guesses = out.guesses;
  if (test != nullptr)
    guesses.push_back(fmt::format(
        "test program: {} ({}), because {}", test->name, test->output_path,
        test->googletest ? "it is a GoogleTest program"
        : test->ctest    ? "no GoogleTest program was found and ctest runs it"
                         : "no GoogleTest or ctest program was found; it runs by exit status"));
  if (bench != nullptr)
    guesses.push_back(fmt::format(
        "benchmark program: {} ({}), because {}", bench->name, bench->output_path,
        bench->benchmark ? "it links Google Benchmark"
                         : "its name says benchmark; it links no Google Benchmark library, so "
                           "rlvr times it as a whole (bench_command)"));
  // Options the chosen programs need (every ctest program's, when ctest runs the tests).
  std::vector<std::string> enable;
  auto need = [&](const BuildProgram& p) {
    for (const auto& option : p.enabled_by) {
      if (std::find(enable.begin(), enable.end(), option) != enable.end()) continue;
      enable.push_back(option);
      guesses.push_back(
          fmt::format("configure_args: -D{}=ON, because {} is built only with it "
                      "({} has it off by default)",
                      option, p.name, p.defined_in));
    }
  };
  if (test != nullptr && test->ctest && !test->googletest) {
    for (const auto& p : in.test_programs)
      if (p.ctest) need(p);
  } else if (test != nullptr) {
    need(*test);
  }
  if (bench != nullptr) need(*bench);
  // No program found: an option named like a test or benchmark switch that is off may hide them.
  for (const auto& option : in.options) {
    std::string upper = option.name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    bool test_switch = upper.find("TEST") != std::string::npos;
    bool bench_switch =
        upper.find("BENCHMARK") != std::string::npos && upper.find("APP") == std::string::npos;
    if (option.default_on || upper.starts_with("CMAKE_")) continue;
    if ((test_switch && test == nullptr) || (bench_switch && bench == nullptr)) {
      if (std::find(enable.begin(), enable.end(), option.name) != enable.end()) continue;
      enable.push_back(option.name);
      guesses.push_back(
          fmt::format("configure_args: -D{}=ON, because no {} program was found "
                      "and its name says it builds them (off by default in {})",
                      option.name, test_switch ? "test" : "benchmark", option.defined_in));
    }
  }
  if (in.build_system == "cmake") {
    if (!in.cmake_dir.empty()) build["source_subdir"] = in.cmake_dir;
    std::vector<std::string> configure;
    if (HasProgram("ninja")) configure = {"-G", "Ninja"};
    configure.push_back("-DCMAKE_BUILD_TYPE=Release");
    configure.push_back("-DCMAKE_EXPORT_COMPILE_COMMANDS=ON");
    for (const auto& option : enable) configure.push_back("-D" + option + "=ON");
    build["configure_args"] = configure;
    if (!in.sanitize_option.empty()) {
      build["sanitize_args"] = {"-D" + in.sanitize_option + "=ON"};
    } else {
      // Added to configure_args' own flags variables, never replacing them (MergeConfigureArgs).
      const std::string flags = "-fsanitize=address,undefined -fno-omit-frame-pointer";
      build["sanitize_args"] = {"-DCMAKE_C_FLAGS=" + flags, "-DCMAKE_CXX_FLAGS=" + flags,
                                "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined",
                                "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined"};
    }
  } else if (in.build_system == "make") {
    build["_comment"] =
        "How rlvr builds HEAD and each candidate: the command runs in the tree being judged, "
        "{build_dir} is that tree's build directory under .rlvr/build/ (artifacts are relative to "
        "it). sanitize_command builds the ASan+UBSan variant into its own build dir; it adds the "
        "sanitizers through CC and CXX, so every flag the Makefiles set stays; isa_command builds "
        "the instruction-set levels the portable gate tests ({march}: x86-64-v2, v3, v4) the "
        "same way.";
    // Only the chosen programs: a variant (benchHash32 needs -m32 libraries) may not build here.
    std::vector<const BuildProgram*> made;
    for (const auto* p : {test, bench})
      if (p != nullptr) made.push_back(p);
    std::vector<std::string> artifacts;
    for (const auto* p : made) artifacts.push_back(p->output_path);
    bool subdirectories = std::any_of(made.begin(), made.end(),
                                      [](const BuildProgram* p) { return !p->make_dir.empty(); });
    const std::string sanitizer = "-fsanitize=address,undefined -fno-sanitize-recover=all -g";
    const std::vector<std::string> sanitizer_compilers = {"CC=cc " + sanitizer,
                                                          "CXX=c++ " + sanitizer};
    // Instruction-set levels (the portable gate) the same way: -march through CC and CXX.
    const std::vector<std::string> isa_compilers = {"CC=cc -march={march}",
                                                    "CXX=c++ -march={march}"};
    std::vector<std::string> command = {"make"};
    std::vector<std::string> sanitize;
    std::vector<std::string> isa;
    if (!in.make_build_variable.empty() && !subdirectories) {
      command.push_back(in.make_build_variable + "={build_dir}");
      if (in.make_has_all) command.push_back("all");
      sanitize = command;
      sanitize.insert(sanitize.begin() + 1, sanitizer_compilers.begin(), sanitizer_compilers.end());
      isa = command;
      isa.insert(isa.begin() + 1, isa_compilers.begin(), isa_compilers.end());
      guesses.push_back(
          fmt::format("build.command: make {}={{build_dir}}, because the Makefile "
                      "puts its programs under ${}",
                      in.make_build_variable, in.make_build_variable));
    } else {
      // The Makefiles build in the tree: make each program in its directory (-B: always, so a
      // sanitizer build never reuses plain objects nor the other way round), then copy the
      // programs to the build dir.
      auto script = [&](const std::string& extra) {
        std::string text;
        std::string copy;
        for (const auto* p : made) {
          text += fmt::format("make -B{}{} {} && ", extra,
                              p->make_dir.empty() ? "" : " -C " + p->make_dir,
                              p->make_goal.empty() ? p->name : p->make_goal);
          copy += " " + (p->make_dir.empty() ? "" : p->make_dir + "/") + p->name;
        }
        return text + "mkdir -p {build_dir} && cp" + (copy.empty() ? " TODO" : copy) +
               " {build_dir}/";
      };
      command = {"sh", "-c", script("")};
      sanitize = {"sh", "-c", script(" 'CC=cc " + sanitizer + "' 'CXX=c++ " + sanitizer + "'")};
      isa = {"sh", "-c", script(" 'CC=cc -march={march}' 'CXX=c++ -march={march}'")};
      guesses.push_back(
          subdirectories
              ? std::string("build.command: make in each program's directory, then copy the "
                            "programs to {build_dir}, because the test and benchmark programs "
                            "are made by the Makefiles of their own directories")
              : std::string("build.command: make in the tree, then copy the programs to "
                            "{build_dir}, because the Makefile has no output-directory variable "
                            "(BUILD, O, OUT_DIR...)"));
    }
    build["command"] = command;
    build["sanitize_command"] = sanitize;
    build["isa_command"] = isa;
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
      test_commands.push_back({{"name", test->name},
                               {"command", {"{build_dir}/" + test->output_path}},
                               {"kind", "exit_status"}});
      std::string others;
      for (const auto& p : in.test_programs)
        if (&p != test && !p.googletest) others += (others.empty() ? "" : ", ") + p.name;
      if (!others.empty())
        todos.push_back(
            fmt::format("test_commands: {} runs for every target and passes by its "
                        "exit status; other test programs not run: {}",
                        test->name, others));
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
  std::string timed_name;  // the one benchmark a timed bench_command reports
  if (bench != nullptr && !bench->benchmark) {
    // A benchmark program of its own output format: timed as a whole by a shell wrapper that
    // prints Google Benchmark JSON (the fastest of three runs), so the gate can judge it.
    timed_name = bench->name;
    std::vector<std::string> command =
        TimedCommand(bench->name, "{build_dir}/" + bench->output_path);
    // A program whose usage asks for files (libdeflate's "benchmark [FILE]...") is given the
    // repository's largest data file, which no candidate edits.
    bool wants_files = false;
    for (const auto& source : bench->sources) {
      std::string text = ReadFileText(in.root / source);
      wants_files = wants_files || text.find("FILE]") != std::string::npos ||
                    text.find("FILE...") != std::string::npos;
    }
    if (wants_files && !in.largest_data_file.empty()) {
      command.push_back(in.largest_data_file);
      guesses.push_back(
          fmt::format("bench_command: {} is given {} as input, because its usage "
                      "asks for files and that is the largest data file committed",
                      bench->name, in.largest_data_file));
    }
    bench_command = {{"command", command}, {"format", "google_benchmark_json"}};
    todos.push_back(fmt::format(
        "bench_command: times {} run {} (its own output is discarded). If it needs another "
        "input or a size to measure the kernel, put them in bench_command.command after "
        "\"{{build_dir}}/{}\"",
        bench->name,
        wants_files && !in.largest_data_file.empty() ? "on " + in.largest_data_file
                                                     : std::string("without arguments"),
        bench->output_path));
  } else if (bench != nullptr) {
    build["bench_binary"] = bench->output_path;
  } else {
    build["bench_binary"] = "TODO: Google Benchmark program, relative to the build dir";
    todos.push_back("build.bench_binary: no program linking Google Benchmark found");
  }
  if (in.build_system != "make") build["portable_args"] = nlohmann::json::array();
  config["build"] = build;

  // Targets: the ranked kernels (loops, called by the tests and benchmarks; never plumbing),
  // else the library sources a registered benchmark names, else the first few sources.
  std::vector<std::string> chosen;
  for (size_t i = 0; i < in.kernels.size() && i < 4; ++i) chosen.push_back(in.kernels[i].path);
  for (const auto& source : in.library_sources) {
    if (!in.kernels.empty()) break;
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
    for (size_t i = 0; i < in.library_sources.size() && chosen.size() < 4; ++i)
      if (!IsPlumbingName(in.library_sources[i])) chosen.push_back(in.library_sources[i]);
  }
  for (const auto& source : chosen) {
    auto kernel = std::find_if(in.kernels.begin(), in.kernels.end(),
                               [&](const KernelGuess& k) { return k.path == source; });
    guesses.push_back(fmt::format("target {}: {}", Stem(source),
                                  kernel != in.kernels.end()
                                      ? "a kernel: " + kernel->reason
                                      : std::string("no file ranks as a kernel (none has a "
                                                    "loop); a library source")));
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
    // The benchmarks that name the file: strictly (adler32/c for adler32_c.c, not
    // adler32_copy/c), else any whose name contains the stem (BM_DotProduct for dot.cpp).
    std::vector<const RegisteredBenchmark*> matching;
    for (const auto& b : in.benchmarks) {
      if (NamesFileStrictly(b.name, stem)) matching.push_back(&b);
    }
    for (const auto& b : in.benchmarks) {
      if (!matching.empty()) break;
      if (Alnum(b.name).find(Alnum(stem)) != std::string::npos) matching.push_back(&b);
    }
    if (!timed_name.empty()) {
      t["benchmarks"] = "^" + RegexEscape(timed_name) + "$";
      t["primary"] = {timed_name};
    } else if (!matching.empty()) {
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
