// LoopRunner (runner.h): what the model is shown (HEAD's files of the target, its baseline, the
// recent history, the gates) and the warning about uncommitted edits it is not shown.
#include "harness/loop/runner.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "harness/git/head_files.h"
#include "harness/git/worktree.h"
#include "harness/verify/gates/gate.h"

namespace rlvr {

namespace {

// The files `globs` match in the working tree (sorted, repository-relative): new files the user
// has not committed yet are among them.
std::vector<std::string> WorkingTreeMatches(const Project& project,
                                            const std::vector<std::string>& globs) {
  std::set<std::string> files;
  for (const std::string& glob : globs) {
    if (glob.find_first_of("*?") == std::string::npos) {
      if (std::filesystem::is_regular_file(project.root / glob)) files.insert(glob);
      continue;
    }
    for (auto it = std::filesystem::recursive_directory_iterator(project.root);
         it != std::filesystem::recursive_directory_iterator(); ++it) {
      std::string name = it->path().filename().string();
      if (it->is_directory() && (name == ".git" || name == ".rlvr" || name == "build")) {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file()) continue;
      std::string rel = std::filesystem::relative(it->path(), project.root).generic_string();
      if (GlobMatches(glob, rel)) files.insert(rel);
    }
  }
  return {files.begin(), files.end()};
}

}  // namespace

using nlohmann::json;

PromptInput LoopRunner::MakePromptInput(const Target& target) {
  HeadFiles head(project_.root);
  prompt_commit_ = head.commit();  // candidates are applied to exactly what the prompt shows
  PromptInput in;
  in.target = target.name;
  in.description = target.description;
  in.primary = target.primary;
  in.max_chars = settings_.prompt_max_chars;
  for (const std::string& path : head.Matching(target.editable)) {
    in.editable.push_back({path, head.Text(path).value_or("")});
  }
  for (const std::string& path : target.context) {
    if (std::optional<std::string> text = head.Text(path)) in.context.push_back({path, *text});
  }
  if (std::optional<std::string> baseline = head.Text("baselines/" + target.name + ".json")) {
    in.baseline = json::parse(*baseline, nullptr, false);
    if (in.baseline.is_discarded()) in.baseline = nullptr;
  }
  in.headroom = Headroom(in.baseline, target.primary);
  in.history = ledger_.RecentAttempts(target.name, settings_.history_attempts);
  // What the model is told comes from the repository and rlvr.json, not from our own kernels.
  std::vector<std::string> editable_paths;
  for (const PromptFile& file : in.editable) editable_paths.push_back(file.path);
  in.language = LanguageOf(editable_paths);
  for (const Gate* gate : VerifierGates()) {
    std::string line = std::string(gate->name) + ": " + gate->checks;
    if (std::string_view(gate->name) == "history" && target.history_tests.empty())
      line += " (not configured for this target)";
    if (std::string_view(gate->name) == "allocations" && target.alloc_tests.empty())
      line += " (no allocation tests configured; benchmark loop counts where reported)";
    in.checks.push_back(std::move(line));
  }
  in.naming = NamingRule(in.language, target.symbols.namespace_name, target.symbols.prefix);
  in.formatting = head.Text(".clang-format")
                      ? "the changed lines must follow the repository's .clang-format"
                      : "the repository has no .clang-format: keep the file's existing style";
  return in;
}

void LoopRunner::WarnAboutUncommittedEdits(const std::vector<const Target*>& targets) {
  HeadFiles head(project_.root);
  std::set<std::string> paths;
  for (const Target* target : targets) {
    for (const std::string& path : head.Matching(target->editable)) paths.insert(path);
    for (const std::string& path : WorkingTreeMatches(project_, target->editable))
      paths.insert(path);
    paths.insert(target->context.begin(), target->context.end());
  }
  std::vector<std::string> dirty = DirtyPaths(project_.root, {paths.begin(), paths.end()});
  for (const std::string& path : paths) {
    if (std::find(dirty.begin(), dirty.end(), path) == dirty.end()) reported_dirty_.erase(path);
  }
  std::string fresh;
  for (const std::string& path : dirty) {
    if (reported_dirty_.insert(path).second) fresh += (fresh.empty() ? "" : ", ") + path;
  }
  if (fresh.empty()) return;
  Print(fmt::format(
      "rlvr iterate: uncommitted edits in {} are ignored: the model is shown, and its patches "
      "are applied to, the committed version at HEAD ({}); a candidate changing such a file "
      "is not promoted while they stay uncommitted: commit or stash them",
      fresh, head.commit().substr(0, 12)));
}

}  // namespace rlvr
