// The translation units of a candidate's edited files and their compile commands, for the default
// oracle (verify/default_oracle.h) and `rlvr check`'s list of what it could drive: a source file's
// own compile_commands.json entry, a header's including sources; the same command moved to another
// tree; and the command run with its output, dependency and LTO options left out.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/base/process.h"

namespace rlvr {

// One compile command of a compile database.
struct CompileEntry {
  std::vector<std::string> words;
  std::filesystem::path directory;
  std::filesystem::path source;  // absolute
};

// `text` with the directory `from` replaced by `to` wherever it is a whole path prefix: followed
// by '/', a quote, a space or the end — never "/x/head" inside "/x/head_build".
std::string ReplaceDirectory(std::string text, const std::string& from, const std::string& to);

// `entry` with `from` (a tree) replaced by `to` in its words, directory and source.
CompileEntry Rebase(const CompileEntry& entry, const std::filesystem::path& from,
                    const std::filesystem::path& to);

// The entries of `db_dir`/compile_commands.json. Throws std::runtime_error when it is missing or
// unreadable.
std::vector<CompileEntry> ReadEntries(const std::filesystem::path& db_dir);

// `entry`'s words without its output, dependency-file, -Werror and LTO options.
std::vector<std::string> BareWords(const CompileEntry& entry);

// Runs a tool (compiler, nm, objcopy) with a wall-clock limit, not the candidate limits.
ProcessResult RunTool(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                      double timeout);

// The translation units of `files` (repository paths) in the compile database of
// `compile_db_dir`, whose paths name `compile_db_tree`: a source's own entry, for a header up to
// four sources that #include it. What has none is said in `notes`. Throws std::runtime_error when
// the database cannot be read.
std::vector<CompileEntry> UnitsOfFiles(const std::filesystem::path& compile_db_dir,
                                       const std::filesystem::path& compile_db_tree,
                                       const std::vector<std::string>& files,
                                       std::vector<std::string>* notes);

}  // namespace rlvr
