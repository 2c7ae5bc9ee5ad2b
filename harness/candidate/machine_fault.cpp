#include "harness/candidate/machine_fault.h"

#include <signal.h>

#include <regex>

namespace rlvr {

namespace {

thread_local std::string t_fault;

// A compiler driver's own words for a compiler the kernel killed, at the start of a line (what a
// candidate's `#error` prints starts with its file name, so it cannot pass for these).
const std::regex& CompilerKilledLine() {
  static const std::regex pattern(
      R"((^|\n)(\S*/)?(g\+\+|gcc|c\+\+|cc|clang|clang\+\+|cc1|cc1plus)(-\d+)?: (fatal error: Killed signal terminated program|internal compiler error: Killed \(program))");
  return pattern;
}

}  // namespace

std::string BuildMachineFault(const ProcessResult& result, const std::string& output) {
  if (result.stopped || result.timed_out) return "";
  if (result.spawn_failed) return "the build tool cannot be started: " + result.err;
  if (result.signal == SIGKILL)
    return "the build was killed by SIGKILL from outside rlvr (the out-of-memory killer?)";
  std::smatch match;
  if (std::regex_search(output, match, CompilerKilledLine()))
    return "the compiler was killed (" + match[3].str() +
           ": killed by a signal; the out-of-memory killer?)";
  return "";
}

bool IsOutOfMemoryFault(const std::string& fault) {
  return fault.find("out-of-memory") != std::string::npos;
}

void NoteMachineFault(const std::string& fault) {
  if (t_fault.empty()) t_fault = fault;
}

std::string TakeMachineFault() {
  std::string fault;
  fault.swap(t_fault);
  return fault;
}

}  // namespace rlvr
