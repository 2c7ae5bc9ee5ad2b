// STAND-IN ON THE loopbench BRANCH ONLY: the simulated model is another helper's part (issue 22);
// this minimal version exists so loop bench compiles and its tests run before the merge. The
// integrator keeps the real harness/llm/simulated.{h,cpp} and drops this one.
// A model stand-in serving labelled proposals (llm/proposal_library.h) drawn by class weights.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "harness/llm/client.h"
#include "harness/llm/proposal_library.h"

namespace rlvr {

struct SimulatedModelSettings {
  std::string name = "simulated";
  std::map<std::string, double> class_weights;  // label -> weight; empty = every label alike
  double quality = 1;
  double latency_seconds = 0;
  int64_t prompt_tokens = 0;      // per request; 0 = estimated from the prompt's text
  int64_t completion_tokens = 0;  // per reply; 0 = estimated from the reply's text
  bool report_usage = true;
  double repeat_rate = 0;  // chance a reply repeats one served before
  uint64_t seed = 1;
};

class SimulatedModel : public LlmSource {
 public:
  SimulatedModel(std::vector<Proposal> proposals, SimulatedModelSettings settings);

  LlmResponse Complete(const std::string& target, const std::vector<ChatMessage>& messages,
                       int n) override;
  std::string model() const override { return settings_.name; }
  std::string endpoint() const override { return "simulated:" + settings_.name; }

  // The proposal whose reply is exactly `reply`, or nullptr.
  const Proposal* ProposalOfReply(const std::string& reply) const;
  int requests() const { return requests_; }

 private:
  std::vector<Proposal> proposals_;
  SimulatedModelSettings settings_;
  std::mt19937_64 rng_;
  std::vector<std::string> served_;
  int requests_ = 0;
};

}  // namespace rlvr
