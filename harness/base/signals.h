// Ctrl-C / SIGTERM for the loop. The first signal stops it now, in whatever phase: a model request
// is abandoned, the running build, test or benchmark is killed (base/process.h ends a child when a
// stop is requested), the attempt is recorded as not judged, the ledger closed — seconds, not the
// minutes an evaluation can take, so a service manager's stop timeout is never reached. Handlers
// only bump a counter.
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
void ResetStopRequests();  // for tests and for a new loop in the same process
void RequestStop();        // as if a signal arrived (tests, internal stops); no FirstStopSignal

// Sleeps `seconds` in short slices; returns false early if a stop was requested.
bool SleepUnlessStopped(double seconds);

}  // namespace rlvr
