// The default differential oracle of the `tests` gate, for targets without a configured one
// (rlvr.json "oracle"): the C functions a candidate changed are compiled from HEAD's tree and from
// the candidate's with their translation unit's own compile command, linked side by side into one
// driver (verify/oracle_driver.h) and called on the same inputs, far beyond the sizes tests use
// (to 32 MiB, log-spaced, unaligned starts). A bug past some size that the tests miss (adler32
// without its modulo) fails the gate; a function it cannot drive is named with the reason.
//
// Which functions: in each translation unit of an edited file (a header: the compile database's
// sources that #include it), the external functions whose preprocessed definition changed, and the
// external functions that reach a changed static function or variable (a static helper is tested
// through its public caller). Comparing preprocessed definitions catches edits through macros and
// headers alike.
//
// Why one driver with renamed symbols rather than two programs: floats are compared element by
// element within a tolerance, and every output buffer in full, in memory — two programs would have
// to print gigabytes or hashes that no tolerance applies to. The candidate's object gets every
// global symbol it defines renamed (objcopy --redefine-sym, which renames definitions and the
// object's own references alike, unlike --prefix-symbols which also renames what it needs from
// elsewhere); what the TU needs from the rest of the library (CPU dispatch, tables) comes from
// HEAD's build objects, added transitively. A link that fails is reported, not held against the
// candidate.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace rlvr {

struct DefaultOracleInputs {
  std::filesystem::path head_tree;
  std::filesystem::path candidate_tree;
  // The compile database: `compile_db_dir`/compile_commands.json, whose paths name
  // `compile_db_tree` (HEAD's tree, or the scratch tree a command build was recorded in); the
  // candidate's commands are the same with `compile_db_tree` replaced by `candidate_tree`.
  std::filesystem::path compile_db_dir;
  std::filesystem::path compile_db_tree;
  // Where HEAD's built objects are (searched recursively for *.o) for what the TU needs.
  std::vector<std::filesystem::path> object_roots;
  std::vector<std::string> edited_files;  // repository paths
  std::filesystem::path work_dir;         // scratch: emptied first
  uint64_t seed = 1;
  double tolerance = 1e-5;  // relative, for float results and outputs
  // A driver stops growing lengths past its time: `seconds_per_function`, less when many
  // functions share `total_seconds` (never under one second each).
  double seconds_per_function = 6;
  double total_seconds = 30;
  uint64_t byte_cap = (uint64_t{32} << 20) + 64;
  double timeout_seconds = 120;  // per driver run, under the candidate limits
  int max_functions = 12;
};

struct DefaultOracleRun {
  bool ok = true;       // false: a difference (or a crash) of the candidate's
  int driven = 0;       // functions compared
  std::string message;  // one line: what was compared and what not (why), or the difference
  std::string detail;
};

DefaultOracleRun RunDefaultOracle(const DefaultOracleInputs& inputs);

}  // namespace rlvr
