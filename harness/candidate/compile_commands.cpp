#include "harness/candidate/compile_commands.h"

#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace rlvr {

namespace fs = std::filesystem;

nlohmann::json ReadCompileCommands(const fs::path& build_dir) {
  fs::path path = build_dir / "compile_commands.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path.string()));
  try {
    nlohmann::json commands = nlohmann::json::parse(in);
    if (!commands.is_array()) throw std::runtime_error("not an array");
    return commands;
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", path.string(), e.what()));
  }
}

std::vector<std::string> CommandWords(const nlohmann::json& entry) {
  std::vector<std::string> words;
  if (entry.contains("arguments") && entry["arguments"].is_array()) {
    for (const auto& word : entry["arguments"])
      if (word.is_string()) words.push_back(word.get<std::string>());
    return words;
  }
  std::string command = entry.value("command", "");
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < command.size()) {
        word += command[++i];
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < command.size()) {
      word += command[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

fs::path CommandOutput(const nlohmann::json& entry) {
  std::string output = entry.value("output", "");
  if (output.empty()) {
    std::vector<std::string> words = CommandWords(entry);
    for (size_t i = 0; i < words.size(); ++i) {
      if (words[i] == "-o" && i + 1 < words.size())
        output = words[i + 1];
      else if (words[i].size() > 2 && words[i].rfind("-o", 0) == 0)
        output = words[i].substr(2);
    }
  }
  if (output.empty()) return {};
  fs::path path = output;
  return path.is_absolute() ? path : fs::path(entry.value("directory", "")) / path;
}

std::optional<nlohmann::json> CompileCommandFor(const fs::path& build_dir, const fs::path& source) {
  nlohmann::json commands;
  try {
    commands = ReadCompileCommands(build_dir);
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
  std::error_code ec;
  for (const auto& entry : commands) {
    if (!entry.is_object() || !entry.contains("file") || !entry["file"].is_string()) continue;
    fs::path file = entry["file"].get<std::string>();
    if (file.is_relative()) file = fs::path(entry.value("directory", "")) / file;
    if (fs::equivalent(file, source, ec)) return entry;
  }
  return std::nullopt;
}

fs::path FindObjectFile(const fs::path& build_dir, const fs::path& source) {
  std::optional<nlohmann::json> entry = CompileCommandFor(build_dir, source);
  return entry ? CommandOutput(*entry) : fs::path();
}

}  // namespace rlvr
