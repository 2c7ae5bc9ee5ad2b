#include "harness/verify/default_oracle.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/candidate/compile_commands.h"
#include "harness/candidate/run.h"
#include "harness/candidate/sources.h"
#include "harness/verify/c_definitions.h"
#include "harness/verify/driven_signature.h"
#include "harness/verify/oracle_driver.h"
#include "harness/verify/oracle_units.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

constexpr const char* kCandidatePrefix = "rlvr_candidate_";

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The compiler driver of a compile command (past a launcher such as ccache).
std::string CompilerOf(const std::vector<std::string>& words) {
  for (const auto& w : words) {
    std::string name = fs::path(w).filename().string();
    if (name == "ccache" || name == "sccache" || name == "distcc") continue;
    return w;
  }
  return "cc";
}

// Globally defined (or, with `undefined`, undefined) symbols of each object, by object.
std::map<std::string, std::set<std::string>> Symbols(const std::vector<fs::path>& objects,
                                                     bool undefined) {
  std::map<std::string, std::set<std::string>> out;
  for (size_t start = 0; start < objects.size(); start += 200) {
    std::vector<std::string> argv = {"nm", "-A"};
    if (undefined)
      argv.push_back("-u");
    else {
      argv.push_back("-g");
      argv.push_back("--defined-only");
    }
    for (size_t i = start; i < std::min(objects.size(), start + 200); ++i) {
      argv.push_back(objects[i].string());
      out[objects[i].string()];
    }
    ProcessResult r = RunTool(argv, {}, 120);
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::vector<std::string> parts;
      for (std::string w; words >> w;) parts.push_back(w);
      if (parts.size() < 2) continue;
      const std::string& name = parts.back();
      const std::string& type = parts[parts.size() - 2];
      const size_t colon = parts[0].find(':');
      if (colon == std::string::npos) continue;
      const std::string file = parts[0].substr(0, colon);
      if (!undefined && (type == "U" || type == "w" || type == "v")) continue;
      out[file].insert(name);
    }
  }
  return out;
}

std::vector<fs::path> ObjectsUnder(const std::vector<fs::path>& roots) {
  std::vector<fs::path> objects;
  std::set<fs::path> seen;
  for (const auto& root : roots) {
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec),
        end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (it->is_directory(ec) && (name == ".git" || name == ".rlvr")) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec) && (name.ends_with(".o") || name.ends_with(".obj")) &&
          seen.insert(fs::weakly_canonical(it->path(), ec)).second)
        objects.push_back(it->path());
    }
  }
  std::sort(objects.begin(), objects.end());
  return objects;
}

// HEAD's objects that provide what `needed` (undefined symbols) asks for, transitively: never one
// defining main or a symbol already defined by `defined` (the TU itself, or an object picked
// before: a static and a shared build compile the same file twice).
std::vector<fs::path> SupportObjects(const std::vector<fs::path>& candidates,
                                     std::set<std::string> needed, std::set<std::string> defined) {
  auto defs = Symbols(candidates, false);
  auto undefs = Symbols(candidates, true);
  std::map<std::string, std::string> definer;
  for (const auto& [file, symbols] : defs) {
    if (symbols.count("main")) continue;
    for (const auto& s : symbols) definer.emplace(s, file);
  }
  std::vector<fs::path> picked;
  std::set<std::string> used;
  std::vector<std::string> queue(needed.begin(), needed.end());
  while (!queue.empty()) {
    std::string symbol = queue.back();
    queue.pop_back();
    if (defined.count(symbol)) continue;
    auto it = definer.find(symbol);
    if (it == definer.end() || used.count(it->second)) continue;
    const auto& symbols = defs[it->second];
    bool clash = false;
    for (const auto& s : symbols) clash = clash || defined.count(s) > 0;
    if (clash) continue;
    used.insert(it->second);
    picked.push_back(it->second);
    defined.insert(symbols.begin(), symbols.end());
    for (const auto& s : undefs[it->second]) queue.push_back(s);
  }
  return picked;
}

