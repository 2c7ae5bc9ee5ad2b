// compile_commands.json, as CMake and Bear write it: the compile command of a source file, its
// words and the object it writes. The build gate's audits find the edited files' objects through
// it; the portable gate preprocesses an edited file with its command.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rlvr {

// Reads `build_dir`/compile_commands.json. Throws std::runtime_error when missing or malformed.
nlohmann::json ReadCompileCommands(const std::filesystem::path& build_dir);

// A compile command's words: "arguments" as given, or "command" split on blanks with simple
// quoting.
std::vector<std::string> CommandWords(const nlohmann::json& entry);

// The object a compile command writes: "output", else the word after -o (or -oFILE), made
// absolute with the entry's "directory"; empty when it names none.
std::filesystem::path CommandOutput(const nlohmann::json& entry);

// The first entry of `build_dir`'s compile_commands.json compiling `source` (absolute); nullopt
// when there is none or the file is missing or malformed.
std::optional<nlohmann::json> CompileCommandFor(const std::filesystem::path& build_dir,
                                                const std::filesystem::path& source);

// The object file compiled from `source` (absolute) in `build_dir`; empty when not found.
std::filesystem::path FindObjectFile(const std::filesystem::path& build_dir,
                                     const std::filesystem::path& source);

}  // namespace rlvr
