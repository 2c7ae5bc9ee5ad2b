// A simulated model for the loop bench: serves labelled proposals of a proposal library
// (proposal_library.h) as replies, the way a model of a chosen quality would. A reply is only
// ever a proposal that applies to the editable files as the prompt shows them (so proposals
// written against an earlier proposal's edit are served once that edit was promoted), drawn by
// class weight and, like a real model, rarely repeating itself for the same files. Deterministic
// given its seed; token counts and latency are configurable so cost accounting can be exercised.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "harness/llm/client.h"
#include "harness/llm/proposal_library.h"

namespace rlvr {

struct SimulatedModelSettings {
  std::string name = "simulated";
  // label -> weight of the class; empty: every class weighs 1. A class missing from a non-empty
  // map weighs 0 (never served).
  std::map<std::string, double> class_weights;
  double quality = 1;             // the weight of the 'faster' class is multiplied by this
  double latency_seconds = 0;     // slept per request
  int64_t prompt_tokens = 0;      // per request; 0: characters of the messages / 4
  int64_t completion_tokens = 0;  // per reply; 0: characters of the reply / 4
  bool report_usage = true;       // false: LlmResponse::usage_estimated = true
  double repeat_rate = 0;         // chance a reply repeats one already served for the same files
  uint64_t seed = 1;
};

// The reply served when no proposal applies to the shown files: prose without a patch.
extern const char* const kSimulatedNoIdeaReply;

class SimulatedModel : public LlmSource {
 public:
  SimulatedModel(std::vector<Proposal> library, SimulatedModelSettings settings);
  ~SimulatedModel() override;

  // Serves n replies for `target`. Each is drawn among the target's proposals that apply to the
  // files shown in the user messages (malformed proposals always qualify): first a
  // class, by weight, among the classes that have a candidate, then a proposal of that class,
  // uniformly. Candidates are the proposals not yet served for these files, except with
  // probability repeat_rate (or when none is left) the already served ones. Nothing to serve:
  // kSimulatedNoIdeaReply. Never throws for an unknown target or an empty library.
  LlmResponse Complete(const std::string& target, const std::vector<ChatMessage>& messages,
                       int n) override;
  std::string model() const override { return settings_.name; }
  std::string endpoint() const override { return "simulated:" + settings_.name; }

  // Which proposal a reply served by this model was (by exact reply text); nullptr if none (the
  // no-idea reply, or text this model never had).
  const Proposal* ProposalOfReply(const std::string& reply) const;
  int requests() const;  // Complete calls so far

 private:
  struct ShownFiles;
  ShownFiles& StateFor(const std::string& target, const std::vector<ChatMessage>& messages);
  const Proposal* Draw(ShownFiles& state);

  const std::vector<Proposal> library_;
  const SimulatedModelSettings settings_;
  mutable std::mutex mutex_;
  std::mt19937_64 random_;
  int requests_ = 0;
  std::map<std::string, const Proposal*> by_reply_;
  // Per target and fingerprint of the shown files: which proposals apply, which were served.
  std::map<std::string, std::unique_ptr<ShownFiles>> shown_;
};

// The files a prompt shows, editable and context (harness/loop/prompt.cpp FileBlock: "--- PATH ---"
// then a fenced block), path -> content; the first block of a path wins, a path that leaves the
// repository is skipped. For SimulatedModel and its tests.
std::map<std::string, std::string> FilesShownInPrompt(const std::vector<ChatMessage>& messages);

}  // namespace rlvr
