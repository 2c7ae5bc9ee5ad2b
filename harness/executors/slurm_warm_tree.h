// The warm tree of a Slurm job (executors/slurm.h): the shell lines of the job script that give
// `rlvr evaluate` a clone of the repository at the judged commit whose .rlvr/ build directories
// survive from the node's earlier jobs, so a one-file candidate rebuilds incrementally on the
// cluster as it does in the local loop, instead of configuring and compiling from nothing.
//
// Layout on the node: <cache>/<node>/<key>/slot-<n>/{lock,repo/,manifest}, where <key> hashes the
// repository's path, the rlvr binary's identity (size, mtime, inode) and rlvr.json at the judged
// commit: another configuration gets other slots. A job takes the first slot whose lock it can
// flock (jobs sharing a node take different slots), checks it out at the commit and evaluates in
// it. A slot is trusted only when sealed: the job that left it wrote `manifest` (sha256 of every
// file under repo/.rlvr) after its verdict; the next job verifies it before use. A slot without a
// manifest (its job was killed, lost its node, or gave no verdict) or whose files no longer match
// it (a corrupt object, a truncated build file) is wiped and built from nothing, and the job says
// so in warm.<job id>; a corrupt one (or a failed checkout) also in the outcome's infrastructure
// events. An unsealed one is the normal trace of a cancelled or requeued job: the note only. Stale
// content is rebuilt the way the local loop's is: checkout touches the changed files (ninja
// rebuilds what depends on them), and a build dir records its configuration (a change wipes it,
// candidate/build.h).
//
// A job that takes a slot marks it (the lock file's mtime) and empties the node's slots that no job
// has taken for kUnusedSlotDays, each under its own lock (a slot in use is never touched).
//
// Why this and not a compiler cache: ccache on node-local storage still pays configure, the
// link of HEAD's and the candidate's programs and every cache lookup per job (~10 s a job on the
// fixture), while the warm tree recompiles one file (~1-3 s); a cold slot falls back to a clone.
#pragma once

#include <filesystem>
#include <string>

namespace rlvr {

// A warm tree no job has taken for longer is emptied by the next job on its node.
constexpr int kUnusedSlotDays = 7;

// Lines of a POSIX sh job script. Preconditions: `$dir` (the evaluation folder) and `$job` (the
// Slurm job id) are set. Afterwards `$tree` is the checked-out clone to evaluate in, and the
// script must run WarmTreeSealLines after a verdict. `cache_dir`: the root on the node, as the
// right-hand side of a shell assignment (quoted, or e.g. "${TMPDIR:-/tmp}/rlvr-warm-$(id -u)");
// an empty one means no warm tree: a fresh clone in scratch space, removed at exit.
std::string WarmTreeLines(const std::string& cache_dir, const std::filesystem::path& repo,
                          const std::string& head, const std::filesystem::path& rlvr);

// Lines run after the evaluation gave a verdict: seal the slot (write its manifest).
std::string WarmTreeSealLines();

// The cache root used when none is configured: node-local scratch space, one per user.
inline const char* kDefaultNodeCacheDir = "${TMPDIR:-/tmp}/rlvr-warm-$(id -u)";

}  // namespace rlvr
