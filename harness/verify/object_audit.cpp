#include "harness/verify/object_audit.h"

#include <cxxabi.h>
#include <elf.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/base/process.h"
#include "harness/candidate/compile_commands.h"
#include "harness/verify/elf_object.h"
#include "harness/verify/forbidden_instructions.h"
#include "harness/verify/pure_functions.h"
#include "harness/verify/symbol_check.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Section kinds.

// `name` is `prefix` or one of its -ffunction-sections/-fdata-sections subsections.
bool IsSectionOrSub(std::string_view name, std::string_view prefix) {
  return name == prefix || (name.size() > prefix.size() &&
                            name.substr(0, prefix.size()) == prefix && name[prefix.size()] == '.');
}

// Sections whose contents the dynamic loader or the C runtime runs at load or exit.
bool IsLoadTimeSection(const ElfSection& section) {
  if (section.type == SHT_INIT_ARRAY || section.type == SHT_FINI_ARRAY ||
      section.type == SHT_PREINIT_ARRAY)
    return true;
  for (std::string_view prefix :
       {".init_array", ".fini_array", ".preinit_array", ".ctors", ".dtors"})
    if (IsSectionOrSub(section.name, prefix)) return true;
  return section.name == ".init" || section.name == ".fini";
}

// Sections that are writable while kernels run. The flag decides, but so does the name: the
// linker places input sections by name (.data.* into .data), so a `.data.x` without the write
// flag (hand-written assembly) still ends up writable. .data.rel.ro is read-only after
// relocation (RELRO).
bool IsWritableSection(const ElfSection& section) {
  if (IsLoadTimeSection(section)) return false;
  if (IsSectionOrSub(section.name, ".data.rel.ro")) return false;
  if ((section.flags & SHF_ALLOC) && (section.flags & SHF_WRITE)) return true;
  for (std::string_view prefix :
       {".data", ".bss", ".tdata", ".tbss", ".sdata", ".sbss", ".ldata", ".lbss", ".gnu.linkonce.d",
        ".gnu.linkonce.b", ".gnu.linkonce.td", ".gnu.linkonce.tb", ".data1"})
    if (IsSectionOrSub(section.name, prefix)) return true;
  return false;
}

