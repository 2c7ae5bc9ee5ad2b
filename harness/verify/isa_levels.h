// The instruction-set levels the portable gate builds and tests at, and which of them compile a
// given line. The native build (the other gates') compiles one branch of every instruction-set
// #if; an edit in another branch (AVX2 without AVX-512 on an AVX-512 machine) passes every other
// gate untested. So each edited line of ISA-conditional code is located by the preprocessor itself
// under each level's compile command, and every level that alone compiles some edited line is
// built and tested — or, when this machine cannot run it, the line is refused as untestable.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/base/config.h"
#include "harness/verify/preprocessor.h"

namespace rlvr {

struct IsaLevel {
  std::string name;                         // "x86-64-v3", or "portable" (portable_args as given)
  std::vector<std::string> configure_args;  // added to build.configure_args for its build
  std::string march;                        // its -march= value when known ("x86-64-v3")
  bool runnable = true;                     // this machine can run code built for it
};

// The levels of rlvr.json's build section besides the native build: build.portable_args as given,
// and, when they set -march=x86-64-vN in some word, the same arguments for each higher x86-64 level
// up to v4 (the word rewritten). Empty without portable_args.
std::vector<IsaLevel> IsaLevelsOf(const BuildConfig& build);

// The levels of a command build with build.isa_command: x86-64-v2, -v3 and -v4, each built by the
// command with {march} replaced (their configure_args empty). Empty without isa_command.
std::vector<IsaLevel> CommandIsaLevelsOf(const BuildConfig& build);

// Whether this machine runs code compiled with -march=`march`: the x86-64-v2/v3/v4 levels by the
// CPU's features; any other value is assumed runnable (its tests then show it).
bool MachineRuns(const std::string& march);

// Which of `lines` (1-based lines of `text`, the content of `file`, absolute) survive the
// preprocessor run with `compile_words` — a compile command of compile_commands.json compiling
// `command_source` in `directory`; for a header, a command of some translation unit — with a probe
// for `command_source`: a copy of `text` beside `file`, with a marker token before each line, whose
// markers in the output are read. Lines without code (blank, comments) are never in the result.
// Throws std::runtime_error, naming the file, when the preprocessor fails.
std::set<int> LinesKeptByPreprocessor(const std::string& text, const std::filesystem::path& file,
                                      const std::vector<int>& lines,
                                      const std::vector<std::string>& compile_words,
                                      const std::filesystem::path& command_source,
                                      const std::filesystem::path& directory);

// Whether a line of C/C++ `text` (1-based) holds code outside comments.
std::vector<bool> LinesWithCode(const std::string& text);

}  // namespace rlvr
