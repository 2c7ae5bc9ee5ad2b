#include "harness/repo/mutant_screen.h"

#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/candidate/build.h"
#include "harness/candidate/compile_commands.h"
#include "harness/candidate/compile_recorder.h"
#include "harness/git/worktree.h"
#include "harness/verify/isa_levels.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

// One compile of the database, moved to the scratch tree.
struct Compile {
  fs::path directory;
  std::vector<std::string> words;
  fs::path source;  // absolute
};

// Which lines of one file the build compiles, and in which translation units.
struct FileCompiles {
  std::string error;                                    // why it cannot be told; empty when it can
  std::vector<std::pair<size_t, std::set<int>>> units;  // compile index -> its kept lines
  std::set<int> kept;                                   // kept by some unit
  std::vector<bool> code;                               // lines holding code
};

// `text` with every occurrence of `from` replaced by `to`.
std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// `text` with a marker token on a line of its own before each code line, placed before the
// logical line holding it (a marker inside a backslash continuation would join a directive). The
// preprocessor keeps a marker exactly when it keeps the line after it.
std::string MarkedText(const std::string& text, const std::vector<bool>& code) {
  const std::vector<std::string> source = Lines(text);
  std::map<int, std::vector<int>> markers_before;
  for (int line = 1; line <= static_cast<int>(source.size()); ++line) {
    if (static_cast<size_t>(line) > code.size() || !code[line - 1]) continue;
    int start = line;
    while (start > 1 && !source[start - 2].empty() && source[start - 2].back() == '\\') --start;
    markers_before[start].push_back(line);
  }
  std::string marked;
  for (int i = 1; i <= static_cast<int>(source.size()); ++i) {
    if (auto it = markers_before.find(i); it != markers_before.end())
      for (int line : it->second) marked += fmt::format("__rlvr_mutant_line_{}__\n", line);
    marked += source[i - 1] + "\n";
  }
  return marked;
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Puts HEAD's text back in the scratch tree however the screening of a file ends.
class RestoreOnExit {
 public:
  RestoreOnExit(fs::path path, const std::string& text) : path_(std::move(path)), text_(text) {}
  ~RestoreOnExit() { WriteText(path_, text_); }
  RestoreOnExit(const RestoreOnExit&) = delete;
  RestoreOnExit& operator=(const RestoreOnExit&) = delete;

 private:
  fs::path path_;
  const std::string& text_;
};

}  // namespace

struct MutantScreen::State {
  fs::path tree;         // the scratch worktree at HEAD
  fs::path objects_dir;  // HEAD's and the mutants' objects
  std::vector<Compile> compiles;
  std::string unavailable;
  std::string source;
  std::map<std::string, std::string> head_texts;
  std::map<std::string, FileCompiles> files;
  std::map<size_t, std::optional<fs::path>> head_objects;  // nullopt: HEAD's compile failed
  std::map<size_t, std::string> head_object_errors;

  // The compile's words for the compiler run on its own source with `tail` appended: no ccache,
  // no object or dependency output of its own.
  std::vector<std::string> Argv(const Compile& c, const std::vector<std::string>& tail) const {
    std::vector<std::string> argv;
    std::error_code ec;
    for (size_t i = 0; i < c.words.size(); ++i) {
      const std::string& word = c.words[i];
      if (i == 0 && fs::path(word).filename() == "ccache") continue;
      if (word == "-c" || word == "-MD" || word == "-MMD" || word == "-MP") continue;
      if (word == "-o" || word == "-MF" || word == "-MT" || word == "-MQ") {
        ++i;
        continue;
      }
      fs::path as_path = fs::path(word).is_relative() ? c.directory / word : fs::path(word);
      if (word[0] != '-' && as_path.lexically_normal() == c.source.lexically_normal()) continue;
      argv.push_back(word);
    }
    argv.insert(argv.end(), tail.begin(), tail.end());
    return argv;
  }

  ProcessResult Run(const Compile& c, const std::vector<std::string>& tail) const {
    RunOptions options;
    options.cwd = c.directory;
    options.limits.wall_seconds = 300;
    options.max_output_bytes = size_t{256} << 20;
    return RunProcess(Argv(c, tail), options);
  }

  // Compiles unit `index` as the scratch tree now is into `object`; the error when it fails.
  std::string CompileTo(size_t index, const fs::path& object) const {
    const Compile& c = compiles[index];
    ProcessResult result = Run(c, {"-c", c.source.string(), "-o", object.string()});
    if (result.ok()) return "";
    return fmt::format("{}: {}", c.source.filename().string(), result.Describe());
  }