// Relocation types of a direct call or tail call: the reference is a function being called.
bool IsCallRelocation(uint16_t machine, uint32_t type) {
  if (machine == EM_X86_64) return type == R_X86_64_PLT32;
  if (machine == EM_AARCH64) return type == R_AARCH64_CALL26 || type == R_AARCH64_JUMP26;
  return false;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// The name a glob or HEAD comparison should see for a compiler-made companion of a variable.
std::string StripCompanionPrefix(const std::string& demangled) {
  static const std::regex prefix_re(
      R"(^(guard variable for |reference temporary #\d+ for |TLS init function for |TLS wrapper function for ))");
  return std::regex_replace(demangled, prefix_re, "", std::regex_constants::format_first_only);
}

bool MatchesAny(const std::vector<std::string>& globs, const std::string& mangled,
                const std::string& demangled) {
  std::string subject = StripCompanionPrefix(demangled);
  for (const auto& glob : globs) {
    if (MatchesSymbolGlob(glob, subject) || MatchesSymbolGlob(glob, demangled) ||
        MatchesSymbolGlob(glob, mangled))
      return true;
  }
  return false;
}

// What one object keeps, runs at load and references, by the names the rules compare.
struct ObjectFacts {
  struct Storage {
    std::string mangled, demangled, section;
  };
  std::vector<Storage> storage;                  // rule 1, named symbols
  std::vector<std::string> unnamed_storage;      // rule 1, writable sections without symbols
  std::map<std::string, std::string> load_time;  // rule 2, demangled name -> section
  // rule 3: mangled name -> "calls" when only call relocations reach it, else "references"
  std::map<std::string, std::string> references;
};

// The function a relocation in an .init_array entry points to: the symbol itself, or, when the
// relocation names a section (local functions often are), the function at that offset in it.
std::string RelocationTargetName(const ElfObject& object, const ElfRelocation& relocation) {
  if (relocation.symbol == 0 || relocation.symbol >= object.symbols.size()) return "(absolute)";
  const ElfSymbol& symbol = object.symbols[relocation.symbol];
  if (symbol.type != STT_SECTION) return symbol.name;
  for (const auto& candidate : object.symbols) {
    if (candidate.type == STT_FUNC && candidate.section == symbol.section &&
        static_cast<int64_t>(candidate.value) == relocation.addend)
      return candidate.name;
  }
  std::string section =
      symbol.section < object.sections.size() ? object.sections[symbol.section].name : "?";
  return fmt::format("{}+{}", section, relocation.addend);
}

ObjectFacts CollectFacts(const ElfObject& object) {
  ObjectFacts facts;
  std::vector<bool> section_has_symbol(object.sections.size(), false);
  for (const auto& symbol : object.symbols) {
    if (symbol.name.empty() || symbol.type == STT_SECTION || symbol.type == STT_FILE) continue;
    if (symbol.section == SHN_UNDEF) {
      facts.references.emplace(symbol.name, "");
      continue;
    }
    // The unwinder's cells pointing at the personality routine or a caught type's typeinfo:
    // written once by the loader, never by code.
    bool unwinder_cell = StartsWith(symbol.name, "DW.ref.");
    if (symbol.section == SHN_COMMON) {
      facts.storage.push_back({symbol.name, DemangleSymbol(symbol.name), "COMMON"});
      continue;
    }
    if (symbol.section >= object.sections.size()) continue;  // SHN_ABS and other specials
    const ElfSection& section = object.sections[symbol.section];
    section_has_symbol[symbol.section] = true;
    if (IsWritableSection(section) && !unwinder_cell)
      facts.storage.push_back({symbol.name, DemangleSymbol(symbol.name), section.name});
    // The loader runs an IFUNC's resolver while relocating, before main.
    if (symbol.type == STT_GNU_IFUNC)
      facts.load_time[DemangleSymbol(symbol.name)] = "IFUNC resolver";
    if (StartsWith(symbol.name, "_GLOBAL__sub_I_") || StartsWith(symbol.name, "_GLOBAL__sub_D_") ||
        StartsWith(symbol.name, "_GLOBAL__I_") || StartsWith(symbol.name, "_GLOBAL__D_"))
      facts.load_time.emplace(DemangleSymbol(symbol.name), "symbol");
  }
  for (size_t i = 1; i < object.sections.size(); ++i) {
    const ElfSection& section = object.sections[i];
    if (section.size > 0 && IsWritableSection(section) && !section_has_symbol[i])
      facts.unnamed_storage.push_back(section.name);
    if (section.size == 0 || !IsLoadTimeSection(section)) continue;
    bool named = false;
    for (const auto& relocation : object.relocations) {
      if (relocation.section != i) continue;
      // Overwrites a "symbol" entry of the same function: the section says more.
      facts.load_time[DemangleSymbol(RelocationTargetName(object, relocation))] = section.name;
      named = true;
    }
    // Code in .init/.fini, or array entries without relocations: name the section itself.
    if (!named) facts.load_time.emplace(fmt::format("({} bytes)", section.size), section.name);
  }
  for (const auto& relocation : object.relocations) {
    if (relocation.symbol == 0 || relocation.symbol >= object.symbols.size()) continue;
    const ElfSymbol& symbol = object.symbols[relocation.symbol];
    if (symbol.section != SHN_UNDEF || symbol.name.empty()) continue;
    std::string& how = facts.references[symbol.name];
    if (!IsCallRelocation(object.machine, relocation.type))
      how = "references";
    else if (how.empty())
      how = "calls";
  }
  for (auto& [name, how] : facts.references)
    if (how.empty()) how = "references";
  return facts;
}

std::string Truncate(const std::string& text, size_t limit) {
  return text.size() <= limit ? text : text.substr(0, limit) + "...";
}

// `relative` (generic form, no "..") lies at or under `excluded`.
bool IsUnder(const fs::path& relative, const std::string& excluded) {
  fs::path prefix = fs::path(excluded).lexically_normal();
  if (!prefix.empty() && !prefix.has_filename()) prefix = prefix.parent_path();  // "tests/"
  auto r = relative.begin();
  for (auto p = prefix.begin(); p != prefix.end(); ++p, ++r) {
    if (r == relative.end() || *r != *p) return false;
  }
  return !prefix.empty();
}

}  // namespace

