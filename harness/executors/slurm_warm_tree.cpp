#include "harness/executors/slurm_warm_tree.h"

#include <sstream>

namespace rlvr {

namespace {

std::string Quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A fresh clone at the commit into "$1", or the failure lines (exit 3) the executor reads.
std::string CloneFunction(const std::string& repo, const std::string& head) {
  std::ostringstream s;
  s << "clone_at_head() {\n"
    << "  rm -rf \"$1\"\n"
    << "  git clone -q --shared --no-checkout " << Quote(repo) << " \"$1\" &&\n"
    << "    git -C \"$1\" checkout -q --detach " << head << "\n"
    << "}\n"
    << "cannot_check_out() {\n"
    << "  echo \"rlvr job: cannot check out " << head << " of " << repo
    << "\" >\"$dir/evaluate.$job.err\"\n"
    << "  echo \"3 $(date +%s.%N)\" >\"$dir/end.$job\"\n"
    << "  exit 3\n"
    << "}\n";
  return s.str();
}

// Empties the node's other slots that no job has taken for kUnusedSlotDays days (trees of an
// older rlvr binary or configuration, of a repository no longer judged), so the node's disk does
// not fill night after night. Each under its own lock, so a slot in use is never touched, and
// the lock file stays: a job that opened it before still excludes any other.
std::string PruneLines() {
  std::ostringstream s;
  s << "  for old in \"$cache_root/${SLURMD_NODENAME:-$(hostname)}\"/*/slot-*; do\n"
    << "    [ \"$old\" != \"$slot\" ] && [ -f \"$old/lock\" ] || continue\n"
    << "    [ -e \"$old/repo\" ] || [ -e \"$old/manifest\" ] || continue\n"
    << "    [ -n \"$(find \"$old/lock\" -mtime +" << kUnusedSlotDays
    << " 2>/dev/null)\" ] || continue\n"
    << "    if (flock -n 8 && rm -rf \"$old/repo\" \"$old/manifest\" \"$old/check.log\") "
       "8>>\"$old/lock\"; then\n"
    << "      warm_note \"warm tree $old unused for more than " << kUnusedSlotDays
    << " days: emptied\"\n"
    << "    fi\n"
    << "  done\n";
  return s.str();
}

}  // namespace

std::string WarmTreeLines(const std::string& cache_dir, const std::filesystem::path& repo,
                          const std::string& head, const std::filesystem::path& rlvr) {
  std::ostringstream s;
  s << CloneFunction(repo.string(), head);
  if (cache_dir.empty()) {
    s << "slot=\n"
      << "scratch=$(mktemp -d \"${TMPDIR:-/tmp}/rlvr-eval.XXXXXX\") || exit 3\n"
      << "trap 'rm -rf \"$scratch\"' EXIT\n"
      << "trap 'exit 143' TERM INT\n"
      << "tree=\"$scratch/repo\"\n"
      << "clone_at_head \"$tree\" || cannot_check_out\n";
    return s.str();
  }
  s << "trap 'exit 143' TERM INT\n"
    << "cache_root=" << cache_dir << "\n"
    << "warm_note() { echo \"$*\" >>\"$dir/warm.$job\"; }\n"
    << "# The slot's key: repository, rlvr binary, rlvr.json at the commit.\n"
    << "key=$( { echo " << Quote(repo.string()) << "; stat -L -c '%s %Y %i' "
    << Quote(rlvr.string()) << "; git -C " << Quote(repo.string()) << " show " << head
    << ":rlvr.json; } 2>/dev/null | sha256sum | cut -c1-16)\n"
    << "cache=\"$cache_root/${SLURMD_NODENAME:-$(hostname)}/$key\"\n"
    << "slot=\n"
    << "if mkdir -p \"$cache\" 2>/dev/null && command -v flock >/dev/null; then\n"
    << "  chmod 700 \"$cache_root\" 2>/dev/null\n"
    << "  n=1\n"
    << "  while [ $n -le 64 ]; do\n"
    << "    mkdir -p \"$cache/slot-$n\" && exec 9>\"$cache/slot-$n/lock\" &&\n"
    << "      flock -n 9 && slot=\"$cache/slot-$n\" && break\n"
    << "    exec 9>&-\n"
    << "    n=$((n + 1))\n"
    << "  done\n"
    << "fi\n"
    << "if [ -z \"$slot\" ]; then\n"
    << "  warm_note \"no warm tree (no slot under $cache): a fresh clone, built from nothing\"\n"
    << "  scratch=$(mktemp -d \"${TMPDIR:-/tmp}/rlvr-eval.XXXXXX\") || exit 3\n"
    << "  trap 'rm -rf \"$scratch\"' EXIT\n"
    << "  tree=\"$scratch/repo\"\n"
    << "  clone_at_head \"$tree\" || cannot_check_out\n"
    << "else\n"
    << "  tree=\"$slot/repo\"\n"
    << "  touch \"$slot/lock\"  # when a job last took the slot\n"
    << PruneLines() << "  if [ -d \"$tree\" ]; then\n"
    << "    if [ ! -s \"$slot/manifest\" ]; then\n"
    << "      warm_note \"warm tree $slot not sealed (its last job ended without a verdict): "
       "wiped, built from nothing\"\n"
    << "      rm -rf \"$tree\"\n"
    << "    elif ! (cd \"$tree\" && sha256sum --quiet --strict -c ../manifest) "
       ">\"$slot/check.log\" 2>&1; then\n"
    << "      warm_note \"warm tree $slot corrupt ($(head -n 3 \"$slot/check.log\" | tr '\\n' ' "
       "')): wiped, built from nothing\"\n"
    << "      rm -rf \"$tree\"\n"
    << "    else\n"
    << "      warm_note \"warm tree $slot verified\"\n"
    << "    fi\n"
    << "  fi\n"
    << "  # Unsealed while this job uses it: a job that dies here leaves it untrusted.\n"
    << "  rm -f \"$slot/manifest\"\n"
    << "  if [ -d \"$tree\" ] && git -C \"$tree\" checkout -q -f --detach " << head
    << " 2>\"$slot/check.log\" && git -C \"$tree\" clean -q -ffdx -e .rlvr; then\n"
    << "    :\n"
    << "  else\n"
    << "    [ -d \"$tree\" ] && warm_note \"warm tree $slot: checkout failed ($(head -n 2 "
       "\"$slot/check.log\" | tr '\\n' ' ')): wiped, built from nothing\"\n"
    << "    [ -d \"$tree\" ] || warm_note \"warm tree $slot: new, built from nothing\"\n"
    << "    clone_at_head \"$tree\" || cannot_check_out\n"
    << "  fi\n"
    << "fi\n";
  return s.str();
}

std::string WarmTreeSealLines() {
  return "if [ -n \"$slot\" ]; then\n"
         "  (cd \"$tree\" && find .rlvr -type f ! -path .rlvr/lock -print0 | sort -z |\n"
         "    xargs -0 -r sha256sum) >\"$slot/manifest.tmp\" &&\n"
         "    mv \"$slot/manifest.tmp\" \"$slot/manifest\"\n"
         "fi\n";
}

}  // namespace rlvr