std::string Mebibytes(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 20)) return fmt::format("{:.0f} MiB", bytes / 1048576.0);
  if (bytes >= 1024) return fmt::format("{:.0f} KiB", bytes / 1024.0);
  return fmt::format("{} bytes", bytes);
}

std::string LastLineStarting(const std::string& out, const std::string& prefix) {
  std::string found;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(prefix, 0) == 0) found = line.substr(prefix.size());
  return found;
}

// The names reachable from `name` through static definitions of `unit`.
bool Reaches(const CTranslationUnit& unit, const std::string& name,
             const std::set<std::string>& edited) {
  std::set<std::string> seen = {name};
  std::vector<std::string> stack = {name};
  while (!stack.empty()) {
    auto it = unit.definitions.find(stack.back());
    stack.pop_back();
    if (it == unit.definitions.end()) continue;
    for (const auto& ref : it->second.references) {
      if (!seen.insert(ref).second) continue;
      if (edited.count(ref)) return true;
      auto def = unit.definitions.find(ref);
      if (def != unit.definitions.end() && def->second.is_static) stack.push_back(ref);
    }
  }
  return false;
}

// One translation unit's part of the run.
struct UnitOutcome {
  std::vector<std::string> compared;    // "adler32_c on 412 cases up to 32 MiB"
  std::vector<std::string> not_driven;  // "XXH64_update: parameter ... is a struct pointer"
  std::optional<std::pair<std::string, std::string>> failure;  // message, detail
  bool compared_floats = false;  // some compared function has a float result or output
};

class UnitRun {
 public:
  UnitRun(const DefaultOracleInputs& in, Clock::time_point start, const CompileEntry& head,
          const CompileEntry& candidate, fs::path dir)
      : in_(in), in_start_(start), head_(head), candidate_(candidate), dir_(std::move(dir)) {}

  UnitOutcome Run() {
    const std::string unit_name = head_.source.lexically_relative(in_.head_tree).generic_string();
    std::string head_text, candidate_text;
    if (!Preprocess(head_, in_.head_tree, &head_text) ||
        !Preprocess(candidate_, in_.candidate_tree, &candidate_text)) {
      out_.not_driven.push_back(fmt::format("{}: {}", unit_name, why_));
      return out_;
    }
    CTranslationUnit head_unit = ParseTranslationUnit(head_text);
    CTranslationUnit candidate_unit = ParseTranslationUnit(candidate_text);
    std::set<std::string> edited;
    for (const auto& [name, def] : candidate_unit.definitions) {
      auto it = head_unit.definitions.find(name);
      if (it == head_unit.definitions.end() || it->second.text != def.text) edited.insert(name);
    }
    std::vector<const CDefinition*> affected;
    for (const auto& [name, def] : candidate_unit.definitions) {
      if (!def.is_function || def.is_static) continue;
      if (edited.count(name) || Reaches(candidate_unit, name, edited)) affected.push_back(&def);
    }
    if (affected.empty()) {
      out_.not_driven.push_back(fmt::format(
          "{}: {}", unit_name,
          edited.empty()
              ? "no definition changed once preprocessed"
              : "no external function reaches what changed (" +
                    JoinSome(std::vector<std::string>(edited.begin(), edited.end())) + ")"));
      return out_;
    }
    std::vector<std::pair<const CDefinition*, DrivenFunction>> driven;
    for (const CDefinition* def : affected) {
      std::string why;
      if (!head_unit.definitions.count(def->name)) {
        out_.not_driven.push_back(def->name + ": new in the candidate, no HEAD version to compare");
        continue;
      }
      if (auto f = DriveSignature(*def, candidate_unit, &why)) {
        std::string head_why;
        if (!DriveSignature(head_unit.definitions.at(def->name), head_unit, &head_why)) {
          out_.not_driven.push_back(def->name + ": its signature changed");
          continue;
        }
        driven.emplace_back(def, *f);
      } else {
        out_.not_driven.push_back(def->name + ": " + why);
      }
    }
    if (driven.empty()) return out_;
    if (static_cast<int>(driven.size()) > in_.max_functions) {
      for (size_t i = static_cast<size_t>(in_.max_functions); i < driven.size(); ++i)
        out_.not_driven.push_back(driven[i].second.name + ": over the limit of " +
                                  std::to_string(in_.max_functions) + " functions per file");
      driven.resize(static_cast<size_t>(in_.max_functions));
    }
    if (!Compile(head_, dir_ / "head.o") || !Compile(candidate_, dir_ / "candidate.o")) {
      for (auto& [def, f] : driven) out_.not_driven.push_back(f.name + ": " + why_);
      return out_;
    }
    auto head_defined = Symbols({dir_ / "head.o"}, false)[(dir_ / "head.o").string()];
    auto candidate_defined =
        Symbols({dir_ / "candidate.o"}, false)[(dir_ / "candidate.o").string()];
    if (!RenameCandidate(candidate_defined)) {
      for (auto& [def, f] : driven) out_.not_driven.push_back(f.name + ": " + why_);
      return out_;
    }
    std::set<std::string> needed;
    for (const auto& o : {dir_ / "head.o", dir_ / "candidate.o"}) {
      const auto undefined = Symbols({o}, true);  // named: a temporary would dangle in the loop
      for (const auto& s : undefined.at(o.string())) needed.insert(s);
    }
    std::set<std::string> defined = head_defined;
    for (const auto& s : candidate_defined) defined.insert(kCandidatePrefix + s);
    support_ = SupportObjects(ObjectsUnder(in_.object_roots), needed, defined);
    size_t left = driven.size();
    for (auto& [def, f] : driven) {
      const double spent = Seconds(Clock::now() - in_start_);
      seconds_ = std::clamp((in_.total_seconds - spent) / static_cast<double>(left--), 1.0,
                            std::max(1.0, in_.seconds_per_function));
      std::string why;
      const std::optional<std::string> symbol = LinkName(head_defined, f.name, &why);
      if (!symbol || !candidate_defined.count(*symbol)) {
        out_.not_driven.push_back(f.name + ": " +
                                  (symbol ? "the candidate's object defines no " + *symbol : why));
        continue;
      }
      DriveOne(f, *symbol);
      if (out_.failure) return out_;
    }
    return out_;
  }