  // HEAD's object of unit `index`, compiled once.
  const std::optional<fs::path>& HeadObject(size_t index) {
    auto it = head_objects.find(index);
    if (it != head_objects.end()) return it->second;
    fs::path object = objects_dir / fmt::format("head-{}.o", index);
    std::string error = CompileTo(index, object);
    if (!error.empty()) head_object_errors[index] = error;
    return head_objects[index] = error.empty() ? std::optional<fs::path>(object) : std::nullopt;
  }

  const std::string& HeadText(const std::string& path) {
    auto it = head_texts.find(path);
    if (it == head_texts.end()) it = head_texts.emplace(path, ReadFileText(tree / path)).first;
    return it->second;
  }

  // Which units keep which lines of `path`: every unit of the database preprocessed with the file
  // marked (a header is found in the units that include it, however deeply).
  const FileCompiles& CompilesOf(const std::string& path) {
    auto it = files.find(path);
    if (it != files.end()) return it->second;
    FileCompiles& fc = files[path];
    const std::string& text = HeadText(path);
    fc.code = LinesWithCode(text);
    const fs::path file = tree / path;
    RestoreOnExit restore(file, text);
    WriteText(file, MarkedText(text, fc.code));
    static const std::regex marker_re(R"(__rlvr_mutant_line_(\d+)__)");
    for (size_t i = 0; i < compiles.size(); ++i) {
      ProcessResult result = Run(compiles[i], {"-E", compiles[i].source.string()});
      if (!result.ok()) {
        fc.error = fmt::format("preprocessing {} failed ({}): {}", compiles[i].source.string(),
                               result.Describe(), result.err.substr(0, 300));
        fc.units.clear();
        fc.kept.clear();
        return fc;
      }
      std::set<int> kept;
      for (auto m = std::sregex_iterator(result.out.begin(), result.out.end(), marker_re);
           m != std::sregex_iterator(); ++m)
        kept.insert(std::stoi((*m)[1]));
      if (kept.empty()) continue;
      fc.kept.insert(kept.begin(), kept.end());
      fc.units.emplace_back(i, std::move(kept));
    }
    return fc;
  }
};

bool SameObjectCode(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (a.empty() || b.empty() || !fs::exists(a, ec) || !fs::exists(b, ec)) return false;
  std::vector<std::string> stripped;
  for (const fs::path& object : {a, b}) {
    fs::path out = object.string() + ".rlvr-tce";
    RunOptions options;
    options.limits.wall_seconds = 60;
    ProcessResult result = RunProcess(
        {"objcopy", "--strip-debug", "--remove-section=.comment", object.string(), out.string()},
        options);
    if (!result.ok()) return false;
    stripped.push_back(ReadFileText(out));
    fs::remove(out, ec);
  }
  return stripped[0] == stripped[1];
}

MutantScreen::MutantScreen(const Project& project, int jobs, double build_timeout_seconds)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  const fs::path state_dir = project.root / ".rlvr";
  try {
    s.tree = PrepareWorktree(project.root, state_dir, "mutants", HeadCommit(project.root));
  } catch (const std::exception& e) {
    s.unavailable = fmt::format("no scratch tree for the screen: {}", e.what());
    return;
  }
  s.objects_dir = state_dir / "mutants-tce";
  std::error_code ec;
  fs::remove_all(s.objects_dir, ec);
  fs::create_directories(s.objects_dir, ec);
  const fs::path own_build = state_dir / "build" / "mutants";
  fs::path database_dir;
  std::string from, to;  // a prefix of the database's paths and what it becomes
  if (project.build.UsesBuildCommand()) {
    RecordedCompiles recorded =
        RecordCompileCommands(project.build, s.tree, own_build, jobs, build_timeout_seconds);
    if (!recorded.ok) {
      s.unavailable = recorded.message;
      return;
    }
    database_dir = own_build;
    s.source = fmt::format("{} in a scratch tree (CC and CXX recorded)", recorded.message);
  } else if (fs::exists(state_dir / "build" / "baseline" / "compile_commands.json")) {
    database_dir = state_dir / "build" / "baseline";
    from = (state_dir / "worktrees" / "baseline").string();
    to = s.tree.string();
    s.source = "the baseline build's compile_commands.json, moved to a scratch tree";
  } else {
    // The repository exports none: a configure of its arguments that does (sources generated
    // only while building are then missing, and the files needing them say so).
    BuildOutcome configured = Configure(ProjectBuild(project.build, s.tree, own_build,
                                                     {"-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"}, {},
                                                     jobs, build_timeout_seconds));
    if (!configured.ok) {
      s.unavailable =
          "the baseline build has no compile_commands.json, and configuring one "
          "failed: " +
          configured.message;
      return;
    }
    database_dir = own_build;
    s.source = "a configure of the scratch tree with CMAKE_EXPORT_COMPILE_COMMANDS=ON";
  }
  nlohmann::json entries;
  try {
    entries = ReadCompileCommands(database_dir);
  } catch (const std::exception& e) {
    s.unavailable = e.what();
    return;
  }
  const std::string canonical_from =
      from.empty() ? "" : fs::weakly_canonical(fs::path(from), ec).string();
  auto moved = [&](const std::string& word) {
    std::string out = ReplaceAll(word, from, to);
    return canonical_from == from ? out : ReplaceAll(out, canonical_from, to);
  };
  for (const auto& entry : entries) {
    if (!entry.is_object()) continue;
    Compile c;
    c.directory = moved(entry.value("directory", database_dir.string()));
    for (const auto& word : CommandWords(entry)) c.words.push_back(moved(word));
    c.source = moved(entry.value("file", ""));
    if (c.source.is_relative()) c.source = c.directory / c.source;
    if (!c.words.empty() && !c.source.empty()) s.compiles.push_back(std::move(c));
  }
  if (s.compiles.empty()) s.unavailable = "the compile database lists no compile";
}

