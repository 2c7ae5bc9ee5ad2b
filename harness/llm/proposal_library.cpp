#include "harness/llm/proposal_library.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void Fail(const fs::path& file, const std::string& problem) {
  throw std::runtime_error("proposal library: " + file.string() + ": " + problem);
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(path, "cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string StringField(const json& entry, const char* key, const fs::path& manifest,
                        size_t index) {
  if (!entry.contains(key) || !entry[key].is_string() || entry[key].get<std::string>().empty()) {
    Fail(manifest, "proposal " + std::to_string(index + 1) + " has no \"" + key + "\" string");
  }
  return entry[key].get<std::string>();
}

// The proposals of one target, checked on their own (names, classes, files, parents).
std::vector<Proposal> LoadTarget(const fs::path& dir, const std::string& target) {
  const fs::path manifest = dir / "manifest.json";
  if (!fs::is_regular_file(manifest)) Fail(manifest, "missing");
  json doc = json::parse(ReadAll(manifest), nullptr, false);
  if (doc.is_discarded()) Fail(manifest, "not valid JSON");
  if (!doc.is_object() || !doc.contains("proposals") || !doc["proposals"].is_array()) {
    Fail(manifest, "needs an object with a \"proposals\" array");
  }
  const std::vector<std::string>& classes = ProposalClasses();
  std::vector<Proposal> out;
  std::set<std::string> names;
  for (size_t i = 0; i < doc["proposals"].size(); ++i) {
    const json& entry = doc["proposals"][i];
    if (!entry.is_object()) Fail(manifest, "proposal " + std::to_string(i + 1) + " not an object");
    Proposal p;
    p.target = target;
    p.name = StringField(entry, "name", manifest, i);
    p.label = StringField(entry, "class", manifest, i);
    std::string file = StringField(entry, "file", manifest, i);
    p.parent = entry.contains("parent") ? StringField(entry, "parent", manifest, i) : "base";
    p.about = entry.value("about", "");
    if (std::find(classes.begin(), classes.end(), p.label) == classes.end()) {
      Fail(manifest, "proposal '" + p.name + "' has unknown class '" + p.label + "'");
    }
    if (!names.insert(p.name).second) Fail(manifest, "duplicate proposal name '" + p.name + "'");
    if (p.name == "base") Fail(manifest, "a proposal may not be named 'base'");
    // Reply files sit next to the manifest: no path leads out of the target's folder.
    if (file.find('/') != std::string::npos || file.find('\\') != std::string::npos ||
        file == "." || file == "..") {
      Fail(manifest, "proposal '" + p.name + "': file '" + file + "' must be a plain file name");
    }
    if (!fs::is_regular_file(dir / file)) {
      Fail(manifest, "proposal '" + p.name + "': file '" + file + "' is missing");
    }
    p.reply = ReadAll(dir / file);
    if (p.reply.empty()) Fail(dir / file, "empty reply");
    out.push_back(std::move(p));
  }
  std::map<std::string, std::string> parent_of;
  for (const Proposal& p : out) parent_of[p.name] = p.parent;
  for (const Proposal& p : out) {
    if (p.parent != "base" && !names.count(p.parent)) {
      Fail(manifest, "proposal '" + p.name + "' has unknown parent '" + p.parent + "'");
    }
    // Every chain must reach base: a loop would make the proposal apply to nothing.
    std::string at = p.parent;
    for (size_t steps = 0; at != "base"; ++steps) {
      if (steps > out.size()) Fail(manifest, "proposal '" + p.name + "': its parents loop");
      at = parent_of[at];
    }
  }
  return out;
}

}  // namespace

const std::vector<std::string>& ProposalClasses() {
  static const std::vector<std::string> classes = {"faster", "neutral", "slower",
                                                   "wrong",  "cheat",   "malformed"};
  return classes;
}

std::vector<Proposal> LoadProposalLibrary(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) Fail(folder, "not a folder");
  std::vector<fs::path> targets;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_directory() && entry.path().filename().string()[0] != '.') {
      targets.push_back(entry.path());
    }
  }
  std::sort(targets.begin(), targets.end());
  std::vector<Proposal> library;
  for (const fs::path& dir : targets) {
    std::vector<Proposal> some = LoadTarget(dir, dir.filename().string());
    library.insert(library.end(), some.begin(), some.end());
  }
  return library;
}

}  // namespace rlvr
