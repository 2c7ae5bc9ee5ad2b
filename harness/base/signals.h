// Ctrl-C / SIGTERM for the loop. The first signal asks the loop to stop after the current
// evaluation; the second asks it to abandon that evaluation now (its child processes are
// killed, the attempt is recorded, the ledger closed). Handlers only bump a counter.
#pragma once

namespace rlvr {

void InstallStopHandlers();  // SIGINT and SIGTERM
int StopRequestCount();      // signals received since start (or the last reset)
// The first stop signal received since start (or the last reset): SIGINT or SIGTERM; 0 when none
// arrived (RequestStop alone does not set it).
int FirstStopSignal();
inline bool StopRequested() {
  return StopRequestCount() >= 1;
}
inline bool AbandonRequested() {
  return StopRequestCount() >= 2;
}
void ResetStopRequests();  // for tests and for a new loop in the same process
void RequestStop();        // as if a signal arrived (tests, internal stops); no FirstStopSignal

// Sleeps `seconds` in short slices; returns false early if a stop was requested.
bool SleepUnlessStopped(double seconds);

// SIGKILLs the process group of each direct child of this process (the builds, tests and
// benchmarks the evaluator runs each live in their own group). Returns how many it signalled.
int KillChildProcessGroups();

}  // namespace rlvr
