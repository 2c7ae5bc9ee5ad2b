#include "harness/verify/drivable_functions.h"

#include <set>

#include "harness/verify/c_definitions.h"
#include "harness/verify/driven_signature.h"
#include "harness/verify/oracle_units.h"

namespace rlvr {

namespace fs = std::filesystem;

namespace {

// An inline definition from a header (glibc's `extern __inline` atoi, the compiler's intrinsics):
// no external function of the library.
bool IsInline(const CDefinition& def) {
  for (const auto& s : def.specifiers)
    if (s == "inline" || s == "__inline" || s == "__inline__") return true;
  return false;
}

}  // namespace

DrivableFunctions ListDrivableFunctions(const fs::path& compile_db_dir, const fs::path& tree,
                                        const std::vector<std::string>& files, double timeout) {
  DrivableFunctions out;
  std::set<std::string> seen;  // a header's functions appear in each source including it
  for (const CompileEntry& unit : UnitsOfFiles(compile_db_dir, tree, files, &out.notes)) {
    std::vector<std::string> argv = BareWords(unit);
    argv.push_back("-E");
    ProcessResult r = RunTool(argv, unit.directory, timeout);
    if (!r.ok()) {
      out.notes.push_back(unit.source.lexically_relative(tree).generic_string() +
                          ": the preprocessor failed: " + r.Describe());
      continue;
    }
    const CTranslationUnit parsed = ParseTranslationUnit(r.out);
    for (const auto& [name, def] : parsed.definitions) {
      if (!def.is_function || def.is_static || IsInline(def) || !seen.insert(name).second) continue;
      std::string why;
      if (DriveSignature(def, parsed, &why))
        out.driven.push_back(name);
      else
        out.not_driven.push_back(name + ": " + why);
    }
  }
  return out;
}

std::string DescribeDrivable(const DrivableFunctions& functions) {
  auto join = [](const std::vector<std::string>& items, const char* separator, size_t most) {
    std::string text;
    for (size_t i = 0; i < items.size() && i < most; ++i) text += (i ? separator : "") + items[i];
    if (items.size() > most) text += separator + std::to_string(items.size() - most) + " more";
    return text;
  };
  std::string text = functions.driven.empty()
                         ? "drives no function of the editable files"
                         : "drives " + std::to_string(functions.driven.size()) + " (" +
                               join(functions.driven, ", ", 12) + ")";
  if (!functions.not_driven.empty())
    text += "; cannot drive " + std::to_string(functions.not_driven.size()) + " (" +
            join(functions.not_driven, "; ", 6) + ")";
  if (!functions.notes.empty()) text += "; " + join(functions.notes, "; ", 4);
  return text;
}

}  // namespace rlvr
