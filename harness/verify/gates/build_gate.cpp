// build: HEAD and the candidate build; before anything links the candidate, the lines it adds
// pass the source check (a fast first filter with clear messages), and the object of each edited
// file passes the symbol check (verify/symbol_check.h: no definitions of clock_gettime, malloc,
// ...) and the object audit (verify/object_audit.h: no new writable static storage, load-time code
// or impure external references). After linking, the binary audit (AuditLinkedBinary) compares the
// test and benchmark programs (or every program of the build, or a build command's artifacts) with
// HEAD's: it covers what no single object shows — kernels in headers, LTO, a missing compile
// database.
#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/candidate/build.h"
#include "harness/candidate/compile_commands.h"
#include "harness/candidate/sources.h"
#include "harness/git/worktree.h"
#include "harness/verify/expanded_source_check.h"
#include "harness/verify/gates/gate.h"
#include "harness/verify/include_check.h"
#include "harness/verify/object_audit.h"
#include "harness/verify/preprocessor.h"
#include "harness/verify/symbol_check.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

// The binary audit (verify/object_audit.h, AuditLinkedBinary) of `binaries` (relative to both build
// dirs): HEAD's build of each against the candidate's. Fills `findings` (formatted, prefixed
// with the binary's path) and returns what was audited, for the verdict: never a silent skip.
// `scan_instructions`: also disassemble (slow on big programs; needed when some edited file had no
// object of its own for the object audit to disassemble).
std::string AuditBinaries(GateContext& c, const std::vector<std::string>& binaries,
                          bool scan_instructions, std::vector<std::string>* findings) {
  std::vector<std::string> audited, missing, stripped, unscanned;
  ObjectAuditPolicy policy;
  policy.allowed_state = c.target.allowed_state;
  policy.allowed_references = c.target.allowed_calls;
  // What the build's own shared libraries define may be referenced by its programs.
  for (const auto& binary : binaries) {
    fs::path path = c.candidate_build / binary;
    if (!IsLinkedElf(path)) continue;
    for (auto& name : DefinedGlobalSymbols(path)) policy.library_symbols.insert(std::move(name));
  }
  for (const auto& binary : binaries) {
    fs::path candidate = c.candidate_build / binary;
    fs::path baseline = c.baseline_build / binary;
    if (!IsLinkedElf(candidate) || !IsLinkedElf(baseline)) {
      missing.push_back(binary);
      continue;
    }
    bool dynamic_only = false;
    std::string not_scanned;
    for (auto& line : FormatAuditFindings(
             binary, AuditLinkedBinary(candidate, baseline, policy, c.target.symbols,
                                       scan_instructions, &dynamic_only, &not_scanned)))
      findings->push_back(std::move(line));
    audited.push_back(binary);
    if (dynamic_only) stripped.push_back(binary);
    if (!not_scanned.empty()) unscanned.push_back(fmt::format("{} ({})", binary, not_scanned));
  }
  std::string message;
  if (audited.empty())
    message = "binary audit: no linked program or library to compare";
  else
    message = fmt::format("binary audit of {} against HEAD's build{}", JoinNames(audited),
                          scan_instructions ? " (symbols and instructions)" : " (symbols)");
  if (!missing.empty())
    message +=
        fmt::format(" (not audited, not a linked ELF file in both builds: {})", JoinNames(missing));
  if (!stripped.empty())
    message += fmt::format(" (stripped, dynamic symbols only: {})", JoinNames(stripped));
  if (!unscanned.empty())
    message += fmt::format(" (instructions not scanned: {})", JoinNames(unscanned));
  return message;
}

