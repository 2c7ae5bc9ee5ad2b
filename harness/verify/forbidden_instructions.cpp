#include "harness/verify/forbidden_instructions.h"

#include <map>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/base/process.h"

namespace rlvr {

namespace fs = std::filesystem;

const char* ForbiddenInstructionReason(const std::string& mnemonic, const std::string& operands) {
  static const std::map<std::string, const char*> reasons = {
      {"syscall", "makes a system call"},
      {"sysenter", "makes a system call"},
      {"int", "makes a system call"},
      {"svc", "makes a system call"},
      {"rdtsc", "reads the time-stamp counter"},
      {"rdtscp", "reads the time-stamp counter"},
      {"rdpid", "reads the processor id"},
      {"rdpmc", "reads a performance counter"},
      {"rdrand", "reads hardware randomness"},
      {"rdseed", "reads hardware randomness"},
      // The caller's floating-point environment is part of a kernel's contract: flush-to-zero,
      // denormals-are-zero or another rounding mode left behind changes the caller's arithmetic
      // (after one call, 1e-39f * 1.0f is 0), so a kernel may not load MXCSR or the x87 state.
      {"ldmxcsr", "changes the floating-point environment (MXCSR: rounding, flush-to-zero)"},
      {"vldmxcsr", "changes the floating-point environment (MXCSR: rounding, flush-to-zero)"},
      {"fldcw", "changes the floating-point environment (x87 control word)"},
      {"fldenv", "changes the floating-point environment (x87 environment)"},
      {"frstor", "changes the floating-point environment (x87 state)"},
      {"fxrstor", "changes the floating-point environment (x87/SSE state with MXCSR)"},
      {"fxrstor64", "changes the floating-point environment (x87/SSE state with MXCSR)"},
      {"xrstor", "changes the floating-point environment (extended state with MXCSR)"},
      {"xrstor64", "changes the floating-point environment (extended state with MXCSR)"},
      {"xrstors", "changes the floating-point environment (extended state with MXCSR)"},
      {"xrstors64", "changes the floating-point environment (extended state with MXCSR)"},
      {"finit", "changes the floating-point environment (resets the x87 control word)"},
      {"fninit", "changes the floating-point environment (resets the x87 control word)"}};
  if (auto it = reasons.find(mnemonic); it != reasons.end()) return it->second;
  // AArch64: mrs x0, cntvct_el0 / cntpct_el0 / pmccntr_el0.
  if (mnemonic == "mrs" &&
      (operands.find("cnt") != std::string::npos || operands.find("pmc") != std::string::npos))
    return "reads a clock or counter";
  // AArch64: msr fpcr, x0 (rounding, flush-to-zero) / msr fpsr, x0.
  if (mnemonic == "msr" &&
      (operands.find("fpcr") != std::string::npos || operands.find("fpsr") != std::string::npos))
    return "changes the floating-point environment (FPCR/FPSR)";
  return nullptr;
}

const char* InstructionReason(const std::string& mnemonic) {
  const char* reason = ForbiddenInstructionReason(mnemonic, "cnt");
  return reason ? reason : "not allowed in a kernel";
}

std::set<std::pair<std::string, std::string>> ForbiddenInstructions(const fs::path& object) {
  RunOptions options;
  options.limits.wall_seconds = 120;
  options.max_output_bytes = size_t{256} << 20;
  ProcessResult result =
      RunProcess({"objdump", "-d", "-w", "--no-show-raw-insn", object.string()}, options);
  if (!result.ok() || result.out.size() >= options.max_output_bytes)
    throw std::runtime_error(
        fmt::format("objdump -d {} failed: {} {}", object.string(), result.Describe(), result.err));
  static const std::set<std::string> prefixes = {
      "lock",   "rep", "repz",  "repnz", "repe", "repne", "notrack", "bnd", "data16",
      "addr32", "rex", "rex.W", "cs",    "ds",   "es",    "fs",      "gs",  "ss"};
  std::set<std::pair<std::string, std::string>> found;
  std::string function = "(unknown)";
  std::istringstream in(result.out);
  for (std::string line; std::getline(in, line);) {
    // "0000000000000010 <_ZN4rlvr5StampEv>:" starts a function.
    if (!line.empty() && line[0] != ' ' && line.back() == ':') {
      size_t open = line.find('<'), close = line.rfind('>');
      if (open != std::string::npos && close != std::string::npos && close > open)
        function = line.substr(open + 1, close - open - 1);
      continue;
    }
    // "   4:\trdtsc" / "  1c:\tlock xadd %eax,(%rdx)"
    size_t colon = line.find(":\t");
    if (colon == std::string::npos) continue;
    std::istringstream words(line.substr(colon + 2));
    std::string mnemonic;
    while (words >> mnemonic && prefixes.count(mnemonic)) {
    }
    std::string operands;
    std::getline(words, operands);
    if (ForbiddenInstructionReason(mnemonic, operands)) found.emplace(function, mnemonic);
  }
  return found;
}

}  // namespace rlvr
