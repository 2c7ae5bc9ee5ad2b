#include "harness/candidate/compile_recorder.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "harness/base/file_text.h"
#include "harness/candidate/build.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

bool IsSourceFile(const std::string& word) {
  for (const char* ext : {".c", ".cc", ".cpp", ".cxx", ".c++", ".C"})
    if (word.size() > std::string_view(ext).size() && word.ends_with(ext)) return true;
  return false;
}

std::string ShellQuote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The words of the compiler the build would have run: the environment's `variable` (CC, CXX),
// split on blanks as make splits it, else `fallback`.
std::vector<std::string> RealCompiler(const char* variable, const char* fallback) {
  std::vector<std::string> words;
  const char* value = std::getenv(variable);
  std::istringstream in(value != nullptr ? value : "");
  for (std::string word; in >> word;) words.push_back(word);
  if (words.empty()) words.push_back(fallback);
  return words;
}

// A wrapper that writes one record per call into `log_dir` (its directory, then the real
// compiler's words and the call's arguments, each ending in a NUL byte: no quoting to get wrong)
// and then runs the real compiler. One file per call, because make -j runs several at once.
void WriteWrapper(const fs::path& path, const fs::path& log_dir,
                  const std::vector<std::string>& compiler) {
  std::string words;
  for (const auto& word : compiler) words += " " + ShellQuote(word);
  std::ofstream(path, std::ios::trunc)
      << "#!/bin/sh\n"
      << "# rlvr check --mutants: notes this compile for trivial compiler equivalence, then runs "
         "it\n"
      << "record=$(mktemp " << ShellQuote((log_dir / "call-XXXXXXXX").string()) << ") && "
      << "printf '%s\\0' \"$PWD\"" << words << " \"$@\" > \"$record\"\n"
      << "exec" << words << " \"$@\"\n";
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace);
}

// The entries of one recorded call: one per C/C++ source it names.
void AddEntries(const std::vector<std::string>& record, nlohmann::json* entries) {
  if (record.size() < 2) return;
  const fs::path directory = record[0];
  std::vector<std::string> words(record.begin() + 1, record.end());
  std::vector<size_t> sources;
  for (size_t i = 1; i < words.size(); ++i) {
    if (words[i - 1] == "-o" || words[i][0] == '-' || !IsSourceFile(words[i])) continue;
    std::error_code ec;
    fs::path as_path = fs::path(words[i]).is_relative() ? directory / words[i] : fs::path(words[i]);
    if (fs::is_regular_file(as_path, ec)) sources.push_back(i);
  }
  for (size_t source : sources) {
    std::vector<std::string> arguments;
    for (size_t i = 0; i < words.size(); ++i) {
      if (i == source || std::find(sources.begin(), sources.end(), i) == sources.end())
        arguments.push_back(words[i]);
    }
    fs::path file = words[source];
    if (file.is_relative()) file = directory / file;
    entries->push_back({{"directory", directory.string()},
                        {"arguments", arguments},
                        {"file", file.lexically_normal().string()}});
  }
}

}  // namespace

RecordedCompiles RecordCompileCommands(const BuildConfig& build, const fs::path& tree,
                                       const fs::path& build_dir, int jobs,
                                       double timeout_seconds) {
  RecordedCompiles recorded;
  std::error_code ec;
  fs::remove_all(build_dir, ec);  // make must compile everything again, through the wrappers
  const fs::path tools = build_dir.parent_path() / (build_dir.filename().string() + "-recorder");
  const fs::path log_dir = tools / "calls";
  fs::remove_all(tools, ec);
  fs::create_directories(log_dir);
  WriteWrapper(tools / "cc", log_dir, RealCompiler("CC", "cc"));
  WriteWrapper(tools / "c++", log_dir, RealCompiler("CXX", "c++"));
  BuildRequest request = ProjectBuild(build, tree, build_dir, {}, {}, jobs, timeout_seconds);
  request.env["CC"] = (tools / "cc").string();
  request.env["CXX"] = (tools / "c++").string();
  BuildOutcome outcome = RunBuildCommand(request, build.command, build.artifacts);
  if (!outcome.ok) {
    recorded.message = "the build command failed with the recording compilers: " + outcome.message;
    return recorded;
  }
  nlohmann::json entries = nlohmann::json::array();
  std::set<std::string> calls;
  for (const auto& entry : fs::directory_iterator(log_dir)) calls.insert(entry.path().string());
  for (const auto& call : calls) {  // sorted: the same database for the same build
    std::vector<std::string> record;
    std::string text = ReadFileText(call);
    for (size_t begin = 0; begin < text.size();) {
      size_t end = text.find('\0', begin);
      if (end == std::string::npos) end = text.size();
      record.push_back(text.substr(begin, end - begin));
      begin = end + 1;
    }
    AddEntries(record, &entries);
  }
  recorded.translation_units = static_cast<int>(entries.size());
  if (entries.empty()) {
    recorded.message = fmt::format(
        "the build command ran {} compiler call(s) through CC and CXX but compiled no C/C++ "
        "source through them (a Makefile that sets CC itself, or a build with its own compiler "
        "path, is not seen)",
        calls.size());
    return recorded;
  }
  std::ofstream(build_dir / "compile_commands.json", std::ios::trunc) << entries.dump(1);
  recorded.ok = true;
  recorded.message = fmt::format("{} compile(s) recorded from the build command", entries.size());
  return recorded;
}

}  // namespace rlvr