 private:
  static std::string JoinSome(const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > 5) out += fmt::format(" and {} more", names.size() - 5);
    return out;
  }

  bool Preprocess(const CompileEntry& entry, const fs::path& tree, std::string* text) {
    std::vector<std::string> argv = BareWords(entry);
    argv.push_back("-E");
    ProcessResult r = RunTool(argv, entry.directory, in_.timeout_seconds);
    if (!r.ok()) {
      why_ = "the preprocessor failed: " + r.Describe();
      return false;
    }
    // Paths (assert's __FILE__) differ between the trees, not the code.
    *text = ReplaceDirectory(r.out, tree.lexically_normal().string(), "<tree>");
    return true;
  }

  bool Compile(const CompileEntry& entry, const fs::path& object) {
    std::vector<std::string> argv = BareWords(entry);
    for (const auto& w : {"-c", "-fno-lto", "-o"}) argv.push_back(w);
    argv.push_back(object.string());
    ProcessResult r = RunTool(argv, entry.directory, in_.timeout_seconds);
    if (!r.ok()) {
      why_ = fmt::format("its file does not compile outside the build ({}): {}", r.Describe(),
                         r.err.substr(0, 300));
      return false;
    }
    return true;
  }

  bool RenameCandidate(const std::set<std::string>& symbols) {
    std::ofstream map(dir_ / "rename.txt");
    for (const auto& s : symbols) map << s << ' ' << kCandidatePrefix << s << '\n';
    map.close();
    ProcessResult r = RunTool({"objcopy", "--redefine-syms=" + (dir_ / "rename.txt").string(),
                               (dir_ / "candidate.o").string()},
                              {}, 120);
    if (!r.ok()) why_ = "objcopy could not rename the candidate's symbols: " + r.Describe();
    return r.ok();
  }

  // The symbol `name` links by among `defined` (an object's global definitions): `name` itself
  // for C, else the one whose demangled form is `name` or `...::name` with its parameter list (a
  // C++ function in a namespace). Nullopt with `why` when none or several (overloads).
  std::optional<std::string> LinkName(const std::set<std::string>& defined, const std::string& name,
                                      std::string* why) {
    if (defined.count(name)) return name;
    std::vector<std::string> mangled, argv = {"c++filt"};
    for (const auto& s : defined)
      if (s.rfind("_Z", 0) == 0) {
        mangled.push_back(s);
        argv.push_back(s);
      }
    *why = "no global symbol of that name in both objects (inline only, or not compiled here)";
    if (mangled.empty()) return std::nullopt;
    ProcessResult r = RunTool(argv, dir_, in_.timeout_seconds);
    std::istringstream lines(r.out);
    std::vector<std::string> matches;
    size_t i = 0;
    for (std::string line; std::getline(lines, line) && i < mangled.size(); ++i) {
      const size_t paren = line.find('(');
      if (paren == std::string::npos) continue;
      const std::string qualified = line.substr(0, paren);
      if (qualified == name || qualified.ends_with("::" + name)) matches.push_back(mangled[i]);
    }
    if (matches.size() == 1) return matches[0];
    if (matches.size() > 1)
      *why = fmt::format("{} overloads of that C++ name: which one the signature means is unknown",
                         matches.size());
    return std::nullopt;
  }

  void DriveOne(const DrivenFunction& f, const std::string& symbol) {
    const fs::path source = dir_ / (f.name + "_driver.c");
    const fs::path program = dir_ / (f.name + "_driver");
    std::ofstream(source) << OracleDriverSource(f, symbol, kCandidatePrefix + symbol);
    std::vector<std::string> compile = {
        "cc", "-O1", "-std=c11", "-c", source.string(), "-o", source.string() + ".o"};
    ProcessResult compiled = RunTool(compile, dir_, in_.timeout_seconds);
    if (!compiled.ok()) {
      out_.not_driven.push_back(
          f.name + ": its driver does not compile (an oracle bug): " + compiled.err.substr(0, 300));
      return;
    }
    std::vector<std::string> link = {CompilerOf(head_.words),    "-o",
                                     program.string(),           source.string() + ".o",
                                     (dir_ / "head.o").string(), (dir_ / "candidate.o").string()};
    for (const auto& o : support_) link.push_back(o.string());
    for (const auto& w : {"-lm", "-lpthread"}) link.push_back(w);
    ProcessResult linked = RunTool(link, dir_, in_.timeout_seconds);
    if (!linked.ok()) {
      std::string err = linked.err;
      const size_t at = err.find("undefined reference");
      out_.not_driven.push_back(fmt::format(
          "{}: HEAD's and the candidate's versions do not link into one driver ({})", f.name,
          (at != std::string::npos ? err.substr(at, 160) : err.substr(0, 200))));
      return;
    }
    RunOptions options;
    options.cwd = dir_;
    options.limits = CandidateLimits(in_.timeout_seconds, false);
    ProcessResult run =
        RunProcess({program.string(), std::to_string(in_.seed), fmt::format("{:.2f}", seconds_),
                    std::to_string(in_.byte_cap), fmt::format("{:g}", in_.tolerance)},
                   options);
    const std::string last_case = LastLineStarting(run.out, "RLVR_CASE ");
    const std::string case_text = last_case.substr(std::min(last_case.find(' '), last_case.size()));
    const std::string detail =
        fmt::format("default oracle driver of {} (seed {}), last lines:\n{}", f.name, in_.seed,
                    run.out.size() > 1500 ? run.out.substr(run.out.size() - 1500) : run.out);
    if (std::string diff = LastLineStarting(run.out, "RLVR_DIFF "); !diff.empty()) {
      out_.failure = {
          fmt::format("default oracle: the candidate's {} differs from HEAD's for{}: {}", f.name,
                      case_text, diff.substr(diff.find(' ') + 1)),
          detail};
      return;
    }
    if (std::string done = LastLineStarting(run.out, "RLVR_DONE "); run.ok() && !done.empty()) {
      std::istringstream words(done);
      int cases = 0, stopped = 0;
      unsigned long long length = 0, bytes = 0;
      words >> cases >> length >> bytes >> stopped;
      out_.compared_floats = out_.compared_floats || f.HasFloatingOutputs();
      out_.compared.push_back(fmt::format("{} on {} cases up to length {} ({}){}", f.name, cases,
                                          length, Mebibytes(bytes),
                                          stopped ? ", stopped by its time budget" : ""));
      return;
    }
    // A crash or a hang: whose?
    const std::string side = LastLineStarting(run.out, "RLVR_CALL ");
    if (side == "candidate") {
      out_.failure = {
          fmt::format("default oracle: the candidate's {} {} for{} (HEAD's returned)", f.name,
                      run.timed_out ? "did not return" : "crashed (" + run.Describe() + ")",
                      case_text),
          detail};
      return;
    }
    out_.not_driven.push_back(
        fmt::format("{}: HEAD's version itself fails on the oracle's inputs "
                    "({}{})",
                    f.name, run.Describe(), case_text.empty() ? "" : "," + case_text));
  }

  const DefaultOracleInputs& in_;
  Clock::time_point in_start_;  // when the whole run started: functions share its total time
  double seconds_ = 1;          // the current driver's time
  CompileEntry head_, candidate_;
  fs::path dir_;
  std::vector<fs::path> support_;
  std::string why_;
  UnitOutcome out_;
};

}  // namespace

