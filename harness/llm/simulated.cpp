// STAND-IN ON THE loopbench BRANCH ONLY (see simulated.h): dropped at the merge.
#include "harness/llm/simulated.h"

#include <chrono>
#include <thread>

namespace rlvr {

SimulatedModel::SimulatedModel(std::vector<Proposal> proposals, SimulatedModelSettings settings)
    : proposals_(std::move(proposals)), settings_(std::move(settings)), rng_(settings_.seed) {}

LlmResponse SimulatedModel::Complete(const std::string& target,
                                     const std::vector<ChatMessage>& messages, int n) {
  ++requests_;
  std::vector<const Proposal*> mine;
  std::vector<double> weights;
  for (const Proposal& p : proposals_) {
    if (p.target != target) continue;
    auto w = settings_.class_weights.find(p.label);
    double weight = settings_.class_weights.empty()      ? 1.0
                    : w == settings_.class_weights.end() ? 0.0
                                                         : w->second;
    if (weight <= 0) continue;
    mine.push_back(&p);
    weights.push_back(weight);
  }
  if (mine.empty()) throw LlmError("no proposal for target " + target, /*permanent=*/true);
  if (settings_.latency_seconds > 0)
    std::this_thread::sleep_for(std::chrono::duration<double>(settings_.latency_seconds));
  LlmResponse response;
  size_t prompt_chars = 0;
  for (const ChatMessage& m : messages) prompt_chars += m.content.size();
  response.prompt_tokens = settings_.prompt_tokens > 0 ? settings_.prompt_tokens
                                                       : static_cast<int64_t>(prompt_chars / 4);
  std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
  std::uniform_real_distribution<double> unit(0, 1);
  for (int i = 0; i < n; ++i) {
    std::string reply;
    if (!served_.empty() && unit(rng_) < settings_.repeat_rate) {
      reply = served_[std::uniform_int_distribution<size_t>(0, served_.size() - 1)(rng_)];
    } else {
      reply = mine[pick(rng_)]->reply;
    }
    served_.push_back(reply);
    response.completion_tokens += settings_.completion_tokens > 0
                                      ? settings_.completion_tokens
                                      : static_cast<int64_t>(reply.size() / 4);
    response.replies.push_back(std::move(reply));
  }
  response.usage_estimated = !settings_.report_usage;
  return response;
}

const Proposal* SimulatedModel::ProposalOfReply(const std::string& reply) const {
  for (const Proposal& p : proposals_) {
    if (p.reply == reply) return &p;
  }
  return nullptr;
}

}  // namespace rlvr
