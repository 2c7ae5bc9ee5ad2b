// STAND-IN ON THE loopbench BRANCH ONLY: the proposal library is another helper's part (issue 22);
// this minimal version exists so loop bench compiles and its tests run before the merge. The
// integrator keeps the real harness/llm/proposal_library.{h,cpp} and drops this one.
// A library of labelled model replies per target, served by the simulated model (llm/simulated.h).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace rlvr {

struct Proposal {
  std::string target, name;
  std::string label;  // faster | neutral | slower | wrong | cheat | malformed
  std::string parent, about, reply;
};

// <folder>/<target>/manifest.json: {"proposals": [{"name", "label", "parent", "about", "file"}]},
// each reply read from <folder>/<target>/<file>. Throws std::runtime_error when unreadable.
std::vector<Proposal> LoadProposalLibrary(const std::filesystem::path& folder);

}  // namespace rlvr
