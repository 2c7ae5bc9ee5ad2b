// Object audit, part of the `build` gate: judges what a candidate's COMPILED object does, not how
// its source is spelled. Text patterns are no security boundary (a token-pasting macro spells
// `getenv` without the word); the object file names every symbol the code keeps, runs at load
// or reaches, whatever macro produced it.
//
// The candidate's object is compared with HEAD's object of the same source (none for a new
// file), so only what the candidate ADDS is judged:
//   1. writable static storage — any symbol, global or local (file statics, function-local
//      statics, their guard variables, thread_local), in a writable section (.data, .bss,
//      .tdata, .tbss and their -fdata-sections subsections, .data.rel.local, common symbols, or
//      any section flagged writable) that HEAD's object lacks, by demangled name. A kernel whose
//      output may depend on state kept between calls can cache results. Read-only data (.rodata,
//      .data.rel.ro, read-only after relocation) is fine; so are the unwinder's DW.ref.* cells.
//      A target declares state it legitimately keeps as globs (rlvr.json "allowed_state").
//   2. load-time code — constructors and destructors run when the program loads or exits
//      (entries of .init_array/.fini_array/.preinit_array/.ctors/.dtors, .init/.fini code,
//      _GLOBAL__sub_I_* functions, IFUNC resolvers, which the loader runs) that HEAD's object
//      lacks.
//   3. external references — undefined symbols HEAD's object does not reference either and that
//      are neither pure (IsPureReference: libm, mem*, the C++ exception runtime, allocation,
//      ...) nor defined by the repository's own non-test library (the caller's set, see
//      LibraryDefinedSymbols) nor matched by the target's globs. getenv, __environ, clocks,
//      threads, files, signals, mmap, dlopen, syscall... are findings.
//   4. forbidden instructions — system calls (syscall, sysenter, int; svc on AArch64), clock,
//      counter or randomness reads (rdtsc, rdtscp, rdpid, rdpmc, rdrand, rdseed; mrs of the
//      cnt*/pmccntr registers) and loads of the floating-point environment (ldmxcsr, fldcw,
//      fxrstor, xrstor...; msr fpcr) in a function whose HEAD version has none: reachable without
//      any external symbol, through intrinsics (__rdtsc, _mm_setcsr) or inline assembly a macro
//      spelled (verify/forbidden_instructions.h).
//
// Rules 1-3 read the object directly as ELF (no nm/readelf): every section header, the symbol
// table (with extended section indices, so -ffunction-sections objects of any size work) and the
// relocations, which name what .init_array entries run and whether a reference is a call.
// Only 64-bit little-endian relocatable objects (x86-64, AArch64) are accepted; anything else,
// or a malformed file, throws std::runtime_error (the gate fails closed). Rule 4 disassembles
// with binutils' `objdump -d` (through RunProcess); objdump failing also throws.
//
// Glob language (allowed_state, allowed_references): `*` matches any run of characters,
// including "::", `?` one character. A glob is matched against the demangled name (without a
// "guard variable for " prefix, so "rlvr::*::arena" also accepts the arena's guard) and against
// the mangled name.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "harness/base/config.h"

namespace rlvr {

enum class AuditRule {
  kWritableState,      // rule 1
  kLoadTimeCode,       // rule 2
  kExternalReference,  // rule 3
  kInstruction,        // rule 4
  kDefinedSymbol,      // binary audit only: a new global definition outside the symbol rules
};

struct AuditFinding {
  AuditRule rule = AuditRule::kWritableState;
  std::string symbol;   // demangled name (or a section name for unnamed storage/entries)
  std::string mangled;  // as in the object (same as `symbol` for C names)
  // kWritableState: the section (".bss", ".tbss", ".bss._ZL5cache", "COMMON");
  // kLoadTimeCode: the section or "symbol" for a _GLOBAL__sub_I_* function;
  // kExternalReference: "calls" when only call relocations reach it, else "references";
  // kInstruction: the mnemonic ("rdtsc"); `symbol` is the function holding it.
  std::string detail;

