// CallerState: the parts of a thread's execution environment that a kernel must leave as it found
// them, because its caller's arithmetic and signal handling depend on them:
//   x86:     the MXCSR control bits (flush-to-zero, denormals-are-zero, SSE rounding, exception
//            masks) and the x87 control word (precision, rounding, exception masks);
//   AArch64: FPCR (flush-to-zero, rounding, default NaN);
//   all:     the C rounding mode (fegetround) and the thread's signal mask.
// Status flags (MXCSR bits 0-5, the x87 status word, FPSR) change with ordinary arithmetic and
// are not part of it. The kernel tests check it around every test (caller_state_test.cpp) and
// rlvr_bench around the whole benchmark run.
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>

namespace rlvr {

struct CallerState {
  uint32_t mxcsr = 0;        // x86 only: control bits (status flags masked out)
  uint16_t x87_control = 0;  // x86 only
  uint64_t fpcr = 0;         // AArch64 only
  int rounding = 0;          // fegetround()
  sigset_t signal_mask{};    // pthread_sigmask of the calling thread
};

CallerState CaptureCallerState();

// "" if `now` equals `before`, else one clause per part that changed, naming it with both values,
// e.g. "MXCSR 0x1f80 -> 0x9fc0 (flush-to-zero set, denormals-are-zero set)".
std::string DescribeCallerStateChange(const CallerState& before, const CallerState& now);

// Puts the calling thread back into `state` (MXCSR, x87 control word, FPCR, rounding mode,
// signal mask).
void RestoreCallerState(const CallerState& state);

// Captures the current state, restores `before` if it differs and returns the description of
// the difference ("" if none).
std::string CheckAndRestoreCallerState(const CallerState& before);

}  // namespace rlvr
