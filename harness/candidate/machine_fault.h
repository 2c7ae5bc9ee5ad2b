// Faults of this machine met while building candidate code — a build tool that cannot be started,
// a compiler killed from outside (the kernel's out-of-memory killer) — told apart from the
// candidate's failure. The build notes them here; the verifier takes the note after a gate fails
// and records "not judged (the machine's fault)" instead of blaming the candidate.
//
// The note is per thread: a gate's builds run on the thread that runs the gate.
#pragma once

#include <string>

#include "harness/base/process.h"

namespace rlvr {

// What in `result` (a build tool's run) and `output` (its filtered output) is the machine's fault,
// or empty when the failure may be the candidate's (a compile error, a timeout, a stop).
std::string BuildMachineFault(const ProcessResult& result, const std::string& output);

// Whether `fault` (from BuildMachineFault) is a kill of the compiler that a second build with one
// job may not meet (less memory at once).
bool IsOutOfMemoryFault(const std::string& fault);

void NoteMachineFault(const std::string& fault);  // keeps the first one noted
std::string TakeMachineFault();                   // returns it and forgets it

}  // namespace rlvr
