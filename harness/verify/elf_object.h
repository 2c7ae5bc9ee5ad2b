// An ELF object or linked program as the object audit reads it: sections, symbols and
// relocations. Every offset and size comes from a file a candidate's code went into, so each is
// checked against the file's size before use; structures are copied out with memcpy (no alignment
// assumptions).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace rlvr {

struct ElfSection {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t link = 0;
  uint32_t info = 0;
  uint64_t entsize = 0;
};

struct ElfSymbol {
  std::string name;
  unsigned char bind = 0;
  unsigned char type = 0;
  uint32_t section = 0;  // resolved through SHT_SYMTAB_SHNDX when st_shndx is SHN_XINDEX
  uint64_t value = 0;
  uint64_t size = 0;
};

struct ElfRelocation {
  uint32_t section = 0;  // the section the relocation patches
  uint32_t symbol = 0;   // index into symbols
  uint32_t type = 0;
  int64_t addend = 0;
};

struct ElfObject {
  uint16_t machine = 0;
  // A linked binary (executable or shared library) without .symtab: only its dynamic symbols.
  bool dynamic_symbols_only = false;
  std::vector<std::string> needed;  // a linked binary's DT_NEEDED shared libraries
  std::vector<ElfSection> sections;
  std::vector<ElfSymbol> symbols;  // index 0 is the null symbol
  std::vector<ElfRelocation> relocations;
};

// Reads `path` (a relocatable object, or with `linked` a linked program or library). Throws
// std::runtime_error on an unreadable or malformed file.
ElfObject ReadElfObject(const std::filesystem::path& path, bool linked = false);

}  // namespace rlvr