std::string DemangleSymbol(const std::string& mangled) {
  if (!StartsWith(mangled, "_Z")) return mangled;
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> text(
      abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status), &std::free);
  return status == 0 && text ? std::string(text.get()) : mangled;
}

bool MatchesSymbolGlob(const std::string& glob, const std::string& name) {
  // Iterative wildcard match with one backtrack point (the last `*`).
  size_t g = 0, n = 0, star = std::string::npos, resume = 0;
  while (n < name.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == name[n])) {
      ++g;
      ++n;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      resume = n;
    } else if (star != std::string::npos) {
      g = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

std::vector<AuditFinding> AuditObject(const fs::path& candidate_object,
                                      const fs::path& baseline_object,
                                      const ObjectAuditPolicy& policy) {
  ObjectFacts candidate = CollectFacts(ReadElfObject(candidate_object));
  ObjectFacts baseline;
  std::error_code ec;
  if (!baseline_object.empty() && fs::exists(baseline_object, ec))
    baseline = CollectFacts(ReadElfObject(baseline_object));

  std::set<std::string> known_storage;
  for (const auto& s : baseline.storage) known_storage.insert(s.demangled);
  std::set<std::string> known_sections(baseline.unnamed_storage.begin(),
                                       baseline.unnamed_storage.end());

  std::vector<AuditFinding> findings;
  std::set<std::string> reported_storage;
  std::vector<const ObjectFacts::Storage*> companions;
  for (const auto& s : candidate.storage) {
    if (known_storage.count(s.demangled)) continue;
    if (MatchesAny(policy.allowed_state, s.mangled, s.demangled)) continue;
    // A guard variable is reported only when its variable is not (one finding per static).
    if (StripCompanionPrefix(s.demangled) != s.demangled) {
      companions.push_back(&s);
      continue;
    }
    reported_storage.insert(s.demangled);
    findings.push_back({AuditRule::kWritableState, s.demangled, s.mangled, s.section});
  }
  for (const auto* s : companions) {
    if (reported_storage.count(StripCompanionPrefix(s->demangled))) continue;
    findings.push_back({AuditRule::kWritableState, s->demangled, s->mangled, s->section});
  }
  for (const auto& section : candidate.unnamed_storage) {
    if (known_sections.count(section)) continue;
    findings.push_back(
        {AuditRule::kWritableState, fmt::format("(unnamed data in {})", section), "", section});
  }

  for (const auto& [name, where] : candidate.load_time) {
    if (baseline.load_time.count(name)) continue;
    findings.push_back({AuditRule::kLoadTimeCode, name, name, where});
  }

  for (const auto& [mangled, how] : candidate.references) {
    if (baseline.references.count(mangled) || policy.library_symbols.count(mangled)) continue;
    if (IsPureReference(mangled)) continue;
    std::string demangled = DemangleSymbol(mangled);
    if (MatchesAny(policy.allowed_references, mangled, demangled)) continue;
    findings.push_back({AuditRule::kExternalReference, demangled, mangled, how});
  }

  std::set<std::pair<std::string, std::string>> known_instructions;
  if (!baseline_object.empty() && fs::exists(baseline_object, ec))
    known_instructions = ForbiddenInstructions(baseline_object);
  for (const auto& [function, mnemonic] : ForbiddenInstructions(candidate_object)) {
    if (known_instructions.count({function, mnemonic})) continue;
    findings.push_back({AuditRule::kInstruction, DemangleSymbol(function), function, mnemonic});
  }

  std::sort(findings.begin(), findings.end(), [](const AuditFinding& a, const AuditFinding& b) {
    return std::tie(a.rule, a.symbol, a.detail) < std::tie(b.rule, b.symbol, b.detail);
  });
  findings.erase(std::unique(findings.begin(), findings.end()), findings.end());
  return findings;
}

std::string FormatAuditFinding(const std::string& source, const AuditFinding& finding) {
  // Template-heavy names run to kilobytes; a line must stay readable.
  std::string name = Truncate(finding.symbol, 300);
  switch (finding.rule) {
    case AuditRule::kWritableState:
      return fmt::format(
          "{}: writable static storage `{}` ({}) — a kernel's output may depend only on its "
          "inputs; declare legitimate state in rlvr.json \"allowed_state\"",
          source, name, finding.detail);
    case AuditRule::kLoadTimeCode:
      return fmt::format(
          "{}: load-time code `{}` ({}) — kernels may not run code when the program loads or "
          "exits",
          source, name, finding.detail);
    case AuditRule::kInstruction:
      return fmt::format(
          "{}: instruction `{}` in `{}` — {}; kernels compute on their arguments only", source,
          finding.detail, name, InstructionReason(finding.detail));
    case AuditRule::kExternalReference:
      return fmt::format(
          "{}: {} `{}` — not a pure function; kernels compute on their arguments "
          "only",
          source, finding.detail, name);
    case AuditRule::kDefinedSymbol:
      return fmt::format(
          "{}: defines a new global symbol `{}` ({}) that HEAD's build does not — it could "
          "replace a library function (clock_gettime, malloc...); give it internal linkage "
          "(`static`, an anonymous namespace) or the target's namespace/prefix (rlvr.json "
          "\"symbols\")",
          source, name, finding.detail);
  }
  return source + ": " + name;
}

std::vector<std::string> FormatAuditFindings(const std::string& source,
                                             const std::vector<AuditFinding>& findings) {
  std::vector<std::string> lines;
  lines.reserve(findings.size());
  for (const auto& finding : findings) lines.push_back(FormatAuditFinding(source, finding));
  return lines;
}

std::set<std::string> LibraryDefinedSymbols(const fs::path& build_dir, const fs::path& source_root,
                                            const std::vector<std::string>& excluded_dirs) {
  nlohmann::json commands = ReadCompileCommands(build_dir);
  std::error_code ec;
  fs::path root = fs::weakly_canonical(source_root, ec);
  std::set<fs::path> objects;
  for (const auto& entry : commands) {
    if (!entry.is_object() || !entry.contains("file") || !entry["file"].is_string()) continue;
    fs::path file = entry["file"].get<std::string>();
    if (file.is_relative()) file = fs::path(entry.value("directory", "")) / file;
    fs::path relative = fs::weakly_canonical(file, ec).lexically_relative(root);
    if (relative.empty() || *relative.begin() == "..") continue;  // outside the repository
    bool excluded = std::any_of(excluded_dirs.begin(), excluded_dirs.end(),
                                [&](const std::string& dir) { return IsUnder(relative, dir); });
    if (excluded) continue;
    fs::path object = CommandOutput(entry);
    if (!object.empty() && fs::is_regular_file(object, ec)) objects.insert(object);
  }
  std::set<std::string> symbols;
  for (const auto& object_path : objects) {
    ElfObject object = ReadElfObject(object_path);
    for (const auto& symbol : object.symbols) {
      if (symbol.name.empty() || symbol.section == SHN_UNDEF || symbol.bind == STB_LOCAL ||
          symbol.type == STT_SECTION || symbol.type == STT_FILE)
        continue;
      symbols.insert(symbol.name);
    }
  }
  return symbols;
}

// ---------------------------------------------------------------------------------------------
// Binary audit: linked executables and shared libraries, HEAD's against the candidate's.

namespace {

// The name a linked binary's symbol is compared by: without the symbol version a dynamic
// reference carries ("clock_gettime@GLIBC_2.17") and without the numbering GCC and LTO give local
// statics and clones ("cache.0", "cache.lto_priv.1", "f.constprop.0"), which shift when any other
// static of the same file is added or removed.
std::string ComparableName(const std::string& name) {
  std::string out = name.substr(0, name.find('@'));
  static const std::regex suffix_re(R"((\.(lto_priv|constprop|isra|part|cold|llvm)?\.?[0-9]*)+$)");
  if (out.find('.') != std::string::npos && !StartsWith(out, "DW.ref."))
    out = std::regex_replace(out, suffix_re, "");
  return out.empty() ? name : out;
}

struct BinaryFacts {
  std::map<std::string, int> storage;  // comparable name -> count
  std::map<std::string, std::string> storage_section;
  std::map<std::string, std::string> storage_demangled;
  std::map<std::string, std::string> load_time;  // name -> where
  std::set<std::string> references;              // comparable names
  std::map<std::string, DefinedSymbol> defined;  // comparable name -> symbol (global/weak)
  std::set<std::pair<std::string, std::string>> instructions;  // (comparable function, mnemonic)
  std::string instructions_error;  // why the disassembly failed (a program too big for objdump)
  bool dynamic_only = false;
};

BinaryFacts CollectBinaryFacts(const fs::path& path, bool scan_instructions) {
  ElfObject object = ReadElfObject(path, /*linked=*/true);
  ObjectFacts facts = CollectFacts(object);
  BinaryFacts out;
  out.dynamic_only = object.dynamic_symbols_only;
  for (const auto& s : facts.storage) {
    std::string key = ComparableName(s.mangled);
    ++out.storage[key];
    out.storage_section[key] = s.section;
    out.storage_demangled[key] = DemangleSymbol(key);
  }
  for (const auto& section : facts.unnamed_storage)
    ++out.storage["(unnamed data in " + section + ")"];
  for (const auto& [name, where] : facts.load_time) out.load_time[ComparableName(name)] = where;
  for (const auto& [name, how] : facts.references) out.references.insert(ComparableName(name));
  for (const auto& symbol : object.symbols) {
    if (symbol.name.empty() || symbol.section == SHN_UNDEF || symbol.bind == STB_LOCAL) continue;
    if (symbol.type == STT_SECTION || symbol.type == STT_FILE) continue;
    bool object_like = symbol.type == STT_OBJECT || symbol.type == STT_TLS;
    char letter = symbol.bind == STB_GNU_UNIQUE ? 'u'
                  : symbol.bind == STB_WEAK     ? (object_like ? 'V' : 'W')
                                                : (object_like ? 'D' : 'T');
    std::string key = ComparableName(symbol.name);
    out.defined[key] = DefinedSymbol{key, DemangleSymbol(key), letter};
  }
  if (scan_instructions) {
    try {
      for (const auto& [function, mnemonic] : ForbiddenInstructions(path))
        out.instructions.emplace(ComparableName(function), mnemonic);
    } catch (const std::runtime_error& e) {
      out.instructions_error = e.what();
    }
  }
  return out;
}

// HEAD's binaries stay the same across the evaluations of one loop: their facts are read once
// per (path, size, modification time).
BinaryFacts CachedBinaryFacts(const fs::path& path, bool scan_instructions) {
  static std::mutex mutex;
  static std::map<std::tuple<std::string, uintmax_t, int64_t, bool>, BinaryFacts> cache;
  std::error_code ec;
  auto key = std::make_tuple(
      fs::absolute(path, ec).string(), fs::file_size(path, ec),
      static_cast<int64_t>(fs::last_write_time(path, ec).time_since_epoch().count()),
      scan_instructions);
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  BinaryFacts facts = CollectBinaryFacts(path, scan_instructions);
  std::lock_guard<std::mutex> lock(mutex);
  if (cache.size() > 16) cache.clear();
  cache[key] = facts;
  return facts;
}

}  // namespace

std::vector<AuditFinding> AuditLinkedBinary(const fs::path& candidate_binary,
                                            const fs::path& baseline_binary,
                                            const ObjectAuditPolicy& policy,
                                            const SymbolRules& rules, bool scan_instructions,
                                            bool* dynamic_symbols_only,
                                            std::string* instructions_not_scanned) {
  BinaryFacts candidate = CollectBinaryFacts(candidate_binary, scan_instructions);
  BinaryFacts baseline = CachedBinaryFacts(baseline_binary, scan_instructions);
  if (dynamic_symbols_only) *dynamic_symbols_only = candidate.dynamic_only || baseline.dynamic_only;
  std::vector<AuditFinding> findings;
  for (const auto& [key, count] : candidate.storage) {
    auto known = baseline.storage.find(key);
    if (known != baseline.storage.end() && known->second >= count) continue;
    std::string demangled = DemangleSymbol(key);
    if (MatchesAny(policy.allowed_state, key, demangled)) continue;
    auto section = candidate.storage_section.find(key);
    findings.push_back({AuditRule::kWritableState, demangled, key,
                        section == candidate.storage_section.end() ? "" : section->second});
  }
  for (const auto& [name, where] : candidate.load_time) {
    if (baseline.load_time.count(name)) continue;
    findings.push_back({AuditRule::kLoadTimeCode, DemangleSymbol(name), name, where});
  }
  for (const auto& name : candidate.references) {
    if (baseline.references.count(name) || policy.library_symbols.count(name)) continue;
    if (IsPureReference(name)) continue;
    std::string demangled = DemangleSymbol(name);
    if (MatchesAny(policy.allowed_references, name, demangled)) continue;
    findings.push_back({AuditRule::kExternalReference, demangled, name, "references"});
  }
  for (const auto& [name, symbol] : candidate.defined) {
    if (baseline.defined.count(name) || IsAllowedSymbol(symbol, rules)) continue;
    // Pure functions linked in statically (libm's expf) replace nothing that could fake a result.
    if (IsPureReference(name)) continue;
    findings.push_back({AuditRule::kDefinedSymbol, symbol.demangled, name,
                        fmt::format("nm type {}", symbol.type)});
  }
  // HEAD's program disassembles but the candidate's does not: fail closed (a candidate must not
  // escape the scan by bloating the program). Both failing is a property of the repository.
  if (!candidate.instructions_error.empty() && baseline.instructions_error.empty())
    throw std::runtime_error(
        fmt::format("{} (HEAD's build of it could be disassembled)", candidate.instructions_error));
  std::string instructions_error = baseline.instructions_error;
  if (instructions_not_scanned) *instructions_not_scanned = instructions_error;
  for (const auto& [function, mnemonic] : candidate.instructions) {
    if (!instructions_error.empty()) break;  // one side unknown: no comparison
    if (baseline.instructions.count({function, mnemonic})) continue;
    findings.push_back({AuditRule::kInstruction, DemangleSymbol(function), function, mnemonic});
  }
  std::sort(findings.begin(), findings.end(), [](const AuditFinding& a, const AuditFinding& b) {
    return std::tie(a.rule, a.symbol, a.detail) < std::tie(b.rule, b.symbol, b.detail);
  });
  findings.erase(std::unique(findings.begin(), findings.end()), findings.end());
  return findings;
}

bool IsLinkedElf(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[EI_NIDENT + 2] = {};
  if (!in.read(reinterpret_cast<char*>(header), sizeof(header))) return false;
  if (std::memcmp(header, ELFMAG, SELFMAG) != 0 || header[EI_CLASS] != ELFCLASS64) return false;
  uint16_t type = static_cast<uint16_t>(header[EI_NIDENT] | (header[EI_NIDENT + 1] << 8));
  return type == ET_EXEC || type == ET_DYN;
}

std::vector<std::string> LinkedBinariesUnder(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    std::string name = path.filename().string();
    // CMake's compiler probes and rlvr's own state are not the repository's programs.
    if (it->is_directory(ec) && (name == "CMakeFiles" || name == ".rlvr" || name == ".git")) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    if (IsLinkedElf(path)) found.push_back(path.lexically_relative(dir).generic_string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

bool IsSlimLtoObject(const fs::path& object_file) {
  ElfObject object = ReadElfObject(object_file);
  bool lto_sections = false, code = false;
  for (const auto& section : object.sections) {
    if (StartsWith(section.name, ".gnu.lto_") || StartsWith(section.name, ".llvm.lto") ||
        section.name == ".llvmbc")
      lto_sections = true;
    if (IsSectionOrSub(section.name, ".text") && section.size > 0) code = true;
  }
  for (const auto& symbol : object.symbols)
    if (symbol.name == "__gnu_lto_slim") return true;
  return lto_sections && !code;
}

std::vector<std::string> NeededLibraries(const fs::path& binary) {
  return ReadElfObject(binary, /*linked=*/true).needed;
}

std::set<std::string> DefinedGlobalSymbols(const fs::path& binary) {
  std::set<std::string> names;
  for (const auto& symbol : ReadElfObject(binary, /*linked=*/true).symbols) {
    if (symbol.name.empty() || symbol.section == SHN_UNDEF || symbol.bind == STB_LOCAL) continue;
    if (symbol.type == STT_SECTION || symbol.type == STT_FILE) continue;
    names.insert(ComparableName(symbol.name));
  }
  return names;
}

}  // namespace rlvr
