#include "harness/loopbench/bench_repo.h"

#include <stdexcept>
#include <vector>

#include "harness/base/process.h"
#include "harness/git/commit_files.h"
#include "harness/git/worktree.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

void Git(const fs::path& cwd, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions options;
  options.cwd = cwd;
  ProcessResult result = RunProcess(argv, options);
  if (!result.ok()) {
    std::string command;
    for (const std::string& a : argv) command += (command.empty() ? "" : " ") + a;
    throw std::runtime_error("loop bench: `" + command + "` in " + cwd.string() + " failed (" +
                             result.Describe() + "): " + result.err);
  }
}

bool HasCommit(const fs::path& root, const std::string& commit) {
  try {
    return ResolveCommit(root, commit + "^{commit}") == commit;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

BenchRepo PrepareBenchRepo(const fs::path& user_root, const fs::path& work_dir) {
  BenchRepo repo;
  repo.start_commit = HeadCommit(user_root);
  repo.root = fs::absolute(work_dir) / "repo";
  if (fs::exists(repo.root) && !HasCommit(repo.root, repo.start_commit)) fs::remove_all(repo.root);
  if (!fs::exists(repo.root)) {
    fs::create_directories(repo.root.parent_path());
    // --no-hardlinks: the clone shares no file with the user's repository.
    Git(repo.root.parent_path(), {"clone", "-q", "--no-hardlinks", "--no-checkout",
                                  fs::absolute(user_root).string(), repo.root.string()});
  }
  ResetBenchRepo(repo);
  return repo;
}

void ResetBenchRepo(const BenchRepo& repo) {
  Git(repo.root, {"checkout", "-q", "-f", "-B", kBenchBranch, repo.start_commit});
  // Untracked files a run may have left (not the ignored .rlvr/ state).
  Git(repo.root, {"clean", "-q", "-f", "-d"});
}

}  // namespace rlvr
