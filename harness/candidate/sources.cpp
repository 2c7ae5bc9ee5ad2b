#include "harness/candidate/sources.h"

#include <cstring>

namespace rlvr {

bool IsCxxSource(const std::string& path) {
  for (const char* ext :
       {".cpp", ".cc", ".cxx", ".c", ".h", ".hpp", ".hh", ".hxx", ".inl", ".inc", ".ipp", ".tcc"}) {
    if (path.size() > std::strlen(ext) && path.ends_with(ext)) return true;
  }
  return false;
}

bool IsCompiledSource(const std::string& path) {
  return path.ends_with(".cpp") || path.ends_with(".cc") || path.ends_with(".cxx") ||
         path.ends_with(".c");
}

}  // namespace rlvr