// The linked programs and libraries a build produced that the binary audit compares: the test
// and benchmark binaries when only they were built, else every linked ELF file of the build dir.
std::vector<std::string> BinariesToAudit(const GateContext& c) {
  const BuildConfig& build = c.project.build;
  if (build.UsesBuildCommand()) {
    if (build.artifacts.empty()) return LinkedBinariesUnder(c.candidate_build);
    return build.artifacts;
  }
  if (c.BinaryTargets().empty()) return LinkedBinariesUnder(c.candidate_build);
  // Only the test and benchmark binaries were built (other programs of the build dir may be left
  // from earlier candidates), with the build's own shared libraries they load: the kernel may
  // live in one.
  std::vector<std::string> binaries = {build.test_binary, build.bench_binary};
  std::set<std::string> needed;
  for (const auto& binary : {build.test_binary, build.bench_binary}) {
    if (!IsLinkedElf(c.candidate_build / binary)) continue;
    for (auto& library : NeededLibraries(c.candidate_build / binary)) needed.insert(library);
  }
  if (needed.empty()) return binaries;
  // "libkern.so.1" is usually a symlink to the file itself: resolve it inside the build dir.
  std::error_code ec;
  const fs::path build_dir = fs::weakly_canonical(c.candidate_build, ec);
  fs::recursive_directory_iterator it(build_dir, fs::directory_options::skip_permission_denied, ec),
      end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() == "CMakeFiles") {
      it.disable_recursion_pending();
      continue;
    }
    if (!needed.count(it->path().filename().string())) continue;
    fs::path target = fs::weakly_canonical(it->path(), ec);
    std::string relative = target.lexically_relative(build_dir).generic_string();
    if (relative.empty() || relative.rfind("..", 0) == 0 || !IsLinkedElf(target)) continue;
    if (std::find(binaries.begin(), binaries.end(), relative) == binaries.end())
      binaries.push_back(relative);
  }
  return binaries;
}

// HEAD's compile of `objects` (relative to HEAD's build dir) in seconds, timed once per HEAD
// commit and set of objects: the objects are removed and rebuilt with ccache off, so the time is a
// real compile. Returns nullopt (and sets `why`) when HEAD's objects do not build.
std::optional<double> HeadCompileSeconds(GateContext& c, const std::vector<std::string>& objects,
                                         std::string* why) {
  static std::mutex mutex;
  static std::map<std::string, double> seconds_by_key;
  std::string key = c.verdict.head_commit + ":" + c.baseline_build.string();
  for (const auto& object : objects) key += ":" + object;
  {
    std::lock_guard lock(mutex);
    if (auto it = seconds_by_key.find(key); it != seconds_by_key.end()) return it->second;
  }
  const EvaluateOptions& opt = c.options;
  BuildRequest request = ProjectBuild(c.project.build, c.baseline_tree, c.baseline_build, {},
                                      objects, opt.jobs, opt.build_timeout_seconds);
  request.env["CCACHE_DISABLE"] = "1";
  std::error_code ec;
  for (const auto& object : objects) fs::remove(c.baseline_build / object, ec);
  BuildOutcome built = ConfigureAndBuild(request);
  if (!built.ok) {
    *why = built.message;
    return std::nullopt;
  }
  std::lock_guard lock(mutex);
  seconds_by_key[key] = built.seconds;
  return built.seconds;
}