MutantScreen::~MutantScreen() {
  std::error_code ec;
  if (!state_->objects_dir.empty()) fs::remove_all(state_->objects_dir, ec);
}

const std::string& MutantScreen::Unavailable() const {
  return state_->unavailable;
}
const std::string& MutantScreen::DatabaseSource() const {
  return state_->source;
}

std::vector<bool> MutantScreen::NeverCompiledLines(const std::string& path,
                                                   const std::string& text) {
  if (!state_->unavailable.empty() || state_->HeadText(path) != text) return {};
  const FileCompiles& fc = state_->CompilesOf(path);
  if (!fc.error.empty() || fc.units.empty()) return {};
  std::vector<bool> never(fc.code.size(), false);
  for (size_t i = 0; i < fc.code.size(); ++i)
    never[i] = fc.code[i] && !fc.kept.contains(static_cast<int>(i) + 1);
  return never;
}

ScreenResult MutantScreen::Screen(const Mutant& mutant, const std::vector<bool>& isa_lines) {
  State& s = *state_;
  if (!s.unavailable.empty()) return {ScreenOutcome::kUnscreened, s.unavailable};
  const FileCompiles& fc = s.CompilesOf(mutant.path);
  if (!fc.error.empty()) return {ScreenOutcome::kUnscreened, fc.error};
  if (fc.units.empty())
    return {ScreenOutcome::kUnscreened,
            fmt::format("no compile of this build includes {}", mutant.path)};
  const int line = mutant.site.line;
  std::vector<size_t> keeping;
  for (const auto& [index, kept] : fc.units)
    if (kept.contains(line)) keeping.push_back(index);
  if (keeping.empty()) {
    if (static_cast<size_t>(line) <= isa_lines.size() && isa_lines[line - 1])
      return {ScreenOutcome::kUnscreened,
              "instruction-set-conditional: another level of the portable gate may compile it"};
    return {ScreenOutcome::kNotCompiled,
            fmt::format("none of the {} translation unit(s) including {} keeps line {}",
                        fc.units.size(), mutant.path, line)};
  }
  for (size_t index : keeping) {
    if (!s.HeadObject(index))
      return {ScreenOutcome::kUnscreened,
              "HEAD does not compile in the scratch tree: " + s.head_object_errors[index]};
  }
  const fs::path file = s.tree / mutant.path;
  RestoreOnExit restore(file, s.HeadText(mutant.path));
  WriteText(file, mutant.mutated_text);
  const fs::path object = s.objects_dir / "mutant.o";
  for (size_t index : keeping) {
    std::string error = s.CompileTo(index, object);
    if (!error.empty()) return {ScreenOutcome::kDifferent, "the mutant does not compile: " + error};
    if (!SameObjectCode(*s.HeadObject(index), object))
      return {ScreenOutcome::kDifferent,
              fmt::format("the object code of {} changes", s.compiles[index].source.string())};
  }
  return {ScreenOutcome::kEquivalent,
          fmt::format("same object code as HEAD in {} translation unit(s)", keeping.size())};
}

}  // namespace rlvr
