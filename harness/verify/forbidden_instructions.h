// Rule 4 of the object audit: instructions a kernel may not execute — system calls, clocks and
// counters, hardware randomness, and loads of the floating-point environment (MXCSR, the x87
// control word) that would change the caller's arithmetic — found by disassembling with objdump.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <utility>

namespace rlvr {

// Why a kernel may not execute `mnemonic` (with its operands), or nullptr when it may.
const char* ForbiddenInstructionReason(const std::string& mnemonic, const std::string& operands);

// The reason for a mnemonic already found forbidden ("not allowed in a kernel" when unknown).
const char* InstructionReason(const std::string& mnemonic);

// ("function", "mnemonic") pairs of forbidden instructions in `object` (an object file or a
// linked program), from `objdump -d`. Throws std::runtime_error when objdump fails.
std::set<std::pair<std::string, std::string>> ForbiddenInstructions(
    const std::filesystem::path& object);

}  // namespace rlvr