// A repository built by its own command (rlvr.json build.command, e.g. make): HEAD and the
// candidate each built by it into their build dirs. Without a compile database the objects of the
// edited files are unknown, so the per-file symbol check and object audit cannot run (the message
// says so); the binary audit of the artifacts (or of every linked program made) covers them.
GateResult CheckCommandBuild(GateContext& c) {
  const BuildConfig& build = c.project.build;
  const EvaluateOptions& opt = c.options;
  c.baseline_tree = PrepareWorktree(c.project.root, c.state_dir, "baseline", c.verdict.head_commit);
  BuildRequest request;
  request.jobs = opt.jobs;
  request.timeout_seconds = opt.build_timeout_seconds;
  request.source_dir = c.baseline_tree;
  request.build_dir = c.baseline_build;
  c.Step("building HEAD (the baseline) with the build command in " + c.baseline_build.string());
  BuildOutcome base = RunBuildCommand(request, build.command, build.artifacts);
  if (!base.ok) return Fail("the baseline (HEAD) does not build: " + base.message, base.detail);
  request.source_dir = c.worktree;
  request.build_dir = c.candidate_build;
  c.Step("building the candidate with the build command in " + c.candidate_build.string());
  BuildOutcome candidate = RunBuildCommand(request, build.command, build.artifacts);
  if (!candidate.ok) return Fail(candidate.message, candidate.detail);
  std::vector<std::string> findings;
  std::string audit = AuditBinaries(c, BinariesToAudit(c), /*scan_instructions=*/true, &findings);
  if (!findings.empty())
    return Fail("binary audit: " + findings.front(), JoinNames(findings, "\n"));
  std::string message = fmt::format("built by the build command in {:.1f} s (baseline {:.1f} s)",
                                    candidate.seconds, base.seconds);
  if (!build.artifacts.empty())
    message += fmt::format("; artifacts present: {}", JoinNames(build.artifacts));
  message += "; " + audit +
             "; per-file symbol check and object audit not run: no compile database (rlvr.json "
             "builds with a command, so the objects of the edited files are unknown)";
  if (!base.reconfigured.empty()) message += "; baseline " + base.reconfigured;
  if (!candidate.reconfigured.empty()) message += "; candidate " + candidate.reconfigured;
  return Pass(message);
}

