// format: the lines the candidate changed follow the repository's .clang-format (formatted in
// place, or with --check-format refused when they do not); a repository without one is not
// formatted, and the gate says so (verify/changed_lines_format.h). The verdict's patch includes
// that formatting.
#include <filesystem>

#include "harness/base/file_text.h"
#include "harness/base/process.h"
#include "harness/candidate/sources.h"
#include "harness/verify/changed_lines_format.h"
#include "harness/verify/gates/gate.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

// The worktree's diff against HEAD, files HEAD does not have included (git diff HEAD leaves out
// untracked files).
std::string WorktreeDiff(const fs::path& worktree, const std::vector<std::string>& files) {
  RunOptions run;
  run.cwd = worktree;
  run.limits.wall_seconds = 60;
  const std::vector<std::string> git = {"git", "-c", "core.quotepath=off"};
  auto git_command = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = git;
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, run);
  };
  ProcessResult tracked = git_command({"diff", "--no-color", "--no-ext-diff", "HEAD", "--"});
  if (!tracked.ok()) return "";
  std::string patch = tracked.out;
  for (const auto& file : files) {
    if (!fs::exists(worktree / file) || git_command({"cat-file", "-e", "HEAD:" + file}).ok())
      continue;
    // --no-index exits with status 1 when the files differ, which is the point here.
    ProcessResult added =
        git_command({"diff", "--no-index", "--no-color", "--no-ext-diff", "/dev/null", file});
    if (added.exit_code != 0 && added.exit_code != 1) return "";
    patch += added.out;
  }
  return patch;
}

GateResult CheckFormat(GateContext& c) {
  Verdict& v = c.verdict;
  FormatOptions options;
  options.check_only = c.options.check_format_only;
  options.timeout_seconds = 60;
  std::vector<FileFormatResult> results;
  for (const auto& file : v.changed_files) {
    if (!IsCxxSource(file) || !fs::exists(c.worktree / file)) continue;
    results.push_back(FormatChangedLines(c.worktree, file, options));
  }
  bool reformatted = false;
  for (const auto& result : results)
    reformatted = reformatted || result.status == FileFormatResult::Status::kFormatted;
  if (reformatted) {
    std::string patch = WorktreeDiff(c.worktree, v.changed_files);
    if (!patch.empty()) v.patch = patch;
  }
  v.new_contents.clear();
  for (const auto& file : v.changed_files) {
    if (fs::exists(c.worktree / file))
      v.new_contents.emplace_back(file, ReadFileText(c.worktree / file));
  }
  FormatSummary summary = SummarizeFormat(results, options.check_only);
  if (!summary.ok) return Fail(summary.message, summary.detail);
  return Pass(summary.message, summary.detail);
}

}  // namespace

extern const Gate kFormatGate{
    "format", "the changed lines follow the repository's .clang-format, if it has one",
    CheckFormat};

}  // namespace rlvr
