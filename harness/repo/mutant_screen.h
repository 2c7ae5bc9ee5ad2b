// What a mutant of `rlvr check --mutants` is before any test runs it, from the build's own
// compiler: code this build never compiles (the line is absent from the preprocessed translation
// units, e.g. inside an #ifdef of an option that is off), code compiled to the same object code as
// HEAD's in every translation unit that includes it (trivial compiler equivalence: no test could
// tell it apart), or code that changes what is built and so must be judged by the tests. Neither
// of the first two is a survivor, and neither is worth a build and test run.
//
// The screen works in a scratch worktree of HEAD (.rlvr/worktrees/mutants) with a compile database
// of it: the baseline build's compile_commands.json with its tree's paths moved to the scratch
// tree, or, for a command build, one recorded from the build command
// (candidate/compile_recorder.h). A file is compiled where it lies, at one path for HEAD's text and
// every mutant, so __FILE__, symbol names and line numbers agree and only the code can differ.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "harness/base/config.h"
#include "harness/repo/mutants.h"

namespace rlvr {

enum class ScreenOutcome {
  kNotCompiled,  // no translation unit of this build keeps the mutated line
  kEquivalent,   // every translation unit keeping it compiles to HEAD's object code
  kDifferent,    // some object code changes (or the mutant does not compile): judge it
  kUnscreened,   // the screen could not tell (`reason` says why): judge it
};

struct ScreenResult {
  ScreenOutcome outcome = ScreenOutcome::kUnscreened;
  std::string reason;  // for kUnscreened: why; otherwise what was compared, for messages
};

// Trivial compiler equivalence: objects `a` and `b` are the same once debug information and the
// compiler's version note are dropped (symbols, relocations and code all compared: the debug
// sections hold paths and columns that differ without the code differing). False when either is
// missing or objcopy fails.
bool SameObjectCode(const std::filesystem::path& a, const std::filesystem::path& b);

class MutantScreen {
 public:
  // Prepares the scratch tree and its compile database. Preconditions: HEAD's baseline build
  // exists (`rlvr check` built it) and the caller holds the repository lock. Never throws for a
  // build it cannot use: then every mutant is kUnscreened and `Unavailable()` says why.
  MutantScreen(const Project& project, int jobs, double build_timeout_seconds);
  ~MutantScreen();
  MutantScreen(const MutantScreen&) = delete;
  MutantScreen& operator=(const MutantScreen&) = delete;

  // Why no mutant can be screened (no compile database, a recording that found nothing); empty
  // when the screen works. Said once in the report, never skipped silently.
  const std::string& Unavailable() const;
  // Where the compile database came from ("the baseline build's compile_commands.json").
  const std::string& DatabaseSource() const;

  // The lines (1-based index - 1) of `path` (repository-relative, HEAD's `text`) that no
  // translation unit of this build keeps, among the lines holding code; empty when that cannot be
  // told (no database, or no translation unit includes the file), never a guess.
  std::vector<bool> NeverCompiledLines(const std::string& path, const std::string& text);

  // Screens one mutant of HEAD's text. A line in `isa_lines` (instruction-set-conditional code
  // the portable gate builds at other levels) is never called not compiled: some level may.
  ScreenResult Screen(const Mutant& mutant, const std::vector<bool>& isa_lines);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rlvr