GateResult CheckBuild(GateContext& c) {
  const BuildConfig& build = c.project.build;
  const EvaluateOptions& opt = c.options;
  std::vector<std::string> problems = CheckAddedSource(c.verdict.patch, c.worktree);
  for (const auto& file : c.verdict.changed_files) {
    if (!IsCxxSource(file)) continue;
    for (auto& problem : CheckIncludeOperands(ReadFileText(c.worktree / file), file, c.worktree))
      problems.push_back(std::move(problem));
  }
  if (!problems.empty())
    return Fail(fmt::format("source check: {}", problems.front()), JoinNames(problems, "\n"));
  if (build.UsesBuildCommand()) return CheckCommandBuild(c);
  // The baseline (HEAD) build: compared against in the benchmark gate, and its objects tell the
  // symbol check what the unmodified sources already define.
  c.baseline_tree = PrepareWorktree(c.project.root, c.state_dir, "baseline", c.verdict.head_commit);
  c.Step("configuring and building HEAD (the baseline) in " + c.baseline_build.string());
  BuildOutcome base =
      ConfigureAndBuild(ProjectBuild(build, c.baseline_tree, c.baseline_build, {},
                                     c.BinaryTargets(), opt.jobs, opt.build_timeout_seconds));
  if (!base.ok) return Fail("the baseline (HEAD) does not build: " + base.message, base.detail);
  // Compile the edited files alone first and check their symbols before anything links them:
  // a candidate overriding clock_gettime or operator new is refused with that reason.
  BuildRequest request = ProjectBuild(build, c.worktree, c.candidate_build, {}, {}, opt.jobs,
                                      opt.build_timeout_seconds);
  c.Step("configuring the candidate in " + c.candidate_build.string());
  BuildOutcome configured = Configure(request);
  if (!configured.ok) return Fail(configured.message, configured.detail);
  // Each edited file once its macros are expanded, against HEAD's (verify/expanded_source_check.h).
  std::vector<std::string> expanded_problems, not_expanded;
  for (const auto& file : c.verdict.changed_files) {
    if (!IsCxxSource(file) || !fs::exists(c.worktree / file)) continue;
    std::optional<ProbeCommand> command = ProbeCommandFor(c.candidate_build, c.worktree / file);
    if (!command) {
      not_expanded.push_back(file);
      continue;
    }
    try {
      std::string head_expanded;
      std::optional<ProbeCommand> head_command =
          ProbeCommandFor(c.baseline_build, c.baseline_tree / file);
      if (fs::exists(c.baseline_tree / file) && head_command)
        head_expanded = OwnExpandedLines(RunPreprocessor(ReadFileText(c.baseline_tree / file),
                                                         c.baseline_tree / file, *head_command));
      std::string candidate_expanded = OwnExpandedLines(
          RunPreprocessor(ReadFileText(c.worktree / file), c.worktree / file, *command));
      for (auto& problem : CheckExpandedSource(file, candidate_expanded, head_expanded))
        expanded_problems.push_back(std::move(problem));
    } catch (const std::exception& e) {
      return Fail(fmt::format("{} does not preprocess: {}", file, e.what()));
    }
  }
  if (!expanded_problems.empty())
    return Fail("source check: " + expanded_problems.front(), JoinNames(expanded_problems, "\n"));
  std::vector<std::pair<std::string, fs::path>> objects;  // edited file -> its object
  for (const auto& file : c.verdict.changed_files) {
    if (!IsCompiledSource(file)) continue;
    fs::path object = FindObjectFile(c.candidate_build, c.worktree / file);
    if (!object.empty()) objects.emplace_back(file, object);
  }
  std::string compile_time;  // what bounded the edited files' compile, for the verdict
  if (!objects.empty()) {
    BuildRequest compile = request;
    std::vector<std::string> head_targets;
    std::vector<std::string> edited;
    for (const auto& [file, object] : objects) {
      compile.targets.push_back(fs::relative(object, c.candidate_build).string());
      fs::path base_object = FindObjectFile(c.baseline_build, c.baseline_tree / file);
      if (!base_object.empty())
        head_targets.push_back(fs::relative(base_object, c.baseline_build).string());
      edited.push_back(file);
    }
    // The compile of the edited files is bounded by HEAD's compile of the same files.
    std::string why_unbounded;
    std::optional<double> head_seconds;
    if (head_targets.size() == objects.size())
      head_seconds = HeadCompileSeconds(c, head_targets, &why_unbounded);
    else
      why_unbounded = "HEAD's build has no object of some edited file";
    if (!head_seconds)
      return Fail("the baseline (HEAD) does not compile the edited files: " + why_unbounded);
    const double limit = std::min(
        opt.build_timeout_seconds,
        std::max(opt.compile_time_floor_seconds, opt.compile_time_multiple * *head_seconds));
    compile.timeout_seconds = limit;
    c.Step("compiling the edited files " + JoinNames(edited));
    BuildOutcome compiled = ConfigureAndBuild(compile);
    if (!compiled.ok && compiled.timed_out)
      return Fail(
          fmt::format("build too slow: compiling {} was stopped after {:.1f} s; HEAD "
                      "compiles it in {:.1f} s (limit: {:g}x HEAD's, at least {:g} s)",
                      JoinNames(edited), compiled.seconds, *head_seconds, opt.compile_time_multiple,
                      opt.compile_time_floor_seconds));
    if (!compiled.ok) return Fail(compiled.message, compiled.detail);
    compile_time =
        fmt::format("; edited files compiled in {:.1f} s (HEAD {:.1f} s, limit {:.0f} s)",
                    compiled.seconds, *head_seconds, limit);
    // HEAD's object of the same compile command: when a source is compiled twice (a shared and a
    // static library), the one found may not be what the test and benchmark programs needed, so
    // HEAD's build may not have made it; compared against nothing, every symbol HEAD already
    // defines would look new.
    BuildRequest head_objects = ProjectBuild(build, c.baseline_tree, c.baseline_build, {}, {},
                                             opt.jobs, opt.build_timeout_seconds);
    for (const auto& [file, object] : objects) {
      fs::path base_object = FindObjectFile(c.baseline_build, c.baseline_tree / file);
      std::error_code ec;
      if (!base_object.empty() && !fs::exists(base_object, ec))
        head_objects.targets.push_back(fs::relative(base_object, c.baseline_build).string());
    }
    if (!head_objects.targets.empty()) {
      BuildOutcome head_compiled = ConfigureAndBuild(head_objects);
      if (!head_compiled.ok)
        return Fail("the baseline (HEAD) does not compile: " + head_compiled.message,
                    head_compiled.detail);
    }
  }
  std::vector<std::string> forbidden;
  std::string advice;
  for (const auto& [file, object] : objects) {
    fs::path base_object = FindObjectFile(c.baseline_build, c.baseline_tree / file);
    for (auto& symbol : ForbiddenSymbols(object, base_object, c.target.symbols))
      forbidden.push_back(file + ": " + symbol);
    if (!forbidden.empty() && advice.empty()) advice = SymbolAdvice(file, "", c.target.symbols);
  }
  if (!forbidden.empty())
    return Fail(fmt::format("symbol check: {} defines a new global symbol outside {} — {}",
                            forbidden.front(), DescribeSymbolRules(c.target.symbols), advice),
                JoinNames(forbidden, "\n"));
  std::vector<std::string> findings;
  std::vector<std::string> unaudited;  // edited files with no object of their own
  std::vector<std::string> lto_only;   // edited files whose object is LTO bytecode only
  if (!objects.empty()) {
    ObjectAuditPolicy policy;
    policy.library_symbols = LibraryDefinedSymbols(c.baseline_build, c.baseline_tree, {"tests/"});
    policy.allowed_state = c.target.allowed_state;
    policy.allowed_references = c.target.allowed_calls;
    for (const auto& [file, object] : objects) {
      // LTO bytecode has no code or final symbols to judge here: the linked programs do.
      if (IsSlimLtoObject(object)) {
        lto_only.push_back(file);
        continue;
      }
      fs::path base_object = FindObjectFile(c.baseline_build, c.baseline_tree / file);
      for (auto& line : FormatAuditFindings(file, AuditObject(object, base_object, policy)))
        findings.push_back(std::move(line));
    }
  }
  for (const auto& file : c.verdict.changed_files) {
    bool audited = false;
    for (const auto& [edited, object] : objects) audited = audited || edited == file;
    if (IsCxxSource(file) && !audited) unaudited.push_back(file);
  }
  if (!findings.empty())
    return Fail("object audit: " + findings.front(), JoinNames(findings, "\n"));
  request.targets = c.BinaryTargets();
  BuildOutcome candidate = ConfigureAndBuild(request);
  if (!candidate.ok) return Fail(candidate.message, candidate.detail);
  std::vector<std::string> binary_findings;
  std::string binary_audit = AuditBinaries(
      c, BinariesToAudit(c), !unaudited.empty() || !lto_only.empty(), &binary_findings);
  if (!binary_findings.empty())
    return Fail("binary audit: " + binary_findings.front(), JoinNames(binary_findings, "\n"));
  std::string audit = fmt::format("{} object(s) audited", objects.size() - lto_only.size());
  if (!lto_only.empty())
    audit += fmt::format(" ({} compiled to LTO bytecode only: covered by the binary audit)",
                         JoinNames(lto_only));
  if (!unaudited.empty())
    audit += fmt::format(" ({} covered by the binary audit only: no object of their own)",
                         JoinNames(unaudited));
  audit += "; " + binary_audit;
  std::string message = fmt::format("built in {:.1f} s (baseline {:.1f} s){}; {}",
                                    candidate.seconds, base.seconds, compile_time, audit);
  if (!not_expanded.empty())
    message += fmt::format("; macro-expanded source check not run for {}: no compile database",
                           JoinNames(not_expanded));
  if (!base.reconfigured.empty()) message += "; baseline " + base.reconfigured;
  if (!configured.reconfigured.empty()) message += "; candidate " + configured.reconfigured;
  return Pass(message);
}

}  // namespace

extern const Gate kBuildGate{
    "build", "HEAD and the candidate build; the candidate's objects pass the audit", CheckBuild};

}  // namespace rlvr
