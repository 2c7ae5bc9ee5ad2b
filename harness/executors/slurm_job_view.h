// What the Slurm executor (executors/slurm.h) can observe of one job, as pure functions over text
// so they are tested without a cluster: the controller's line for it in squeue, and the start
// lines its job script leaves in the evaluation's folder. Both count the job's restarts: Slurm
// reruns a requeued job (a lost node, `scontrol requeue`, a failed prolog) under the same job id,
// which only these counts reveal.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace rlvr {

// One job as squeue shows it.
struct SlurmQueueEntry {
  std::string state;        // RUNNING, PENDING, COMPLETING, CANCELLED, ...
  std::string node;         // where it runs; empty while pending
  int restarts = 0;         // RestartCnt: how often Slurm requeued it so far
  double submitted_at = 0;  // Unix seconds of its (re)submission: a requeue resets it; 0 = unknown
  std::string reason;  // why it pends ("BeginTime", "launch failed requeued held", "None", ...)
  std::string comment;
};

// squeue's arguments for lines ParseSlurmQueue reads; squeue must run with
// SLURM_TIME_FORMAT=%s (kSlurmTimeFormat) so times are Unix seconds, whatever the time zone.
std::vector<std::string> SlurmQueueFormatArguments();
inline constexpr const char* kSlurmTimeFormat = "%s";

// squeue's output in that format -> job id -> entry. Lines of another shape are skipped; a field
// Slurm leaves unknown ("N/A", "(null)", "Unknown") reads as empty or 0.
std::map<std::string, SlurmQueueEntry> ParseSlurmQueue(const std::string& squeue_output);

// Why Slurm may have requeued a job, for an infrastructure event: its own pending reason when that
// names a cause ("Slurm's reason: launch failed requeued held"), else the usual causes.
std::string RequeueCause(const std::string& reason);

// Whether Slurm holds a job it requeued ("launch failed requeued held" after a failed prolog,
// "job requeued in held state" after `scontrol requeuehold`): it will not run again by itself.
bool IsHeldAfterRequeue(const std::string& reason);

// One start of the job script: "<node> <unix seconds> <SLURM_RESTART_COUNT>" per line.
struct JobStart {
  std::string node;
  double started_at = 0;
  int restart = 0;  // 0 on the first run, n on Slurm's n-th rerun of the same job id
};

// The lines of a start.<job id> file, oldest first; malformed lines are skipped. A line without
// a restart count (a job script of an older rlvr) counts as that of its position.
std::vector<JobStart> ParseJobStarts(const std::string& text);

// The restarts a job's starts prove: the highest restart count among them, at least one per start
// after the first (0 when none).
int RestartsOfStarts(const std::vector<JobStart>& starts);

}  // namespace rlvr
