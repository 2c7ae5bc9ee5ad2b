#include "harness/verify/promote.h"

#include <chrono>
#include <ctime>
#include <fstream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <git2.h>

#include "harness/base/secrets.h"
#include "harness/base/utc_time.h"
#include "harness/bench/baseline.h"
#include "harness/git/handle.h"
#include "harness/git/worktree.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

std::string Percent(double ratio) {
  return fmt::format("{:+.1f}%", (ratio - 1) * 100);
}

}  // namespace

nlohmann::json BaselineJsonFromVerdict(const Project& project, const Target& target,
                                       const Verdict& verdict,
                                       const fs::path& candidate_build_dir) {
  (void)project;
  Baseline baseline;
  baseline.target = target.name;
  // The measured source is this commit's parent plus the promoted edit.
  baseline.commit = verdict.head_commit;
  baseline.recorded_at = UtcNowIso8601();
  baseline.host = CurrentHostFacts(candidate_build_dir);
  baseline.metric = verdict.metric;
  for (const auto& f : verdict.figures) {
    BaselineEntry entry;
    entry.median_ns = f.candidate_ns;
    if (!f.reference) entry.samples_ns = f.candidate_samples_ns;
    (f.reference ? baseline.references : baseline.benchmarks)[f.name] = entry;
  }
  return baseline.ToJson();
}

std::string PromotionMessage(const Target& target, const Verdict& verdict,
                             const std::string& trailer) {
  const BenchmarkFigure* primary = nullptr;
  for (const auto& f : verdict.figures) {
    if (f.primary) {
      primary = &f;
      break;
    }
  }
  std::string subject =
      primary ? fmt::format("{}: {} {} time [CI {}, {}], p={:.2g} (rlvr)", target.name,
                            primary->name, Percent(primary->ratio), Percent(primary->ci_low),
                            Percent(primary->ci_high), primary->p_value)
              : fmt::format("{}: promoted candidate (rlvr)", target.name);
  std::string body = "Promoted by rlvr: every gate passed.\n\n";
  for (const auto& f : verdict.figures) {
    body += fmt::format("  {}: {:.0f} ns -> {:.0f} ns ({} [CI {}, {}], p={:.2g}){}\n", f.name,
                        f.baseline_ns, f.candidate_ns, Percent(f.ratio), Percent(f.ci_low),
                        Percent(f.ci_high), f.p_value,
                        f.primary ? " primary" : (f.reference ? " reference" : ""));
  }
  body += fmt::format("\nGates:");
  for (const auto& g : verdict.gates) body += fmt::format(" {} {:.1f}s;", g.name, g.seconds);
  body += fmt::format("\nTest seed: RLVR_TEST_SEED={}\n", verdict.seed);
  if (verdict.suspicious) body += "Suspicious speed-up: re-verified.\n";
  if (!trailer.empty()) body += "\n" + trailer + "\n";
  // Benchmark names come from the candidate's benchmark output: nothing secret goes into history.
  return RedactSecrets(subject + "\n\n" + body);
}

