#include "harness/verify/elf_object.h"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

namespace rlvr {

namespace {

namespace fs = std::filesystem;

class ElfReader {
 public:
  // `linked`: an executable or shared library (ET_EXEC/ET_DYN) instead of a .o; its relocations
  // are the dynamic loader's, not read.
  ElfReader(std::string bytes, std::string path, bool linked = false)
      : bytes_(std::move(bytes)), path_(std::move(path)), linked_(linked) {}

  ElfObject Read() {
    Elf64_Ehdr header;
    Copy(0, &header);
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) Fail("not an ELF file");
    if (header.e_ident[EI_CLASS] != ELFCLASS64) Fail("not a 64-bit ELF object");
    if (header.e_ident[EI_DATA] != ELFDATA2LSB || std::endian::native != std::endian::little)
      Fail("not a little-endian ELF object");
    if (!linked_ && header.e_type != ET_REL) Fail("not a relocatable object (.o)");
    if (linked_ && header.e_type != ET_EXEC && header.e_type != ET_DYN)
      Fail("not a linked executable or shared library");
    if (header.e_shentsize != sizeof(Elf64_Shdr)) Fail("unexpected section header size");
    ElfObject object;
    object.machine = header.e_machine;

    // Section count and the section-name table's index may live in section 0 (> 0xff00 sections).
    uint64_t count = header.e_shnum;
    uint32_t names_index = header.e_shstrndx;
    if (header.e_shoff == 0) Fail("no section headers");
    Elf64_Shdr first;
    Copy(header.e_shoff, &first);
    if (count == 0) count = first.sh_size;
    if (names_index == SHN_XINDEX) names_index = first.sh_link;
    if (count > bytes_.size() / sizeof(Elf64_Shdr)) Fail("section count past the end of the file");

    std::vector<Elf64_Shdr> headers(count);
    for (uint64_t i = 0; i < count; ++i) Copy(header.e_shoff + i * sizeof(Elf64_Shdr), &headers[i]);
    if (names_index >= count) Fail("bad section name table index");
    const Elf64_Shdr& names = headers[names_index];
    for (const auto& h : headers) {
      ElfSection section;
      section.name = String(names, h.sh_name);
      section.type = h.sh_type;
      section.flags = h.sh_flags;
      section.offset = h.sh_offset;
      section.size = h.sh_size;
      section.link = h.sh_link;
      section.info = h.sh_info;
      section.entsize = h.sh_entsize;
      if (section.type != SHT_NOBITS) CheckRange(section.offset, section.size, "section");
      object.sections.push_back(std::move(section));
    }
    ReadSymbols(headers, SHT_SYMTAB, &object);
    if (linked_ && object.symbols.empty()) {
      ReadSymbols(headers, SHT_DYNSYM, &object);  // stripped: the dynamic symbols are left
      object.dynamic_symbols_only = true;
    }
    if (!linked_) ReadRelocations(headers, &object);
    if (linked_) ReadNeeded(headers, &object);
    return object;
  }

 private:
  [[noreturn]] void Fail(const std::string& why) const {
    throw std::runtime_error(fmt::format("{}: {}", path_, why));
  }

  void CheckRange(uint64_t offset, uint64_t size, const char* what) const {
    if (offset > bytes_.size() || size > bytes_.size() - offset)
      Fail(fmt::format("{} extends past the end of the file", what));
  }

  template <typename T>
  void Copy(uint64_t offset, T* out) const {
    CheckRange(offset, sizeof(T), "structure");
    std::memcpy(out, bytes_.data() + offset, sizeof(T));
  }

  std::string String(const Elf64_Shdr& table, uint64_t at) const {
    if (table.sh_type != SHT_STRTAB) Fail("string table of the wrong type");
    CheckRange(table.sh_offset, table.sh_size, "string table");
    if (at >= table.sh_size) Fail("string offset past its table");
    std::string_view rest(bytes_.data() + table.sh_offset + at, table.sh_size - at);
    size_t end = rest.find('\0');
    if (end == std::string_view::npos) Fail("unterminated string");
    return std::string(rest.substr(0, end));
  }

