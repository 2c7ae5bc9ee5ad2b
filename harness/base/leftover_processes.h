// The process groups an rlvr left running when it and its guard (base/process_guard.h) were both
// killed, found by the ids it recorded — never by name — and ended by the next rlvr.
//
// A process that calls RecordProcessGroupsIn keeps the groups it runs in a record file of that
// folder, `<pid>.<start ticks>.groups`, rewritten whenever one starts or ends. A later rlvr calls
// EndLeftoverProcessGroups on the folder: for each record whose owner is no longer alive, it
// SIGKILLs each recorded group that still has a member started between the group's leader and the
// record's last write (so an id the system has since given to an unrelated group is left alone),
// and removes the record.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace rlvr {

struct RecordedGroup {
  pid_t group = 0;
  uint64_t leader_start_ticks = 0;  // field 22 of /proc/<group>/stat when it was registered
};

// From now on, keep this process's running groups in a record file in `dir` (created; an error
// is thrown when it cannot be). An rlvr this one starts (`rlvr evaluate` of a pool) is given the
// folder through the environment variable below, so it records into the same place.
void RecordProcessGroupsIn(const std::filesystem::path& dir);
std::filesystem::path ProcessRecordDir();  // empty when none was given
inline constexpr const char* kProcessRecordDirVariable = "RLVR_PROCESS_RECORD_DIR";

// Rewrites this process's record file with `groups` (nothing when no folder was given). Errors
// are ignored: the record is a second line of defence behind the guard.
void RecordProcessGroups(const std::vector<RecordedGroup>& groups);

// Ends what dead rlvr processes recorded in `dir` left running; returns a line for each group it
// ended ("process group 1234 (3 processes) left by rlvr 999") and removes those records.
std::vector<std::string> EndLeftoverProcessGroups(const std::filesystem::path& dir);

// Field 22 of /proc/<pid>/stat (clock ticks after boot); 0 when the process does not exist.
uint64_t ProcessStartTicks(pid_t pid);

}  // namespace rlvr
