// Nothing rlvr starts outlives it. Every child RunProcess starts leads its own process group;
// those groups are registered here while they run, and a guard process (forked once, in its own
// session, deaf to stop signals) holds one end of a socket whose other end only rlvr holds. When
// rlvr dies — SIGKILL included — the guard reads end of file and SIGKILLs every group still
// registered, so a hung test or a build's compilers die with rlvr, not at their CPU limit.
//
// A guard can be killed too (`kill -9` of every process named rlvr); for that, a process may also
// keep its live groups in a record file (base/leftover_processes.h) that the next rlvr reads.
#pragma once

#include <sys/types.h>

#include <vector>

namespace rlvr {

// Registers `group` (a process group this process created, whose leader it will reap). Starts the
// guard on first use, and again if it died. Precondition: `group` > 0.
void GuardProcessGroup(pid_t group);

// Unregisters `group`. Precondition: its leader is reaped and the group killed, so the guard must
// no longer touch that id (it may be reused).
void ReleaseProcessGroup(pid_t group);

// The groups registered now, in registration order.
std::vector<pid_t> GuardedProcessGroups();

// SIGKILLs every registered group (abandoning whatever this process is running: RunProcess then
// sees its child killed). Returns how many groups it signalled.
int KillGuardedProcessGroups();

// SIGKILLs process group `group` until it is gone (a fork bomb may keep spawning while the signal
// sweeps), for at most about a second. Async-signal-safe: the guard calls it after fork.
void KillProcessGroupUntilGone(pid_t group);

// The guard's pid, 0 when none runs yet (tests: it must outlive a stop signal, and a new one must
// take over when it is killed).
pid_t ProcessGuardPid();

}  // namespace rlvr
