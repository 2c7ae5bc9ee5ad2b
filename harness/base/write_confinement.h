// Confines a child's file writes to a few directory trees (Linux Landlock), so that untrusted
// candidate code cannot touch HEAD's build, the ledger, the repository's .git, the committed
// baselines or anything else outside its own sandbox, whatever the static checks missed. Reads and
// execution stay open (a test reads its fixtures, a benchmark loads shared libraries). Where the
// kernel has no Landlock the child runs unconfined, and WriteConfinementStatus() says so in one
// line for every report that runs candidate code.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rlvr {

// A Landlock ruleset that allows writes (create, write, truncate, remove, rename) only beneath
// `writable` (paths that do not exist are left out) and on a few harmless devices (/dev/null,
// /dev/zero, /dev/full, /dev/shm). Returns its file descriptor (close-on-exec), or -1 with `why`
// set when the kernel cannot confine writes. The caller closes it after starting the child.
int MakeWriteRuleset(const std::vector<std::filesystem::path>& writable, std::string* why);

// Runs in a forked child before exec (async-signal-safe): restricts the calling process and its
// future children to `ruleset_fd`. Returns 0, or the errno of the failed call.
int RestrictWritesTo(int ruleset_fd);

// "candidate writes confined to their own trees (Landlock ABI 7)" or "candidate writes NOT
// confined: <reason>": probed once per process.
std::string WriteConfinementStatus();
bool WriteConfinementAvailable();

}  // namespace rlvr
