// The loop's promotion commits as git has them: each commit on HEAD's first-parent history whose
// message ends with an "Rlvr-Attempt: N" trailer (loop/reconcile.h). A loop killed between its
// commit and its ledger write leaves such a commit the ledger does not know of yet; the loop
// records it on restart, and read-only commands (status, report) use this to tell the same truth
// meanwhile.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace rlvr {

struct AttemptCommit {
  int64_t attempt_id = 0;
  std::string commit;   // 40 hex digits
  std::string subject;  // the message's first line ("softmax: ...")
  int depth = 0;        // 0 for HEAD, 1 for its first parent, ...
};

// The attempt commits among the last `depth` commits of HEAD, newest first; none when HEAD is
// unborn. Throws GitError when the repository cannot be read.
std::vector<AttemptCommit> AttemptCommits(const std::filesystem::path& repo_root, int depth = 200);

// The attempt id of a message's last "Rlvr-Attempt: N" line, or 0.
int64_t AttemptOfMessage(const std::string& message);

}  // namespace rlvr