DefaultOracleRun RunDefaultOracle(const DefaultOracleInputs& in) {
  DefaultOracleRun run;
  const Clock::time_point start = Clock::now();
  std::error_code ec;
  fs::remove_all(in.work_dir, ec);
  fs::create_directories(in.work_dir);
  std::vector<std::string> notes;
  std::vector<CompileEntry> units;
  try {
    units = UnitsOfFiles(in.compile_db_dir, in.compile_db_tree, in.edited_files, &notes);
  } catch (const std::exception& e) {
    run.message = std::string("no default oracle: ") + e.what();
    return run;
  }
  std::vector<std::string> compared, not_driven = notes;
  bool floats = false;
  int index = 0;
  for (const auto& unit : units) {
    const CompileEntry head = Rebase(unit, in.compile_db_tree, in.head_tree);
    const CompileEntry candidate = Rebase(unit, in.compile_db_tree, in.candidate_tree);
    // A build dir inside the tree (build/ of a recorded command build) may be missing from the
    // candidate's copy: its compile command runs there.
    std::error_code mkdir_error;
    fs::create_directories(candidate.directory, mkdir_error);
    const fs::path dir = in.work_dir / std::to_string(index++);
    fs::create_directories(dir);
    UnitOutcome outcome = UnitRun(in, start, head, candidate, dir).Run();
    if (outcome.failure) {
      run.ok = false;
      run.message = outcome.failure->first;
      run.detail = outcome.failure->second;
      return run;
    }
    compared.insert(compared.end(), outcome.compared.begin(), outcome.compared.end());
    floats = floats || outcome.compared_floats;
    not_driven.insert(not_driven.end(), outcome.not_driven.begin(), outcome.not_driven.end());
  }
  run.driven = static_cast<int>(compared.size());
  std::string not_text;
  for (size_t i = 0; i < not_driven.size(); ++i) not_text += (i ? "; " : "") + not_driven[i];
  if (compared.empty()) {
    run.message = "no default oracle: " +
                  (not_text.empty() ? std::string("no C/C++ translation unit of the edited files")
                                    : not_text);
    return run;
  }
  std::string text;
  for (size_t i = 0; i < compared.size(); ++i) text += (i ? ", " : "") + compared[i];
  run.message = fmt::format(
      "default oracle: {}, identical to HEAD{}{} (seed {}, {:.1f} s)", text,
      floats ? fmt::format(" (floats within a relative {:g}, or a float result within "
                           "HEAD's rounding bound for a sum of its inputs)",
                           in.tolerance)
             : "",
      not_text.empty() ? "" : "; not driven: " + not_text, in.seed, Seconds(Clock::now() - start));
  return run;
}

}  // namespace rlvr