  void ReadSymbols(const std::vector<Elf64_Shdr>& headers, uint32_t table_type,
                   ElfObject* object) const {
    size_t symtab = headers.size();
    for (size_t i = 0; i < headers.size(); ++i) {
      if (headers[i].sh_type != table_type) continue;
      if (symtab != headers.size()) Fail("more than one symbol table");
      symtab = i;
    }
    if (symtab == headers.size()) return;  // an object with no symbols at all
    const Elf64_Shdr& table = headers[symtab];
    if (table.sh_entsize != sizeof(Elf64_Sym)) Fail("unexpected symbol entry size");
    if (table.sh_link >= headers.size()) Fail("bad symbol string table index");
    const Elf64_Shdr& strings = headers[table.sh_link];
    // Extended section indices, for objects with more than ~65000 sections.
    const Elf64_Shdr* extended = nullptr;
    for (const auto& h : headers) {
      if (h.sh_type == SHT_SYMTAB_SHNDX && h.sh_link == symtab) extended = &h;
    }
    uint64_t count = table.sh_size / sizeof(Elf64_Sym);
    for (uint64_t i = 0; i < count; ++i) {
      Elf64_Sym raw;
      Copy(table.sh_offset + i * sizeof(Elf64_Sym), &raw);
      ElfSymbol symbol;
      symbol.name = String(strings, raw.st_name);
      symbol.bind = ELF64_ST_BIND(raw.st_info);
      symbol.type = ELF64_ST_TYPE(raw.st_info);
      symbol.section = raw.st_shndx;
      if (raw.st_shndx == SHN_XINDEX) {
        if (!extended) Fail("extended section index without SHT_SYMTAB_SHNDX");
        uint32_t index;
        CheckRange(extended->sh_offset, extended->sh_size, "extended index table");
        if ((i + 1) * sizeof(uint32_t) > extended->sh_size) Fail("extended index past its table");
        Copy(extended->sh_offset + i * sizeof(uint32_t), &index);
        symbol.section = index;
      }
      symbol.value = raw.st_value;
      symbol.size = raw.st_size;
      object->symbols.push_back(std::move(symbol));
    }
  }

  void ReadNeeded(const std::vector<Elf64_Shdr>& headers, ElfObject* object) const {
    for (const auto& h : headers) {
      if (h.sh_type != SHT_DYNAMIC) continue;
      if (h.sh_link >= headers.size()) Fail("bad dynamic string table index");
      CheckRange(h.sh_offset, h.sh_size, "dynamic section");
      for (uint64_t at = 0; at + sizeof(Elf64_Dyn) <= h.sh_size; at += sizeof(Elf64_Dyn)) {
        Elf64_Dyn entry;
        Copy(h.sh_offset + at, &entry);
        if (entry.d_tag == DT_NULL) break;
        if (entry.d_tag == DT_NEEDED)
          object->needed.push_back(String(headers[h.sh_link], entry.d_un.d_val));
      }
    }
  }

  void ReadRelocations(const std::vector<Elf64_Shdr>& headers, ElfObject* object) const {
    for (const auto& h : headers) {
      if (h.sh_type != SHT_RELA && h.sh_type != SHT_REL) continue;
      bool rela = h.sh_type == SHT_RELA;
      size_t entry = rela ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel);
      if (h.sh_entsize != entry) Fail("unexpected relocation entry size");
      uint64_t count = h.sh_size / entry;
      for (uint64_t i = 0; i < count; ++i) {
        ElfRelocation relocation;
        relocation.section = h.sh_info;
        uint64_t info;
        if (rela) {
          Elf64_Rela raw;
          Copy(h.sh_offset + i * entry, &raw);
          info = raw.r_info;
          relocation.addend = raw.r_addend;
        } else {
          Elf64_Rel raw;
          Copy(h.sh_offset + i * entry, &raw);
          info = raw.r_info;
        }
        relocation.symbol = ELF64_R_SYM(info);
        relocation.type = ELF64_R_TYPE(info);
        if (relocation.symbol >= object->symbols.size() && relocation.symbol != 0)
          Fail("relocation names a symbol past the symbol table");
        object->relocations.push_back(relocation);
      }
    }
  }

  std::string bytes_;
  std::string path_;
  bool linked_ = false;
};

}  // namespace

ElfObject ReadElfObject(const fs::path& path, bool linked) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open object file", path.string()));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return ElfReader(bytes.str(), path.string(), linked).Read();
}

}  // namespace rlvr
