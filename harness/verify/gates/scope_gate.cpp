// scope: the files the reply would change are all among the target's editable files — never
// tests, references, baselines, build files or configuration.
#include <fmt/format.h>

#include "harness/git/worktree.h"
#include "harness/patch/apply.h"
#include "harness/verify/gates/gate.h"

namespace rlvr {

namespace {

GateResult CheckScope(GateContext& c) {
  c.worktree = PrepareWorktree(c.project.root, c.state_dir, "candidate", c.verdict.head_commit);
  ApplyOptions probe;
  probe.dry_run = true;
  probe.max_reply_bytes = c.options.max_reply_bytes;
  ApplyResult dry = ApplyReply(c.worktree, c.reply, probe);
  if (dry.changed_files.empty()) return Skip("no edit could be read from the reply");
  std::vector<std::string> outside;
  for (const auto& file : dry.changed_files) {
    bool allowed = false;
    for (const auto& glob : c.target.editable) allowed = allowed || GlobMatches(glob, file);
    if (!allowed) outside.push_back(file);
  }
  if (!outside.empty())
    return Fail(fmt::format("edits {} outside the target's editable files ({})", JoinNames(outside),
                            JoinNames(c.target.editable)));
  return Pass(fmt::format("{} file(s), all editable", dry.changed_files.size()));
}

}  // namespace

extern const Gate kScopeGate{"scope", "the patch edits only the target's editable files",
                             CheckScope};

}  // namespace rlvr
