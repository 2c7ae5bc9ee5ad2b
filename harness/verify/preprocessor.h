// Running the build's own preprocessor on a file a candidate edited, as the compiler will see it:
// the compile command of compile_commands.json with a probe copy of the file in its place and -E.
// The portable gate asks it which builds keep an edited line (verify/isa_levels.h), the build gate
// what an edited file says once its macros are expanded (verify/expanded_source_check.h), and
// `rlvr check --mutants` which lines the build never compiles.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace rlvr {

// A compile command to preprocess a file with: its own entry of a build dir's
// compile_commands.json, or for a header the first translation unit's (its include directories
// and flags).
struct ProbeCommand {
  std::vector<std::string> words;
  std::filesystem::path source;  // the file the command compiles (absolute)
  std::filesystem::path directory;
};

// The command for `file` (absolute) in `build_dir`; nullopt when the build dir has no compile
// database.
std::optional<ProbeCommand> ProbeCommandFor(const std::filesystem::path& build_dir,
                                            const std::filesystem::path& file);

// The preprocessor's output (-E, with line markers) for `probe_text` put in place of
// `command.source`: written beside `file` under a unique name with the source's extension (so
// quoted includes resolve as for `file`), removed afterwards. Throws std::runtime_error, naming
// `file`, when the preprocessor fails.
std::string RunPreprocessor(const std::string& probe_text, const std::filesystem::path& file,
                            const ProbeCommand& command);

// The output lines of RunPreprocessor that come from the probe itself, not from the headers it
// includes, joined with '\n': the file's own code with every macro expanded.
std::string OwnExpandedLines(const std::string& preprocessed);

}  // namespace rlvr
