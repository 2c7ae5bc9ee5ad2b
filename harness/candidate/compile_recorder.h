// The compile commands of a command build (rlvr.json build.command: a Makefile, a script), which
// writes no compile_commands.json: the build is run once more in a scratch tree with CC and CXX
// set to small wrappers that note each compiler call (directory and words) and then run the real
// compiler, as Bear does. `rlvr check --mutants` needs them to compile a mutant with the build's
// own flags (trivial compiler equivalence) and to ask the build's own preprocessor which lines it
// compiles; the default oracle of the `tests` gate (verify/default_oracle.h) compiles HEAD's and
// the candidate's versions of an edited file with them.
#pragma once

#include <filesystem>
#include <string>

#include "harness/base/config.h"

namespace rlvr {

struct RecordedCompiles {
  bool ok = false;
  std::string message;  // why nothing usable was recorded, or how many compiles were
  int translation_units = 0;
};

// Builds `tree` (a fresh checkout: nothing built in it yet, or make would compile nothing) with
// `build.command` into `build_dir`, emptied first, with CC and CXX naming recording wrappers (the
// compilers they run: the environment's CC and CXX, else cc and c++), and writes what was compiled
// as `build_dir`/compile_commands.json: one entry per source file of each compiler call (a call
// compiling and linking two sources gives two entries, each with the call's words less the other
// source). Calls without a C/C++ source (linking, --version) are left out. A Makefile that sets
// CC itself is not seen through: then nothing is recorded and `message` says so.
RecordedCompiles RecordCompileCommands(const BuildConfig& build, const std::filesystem::path& tree,
                                       const std::filesystem::path& build_dir, int jobs,
                                       double timeout_seconds);

}  // namespace rlvr
