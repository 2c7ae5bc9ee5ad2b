// apply: the reply applies, all or nothing, to HEAD in the candidate's scratch worktree.
#include <fmt/format.h>

#include "harness/patch/apply.h"
#include "harness/verify/gates/gate.h"

namespace rlvr {

namespace {

GateResult CheckApply(GateContext& c) {
  ApplyOptions apply;
  apply.allowed_globs = c.target.editable;
  apply.max_reply_bytes = c.options.max_reply_bytes;
  ApplyResult result = ApplyReply(c.worktree, c.reply, apply);
  if (!result.applied) return Fail("patch does not apply", result.error);
  if (result.changed_files.empty()) return Fail("the reply changes nothing");
  c.verdict.changed_files = result.changed_files;
  c.verdict.patch = result.diff;
  return Pass(fmt::format("changed {}", JoinNames(result.changed_files)));
}

}  // namespace

extern const Gate kApplyGate{"apply", "the patch applies to HEAD, all or nothing", CheckApply};

}  // namespace rlvr
