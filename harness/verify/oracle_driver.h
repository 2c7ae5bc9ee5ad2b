// The C source of the default oracle's driver program for one function (verify/default_oracle.h):
// it calls HEAD's version and the candidate's (two names of one signature, bound to their symbols
// with asm labels) on the same inputs, case after case, and stops at the first difference.
//
// Cases: lengths 0..17, then 2^k-1, 2^k, 2^k+1 and one seeded random length per octave, plus a
// few odd ones (5551..5553, 65521...), up to a byte cap; each with random, all-zero and all-0xFF
// (maximum) contents (floats: random in [-1,1], zero, positive, large, denormal), the buffers
// 0..7 bytes off a 64-byte aligned allocation, scalar parameters cycling through random, 0, 1 and
// the type's maximum. Each side gets its own copy of every buffer (64 guard bytes past the end),
// so a write past the end or into an input shows as a difference. Integers are compared exactly;
// floats within a relative tolerance, with an absolute floor of tolerance * sqrt(n) * the inputs'
// magnitude (a reordered sum of n numbers moves by about that much). Lengths grow until the byte
// cap or the time budget; the driver says which ended the run.
//
// Protocol, on stdout (flushed per line so a crash leaves the last one): "RLVR_CASE <i> <what>"
// before each case, "RLVR_CALL head|candidate" before each call, then "RLVR_DIFF <what>" and exit
// status 3, or "RLVR_DONE <cases> <largest length> <largest bytes> <stopped by time: 0|1>".
// Arguments: seed, time budget in seconds, byte cap, relative tolerance.
#pragma once

#include <string>

#include "harness/verify/driven_signature.h"

namespace rlvr {

// The driver for `function`, calling `head_symbol` and `candidate_symbol`.
std::string OracleDriverSource(const DrivenFunction& function, const std::string& head_symbol,
                               const std::string& candidate_symbol);

}  // namespace rlvr
