// "Never pay twice for the same patch": the identity of a candidate is what it does to the commit
// it was shown, not how the reply spells it. Two replies with different prose, fences or patch
// formats that produce the same files from the same commit are the same candidate; the loop
// judges it once and records later ones as repeats of that attempt (ledger: candidate_key,
// repeat_of).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "harness/base/config.h"

namespace rlvr {

// The canonical diff (patch/diff.h) of `reply` applied to the target's editable files as committed
// at `base_commit` (a full sha), within the target's editable globs; nothing when the reply does
// not apply there or changes nothing. Never touches the working tree. Throws GitError when the
// commit cannot be read.
std::optional<std::string> CanonicalChange(const std::filesystem::path& repo_root,
                                           const Target& target, const std::string& base_commit,
                                           std::string_view reply);

// sha256 of the base commit and the canonical change; empty when the reply does not apply (it is
// judged, and fails at apply, every time: nothing is paid to judge it) or the commit cannot be
// read.
std::string CandidateKey(const std::filesystem::path& repo_root, const Target& target,
                         const std::string& base_commit, std::string_view reply);

}  // namespace rlvr
