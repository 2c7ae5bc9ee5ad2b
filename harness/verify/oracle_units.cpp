#include "harness/verify/oracle_units.h"

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/candidate/compile_commands.h"
#include "harness/candidate/sources.h"

namespace rlvr {

namespace fs = std::filesystem;

// `text` with the directory `from` replaced by `to` wherever it is a whole path prefix: followed by
// '/', a quote, a space or the end — never "/x/head" inside "/x/head_build".
std::string ReplaceDirectory(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = text.find(from); at != std::string::npos;) {
    const size_t end = at + from.size();
    const bool whole = end == text.size() || text[end] == '/' || text[end] == '"' ||
                       text[end] == '\'' || text[end] == ' ';
    if (!whole) {
      at = text.find(from, at + 1);
      continue;
    }
    text.replace(at, from.size(), to);
    at = text.find(from, at + to.size());
  }
  return text;
}

CompileEntry Rebase(const CompileEntry& entry, const fs::path& from, const fs::path& to) {
  CompileEntry out;
  auto bare = [](const fs::path& p) {
    std::string s = p.lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  };
  const std::string f = bare(from), t = bare(to);
  for (const auto& w : entry.words) out.words.push_back(ReplaceDirectory(w, f, t));
  out.directory = ReplaceDirectory(entry.directory.string(), f, t);
  out.source = ReplaceDirectory(entry.source.string(), f, t);
  return out;
}

std::vector<CompileEntry> ReadEntries(const fs::path& db_dir) {
  std::vector<CompileEntry> entries;
  nlohmann::json db = ReadCompileCommands(db_dir);
  for (const auto& e : db) {
    CompileEntry entry;
    entry.words = CommandWords(e);
    entry.directory = e.value("directory", "");
    fs::path file = e.value("file", "");
    entry.source = file.is_absolute() ? file : entry.directory / file;
    entry.source = entry.source.lexically_normal();
    if (!entry.words.empty()) entries.push_back(std::move(entry));
  }
  return entries;
}

// `entry`'s words without its output, dependency-file and LTO options.
std::vector<std::string> BareWords(const CompileEntry& entry) {
  std::vector<std::string> out;
  const auto& w = entry.words;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == "-o" || w[i] == "-MF" || w[i] == "-MT" || w[i] == "-MQ") {
      ++i;
      continue;
    }
    if (w[i] == "-c" || w[i] == "-MD" || w[i] == "-MMD" || w[i] == "-M" || w[i] == "-MM" ||
        w[i] == "-MP" || w[i].rfind("-flto", 0) == 0 || w[i].rfind("-o", 0) == 0 ||
        w[i].rfind("-MF", 0) == 0 || w[i].rfind("-Werror", 0) == 0)
      continue;
    out.push_back(w[i]);
  }
  return out;
}

ProcessResult RunTool(const std::vector<std::string>& argv, const fs::path& cwd, double timeout) {
  RunOptions options;
  options.cwd = cwd;
  options.limits.wall_seconds = timeout;
  return RunProcess(argv, options);
}

std::vector<CompileEntry> UnitsOfFiles(const fs::path& compile_db_dir,
                                       const fs::path& compile_db_tree,
                                       const std::vector<std::string>& files,
                                       std::vector<std::string>* notes) {
  const std::vector<CompileEntry> entries = ReadEntries(compile_db_dir);
  std::vector<CompileEntry> units;
  auto add_unit = [&](const CompileEntry& e) {
    for (const auto& u : units)
      if (u.source == e.source) return;
    units.push_back(e);
  };
  for (const auto& file : files) {
    const fs::path source = (compile_db_tree / file).lexically_normal();
    if (IsCompiledSource(file)) {
      bool found = false;
      for (const auto& e : entries)
        if (e.source == source) {
          add_unit(e);
          found = true;
          break;
        }
      if (!found) notes->push_back(file + ": not in the compile database");
      continue;
    }
    const std::string base = fs::path(file).filename().string();
    int includers = 0;
    for (const auto& e : entries) {
      std::string text;
      try {
        text = ReadFileText(e.source);
      } catch (...) {
        continue;
      }
      bool includes = false;
      for (size_t at = text.find(base); at != std::string::npos && !includes;
           at = text.find(base, at + 1)) {
        const size_t line = text.rfind('\n', at) + 1;
        includes = text.compare(text.find_first_not_of(" \t", line), 1, "#") == 0 &&
                   text.find("include", line) < at;
      }
      if (includes && ++includers <= 4) add_unit(e);
    }
    if (includers == 0) notes->push_back(file + ": no source of the compile database includes it");
    if (includers > 4)
      notes->push_back(
          fmt::format("{}: {} more sources include it, not driven", file, includers - 4));
  }
  return units;
}

}  // namespace rlvr
