// Which repository paths are C or C++ source: the files a candidate's build compiles, the gates
// format, audit and analyse, and code-layout padding (bench/relayout.h) can re-lay-out. Judged by
// the file name alone.
#pragma once

#include <string>

namespace rlvr {

// Whether a repository path is C or C++ source or header (.cpp .cc .cxx .c .h .hpp .hh .hxx .inl
// .inc .ipp .tcc). A bare extension (".h") is not.
bool IsCxxSource(const std::string& path);

// Whether a repository path is a C or C++ translation unit the build compiles (.cpp .cc .cxx .c).
bool IsCompiledSource(const std::string& path);

}  // namespace rlvr