PromoteResult PromoteCandidate(const Project& project, const Target& target, const Verdict& verdict,
                               const fs::path& candidate_build_dir, const std::string& trailer) {
  PromoteResult result;
  auto refuse = [&](std::string why) {
    result.promoted = false;
    result.message = std::move(why);
    return result;
  };
  if (!verdict.promotable) return refuse("the verdict is not promotable");
  if (verdict.target != target.name)
    return refuse(fmt::format("the verdict is for target {}, not {}", verdict.target, target.name));
  if (verdict.new_contents.empty()) return refuse("the verdict carries no file contents");
  std::string baseline_path = "baselines/" + target.name + ".json";
  std::vector<std::string> involved = verdict.changed_files;
  involved.push_back(baseline_path);
  try {
    if (HeadCommit(project.root) != verdict.head_commit)
      return refuse("HEAD moved since the evaluation began (" + verdict.head_commit.substr(0, 12) +
                    "); evaluate again");
    std::vector<std::string> dirty = DirtyPaths(project.root, involved);
    if (!dirty.empty()) {
      std::string list;
      for (const auto& d : dirty) list += (list.empty() ? "" : ", ") + d;
      return refuse("uncommitted changes in " + list + "; commit or stash them first");
    }

    git_repository* raw_repo = nullptr;
    CheckGit(git_repository_open(&raw_repo, project.root.c_str()), "cannot open repository");
    GitOwned<git_repository, git_repository_free> repo(raw_repo);
    git_reference* raw_head = nullptr;
    CheckGit(git_repository_head(&raw_head, repo.get()), "cannot read HEAD");
    GitOwned<git_reference, git_reference_free> head(raw_head);
    if (!git_reference_is_branch(head.get()))
      return refuse("HEAD is detached; check out a branch to promote onto");
    std::string branch = git_reference_name(head.get());
    git_oid parent_id = *git_reference_target(head.get());
    git_commit* raw_parent = nullptr;
    CheckGit(git_commit_lookup(&raw_parent, repo.get(), &parent_id), "cannot read HEAD commit");
    GitOwned<git_commit, git_commit_free> parent(raw_parent);
    git_tree* raw_tree = nullptr;
    CheckGit(git_commit_tree(&raw_tree, parent.get()), "cannot read HEAD tree");
    GitOwned<git_tree, git_tree_free> tree(raw_tree);

    // The new tree: HEAD's tree with the candidate's files and the new baseline, in memory.
    git_index* raw_index = nullptr;
    CheckGit(git_index_new(&raw_index), "cannot create an index");
    GitOwned<git_index, git_index_free> index(raw_index);
    CheckGit(git_index_read_tree(index.get(), tree.get()), "cannot read HEAD tree into an index");
    auto add = [&](const std::string& path, const std::string& content) {
      git_index_entry entry{};
      const git_index_entry* existing = git_index_get_bypath(index.get(), path.c_str(), 0);
      entry.mode = existing ? existing->mode : static_cast<uint32_t>(GIT_FILEMODE_BLOB);
      entry.path = path.c_str();
      // An in-memory index cannot write blobs itself: write the blob, then add its entry.
      CheckGit(git_blob_create_from_buffer(&entry.id, repo.get(), content.data(), content.size()),
               "cannot store " + path);
      entry.file_size = static_cast<uint32_t>(content.size());
      CheckGit(git_index_add(index.get(), &entry), "cannot stage " + path);
    };
    for (const auto& [path, content] : verdict.new_contents) add(path, content);
    std::string baseline =
        BaselineJsonFromVerdict(project, target, verdict, candidate_build_dir).dump(2) + "\n";
    add(baseline_path, baseline);
    git_oid tree_id;
    CheckGit(git_index_write_tree_to(&tree_id, index.get(), repo.get()), "cannot write tree");
    git_tree* raw_new_tree = nullptr;
    CheckGit(git_tree_lookup(&raw_new_tree, repo.get(), &tree_id), "cannot read new tree");
    GitOwned<git_tree, git_tree_free> new_tree(raw_new_tree);

    git_signature* raw_signature = nullptr;
    if (git_signature_default(&raw_signature, repo.get()) < 0)
      CheckGit(git_signature_now(&raw_signature, "rlvr", "rlvr@localhost"),
               "cannot make signature");
    GitOwned<git_signature, git_signature_free> signature(raw_signature);
    std::string message = PromotionMessage(target, verdict, trailer);
    git_oid commit_id;
    const git_commit* parents[] = {parent.get()};
    CheckGit(git_commit_create(&commit_id, repo.get(), nullptr, signature.get(), signature.get(),
                               "UTF-8", message.c_str(), new_tree.get(), 1, parents),
             "cannot create commit");
    // Compare-and-swap: fails if the branch moved since we read it.
    git_reference* raw_moved = nullptr;
    std::string reflog = "rlvr promote: " + message.substr(0, message.find('\n'));
    CheckGit(git_reference_create_matching(&raw_moved, repo.get(), branch.c_str(), &commit_id, 1,
                                           &parent_id, reflog.c_str()),
             "cannot move " + branch + " (did it change meanwhile?)");
    GitOwned<git_reference, git_reference_free> moved(raw_moved);

    char sha[GIT_OID_HEXSZ + 1];
    git_oid_tostr(sha, sizeof sha, &commit_id);
    result.promoted = true;
    result.commit = sha;
    result.message = message.substr(0, message.find('\n'));

    // Bring the user's index and working files of the promoted paths up to the new commit (they
    // were clean, so nothing of theirs is overwritten).
    std::vector<const char*> paths;
    for (const auto& path : involved) paths.push_back(path.c_str());
    git_checkout_options checkout = GIT_CHECKOUT_OPTIONS_INIT;
    checkout.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
    checkout.paths.strings = const_cast<char**>(paths.data());
    checkout.paths.count = paths.size();
    if (git_checkout_head(repo.get(), &checkout) < 0) {
      const git_error* error = git_error_last();
      result.message += fmt::format(
          " (committed, but updating the working tree failed: {}; run git checkout -- {})",
          error && error->message ? error->message : "unknown", baseline_path);
    }
  } catch (const std::exception& e) {
    return refuse(std::string("promotion failed, branch unchanged: ") + e.what());
  }
  return result;
}

}  // namespace rlvr
