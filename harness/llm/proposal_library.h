// Proposal libraries: labelled model replies for simulated runs (the loop bench). A library is a
// folder with one subfolder per target, each holding manifest.json and one reply file per
// proposal (format: tests/fixtures/proposals/README.md). Each proposal carries the class a
// judge should find (faster, neutral, slower, wrong, cheat, malformed) and the proposal after
// whose promotion it applies ("base": the target's files as the library was written for), so a
// simulated model can serve edits that stack.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rlvr {

struct Proposal {
  std::string target;
  std::string name;    // unique within its target
  std::string label;   // the class: faster | neutral | slower | wrong | cheat | malformed
  std::string parent;  // "base" or the name of another proposal of the same target
  std::string about;   // one line: what it does, and what it measured when it was checked
  std::string reply;   // the model reply, exactly as a model would send it
};

// The classes a proposal may carry, in the order above.
const std::vector<std::string>& ProposalClasses();

// Reads <folder>/<target>/manifest.json for every subfolder of `folder` (subfolders in name
// order, proposals in manifest order). Throws std::runtime_error naming the file and the problem
// for a missing folder, a bad manifest, an unknown class, a missing or empty reply file, a
// duplicate name or an unknown parent (or a parent chain that loops).
std::vector<Proposal> LoadProposalLibrary(const std::filesystem::path& folder);

}  // namespace rlvr
