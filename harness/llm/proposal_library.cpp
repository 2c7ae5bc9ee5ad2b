// STAND-IN ON THE loopbench BRANCH ONLY (see proposal_library.h): dropped at the merge.
#include "harness/llm/proposal_library.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace rlvr {

namespace fs = std::filesystem;

std::vector<Proposal> LoadProposalLibrary(const fs::path& folder) {
  if (!fs::is_directory(folder))
    throw std::runtime_error("no proposal library at " + folder.string());
  std::vector<Proposal> proposals;
  for (const auto& entry : fs::directory_iterator(folder)) {
    fs::path manifest = entry.path() / "manifest.json";
    if (!fs::exists(manifest)) continue;
    std::ifstream in(manifest);
    nlohmann::json json = nlohmann::json::parse(in);
    for (const auto& p : json.at("proposals")) {
      Proposal proposal;
      proposal.target = entry.path().filename().string();
      proposal.name = p.value("name", "");
      proposal.label = p.value("label", "");
      proposal.parent = p.value("parent", "");
      proposal.about = p.value("about", "");
      std::ifstream reply(entry.path() / p.value("file", ""), std::ios::binary);
      std::ostringstream text;
      text << reply.rdbuf();
      proposal.reply = text.str();
      proposals.push_back(std::move(proposal));
    }
  }
  return proposals;
}

}  // namespace rlvr
