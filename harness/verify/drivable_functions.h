// What the default oracle (verify/default_oracle.h) could drive in HEAD's version of a target's
// editable files, for `rlvr check`: each external function of their translation units whose
// signature it can call (verify/driven_signature.h), and each it cannot, with the reason. Nothing
// is compiled or run beyond the build's own preprocessor.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rlvr {

struct DrivableFunctions {
  std::vector<std::string> driven;      // function names
  std::vector<std::string> not_driven;  // "XXH64_update: parameter ... is a struct pointer"
  std::vector<std::string> notes;       // files or units it could not look into, and why
};

// `files` (repository paths) of `tree`, whose compile database is `compile_db_dir`
// (compile_commands.json naming `tree`'s paths). Throws std::runtime_error when the database
// cannot be read.
DrivableFunctions ListDrivableFunctions(const std::filesystem::path& compile_db_dir,
                                        const std::filesystem::path& tree,
                                        const std::vector<std::string>& files, double timeout);

// One line for a report: "drives adler32_c, adler32_fold_copy_c; not: x (why); notes".
std::string DescribeDrivable(const DrivableFunctions& functions);

}  // namespace rlvr
