// Rule 3 of the object audit: the external functions a kernel may reach — libm, mem* and str*
// on the caller's buffers, the C++ exception runtime, allocation, libgcc's arithmetic helpers and
// libmvec's vector variants. Anything else a candidate's object references anew (getenv, clocks,
// threads, files, signals, fesetround...) is a finding.
#pragma once

#include <string>

namespace rlvr {

// Whether an undefined reference, `mangled` as it appears in the object, is on the built-in list.
bool IsPureReference(const std::string& mangled);

}  // namespace rlvr