  bool operator==(const AuditFinding&) const = default;
};

struct ObjectAuditPolicy {
  // Mangled names defined by the repository's own non-test objects (LibraryDefinedSymbols):
  // references to them are accepted (e.g. rlvr::ThreadPool::Run).
  std::set<std::string> library_symbols;
  // Globs of static storage the target legitimately keeps (rlvr.json "allowed_state").
  std::vector<std::string> allowed_state;
  // Globs of further external symbols the target may reference (extends the pure list).
  std::vector<std::string> allowed_references;
};

// Findings of `candidate_object` against `baseline_object` (an empty path, or one that does not
// exist, = a new file: compared against nothing). Sorted by rule, then name; no duplicates.
// Throws std::runtime_error when an object cannot be read or is not an ELF64 relocatable file.
std::vector<AuditFinding> AuditObject(const std::filesystem::path& candidate_object,
                                      const std::filesystem::path& baseline_object,
                                      const ObjectAuditPolicy& policy);

// One line per finding, prefixed with the source's repository-relative path, e.g.
//   kernels/gemm.cpp: writable static storage `rlvr::Gemm(...)::cache` (.bss) — a kernel's output
//   may depend only on its inputs; declare legitimate state in rlvr.json "allowed_state"
//   kernels/gemm.cpp: calls `getenv` — not a pure function; kernels compute on their arguments only
std::string FormatAuditFinding(const std::string& source, const AuditFinding& finding);
std::vector<std::string> FormatAuditFindings(const std::string& source,
                                             const std::vector<AuditFinding>& findings);

// IsPureReference, the built-in list of pure functions a kernel may reach: verify/pure_functions.h.

// The union of the global (non-local) symbols, mangled, defined by every object that the build's
// compile_commands.json compiles from a source under `source_root` and not under any of
// `excluded_dirs` (paths relative to source_root, e.g. "tests/"; a file path excludes just that
// file). Objects not built yet are skipped (so their symbols are missing: fails closed). Throws
// std::runtime_error when compile_commands.json is missing or unreadable.
std::set<std::string> LibraryDefinedSymbols(const std::filesystem::path& build_dir,
                                            const std::filesystem::path& source_root,
                                            const std::vector<std::string>& excluded_dirs);

// Binary audit, part of the `build` gate after the candidate is linked: the same rules applied
// to a whole linked executable or shared library (its .symtab, or .dynsym when stripped), HEAD's
// build of it against the candidate's, so every edit is covered — kernels in headers, LTO, a
// source compiled twice (shared and static), builds without compile_commands.json, repositories
// built by a command. Findings: writable data symbols the candidate's binary has more of (names
// compared without symbol versions and GCC/LTO numbering: "cache.0" = "cache.3"), new load-time
// code (_GLOBAL__sub_I_*, a bigger .init_array, IFUNCs), new undefined references that are not
// pure (IsPureReference), in `policy.library_symbols` or allowed by the target, new global
// definitions outside `rules` (a header defining clock_gettime; kDefinedSymbol), and, with
// `scan_instructions`, forbidden instructions (rule 4) in functions whose HEAD version has none.
// `*dynamic_symbols_only` (may be null) is set when either binary is stripped (only the dynamic
// symbols could be compared: local statics are invisible); `*instructions_not_scanned` (may be
// null) to why the disassembly of HEAD's binary failed, if it did (then no instruction findings;
// the symbol rules still apply; the candidate's failing alone throws). Throws std::runtime_error
// when either file cannot be read or is not a 64-bit little-endian linked ELF file.
std::vector<AuditFinding> AuditLinkedBinary(const std::filesystem::path& candidate_binary,
                                            const std::filesystem::path& baseline_binary,
                                            const ObjectAuditPolicy& policy,
                                            const SymbolRules& rules, bool scan_instructions,
                                            bool* dynamic_symbols_only = nullptr,
                                            std::string* instructions_not_scanned = nullptr);

// Whether `path` is a 64-bit ELF executable or shared library.
bool IsLinkedElf(const std::filesystem::path& path);

// The linked ELF files under `dir` (relative, '/' separated, sorted), not looking into CMakeFiles,
// .rlvr or .git directories.
std::vector<std::string> LinkedBinariesUnder(const std::filesystem::path& dir);

// Whether a .o holds only link-time-optimisation bytecode (GCC's -flto without
// -ffat-lto-objects): no machine code or final symbols for AuditObject to judge; the binary audit
// of the linked programs covers it. Throws like AuditObject.
bool IsSlimLtoObject(const std::filesystem::path& object_file);

// The shared libraries a linked binary needs (its DT_NEEDED entries, e.g. "libxxhash.so.0").
// Throws std::runtime_error like AuditLinkedBinary.
std::vector<std::string> NeededLibraries(const std::filesystem::path& binary);

// The global and weak symbols a linked binary defines (names without symbol versions): what a
// build's shared libraries give the binaries that reference them.
std::set<std::string> DefinedGlobalSymbols(const std::filesystem::path& binary);

// The demangled form of a symbol name (the name itself when it is not a C++ mangled name).
std::string DemangleSymbol(const std::string& mangled);

// `*` any run of characters, `?` one character (see the header comment).
bool MatchesSymbolGlob(const std::string& glob, const std::string& name);

}  // namespace rlvr
