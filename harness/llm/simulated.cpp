#include "harness/llm/simulated.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "harness/base/scratch_tree.h"
#include "harness/base/sha256.h"
#include "harness/patch/apply.h"
#include "harness/patch/paths.h"

namespace rlvr {

const char* const kSimulatedNoIdeaReply =
    "I have no further idea for this kernel that I would expect to make it faster; the current "
    "version looks as good as I can make it, so I would leave it as it is.\n";

namespace {

namespace fs = std::filesystem;

bool IsFenceLine(const std::string& line) {
  return line.rfind("```", 0) == 0;
}

std::vector<std::string> SplitText(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      if (start < text.size()) lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

double Uniform(std::mt19937_64& random) {
  return static_cast<double>(random() >> 11) * 0x1.0p-53;
}

}  // namespace

struct SimulatedModel::ShownFiles {
  std::vector<const Proposal*> eligible;  // library order
  std::set<const Proposal*> served;
};

std::map<std::string, std::string> FilesShownInPrompt(const std::vector<ChatMessage>& messages) {
  std::map<std::string, std::string> files;
  for (const ChatMessage& message : messages) {
    if (message.role != "user") continue;
    std::vector<std::string> lines = SplitText(message.content);
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
      const std::string& head = lines[i];
      // "--- PATH ---" directly followed by an opening fence (prompt.cpp FileBlock).
      if (head.size() < 9 || head.rfind("--- ", 0) != 0 || !head.ends_with(" ---") ||
          !IsFenceLine(lines[i + 1])) {
        continue;
      }
      std::string why;
      std::optional<std::string> path = NormalizePatchPath(head.substr(4, head.size() - 8), &why);
      size_t end = i + 2;
      while (end < lines.size() && lines[end] != "```") ++end;
      if (end == lines.size()) break;  // an unclosed block shows no whole file
      std::string content;
      for (size_t k = i + 2; k < end; ++k) content += lines[k] + "\n";
      if (path && !files.count(*path)) files[*path] = content;
      i = end;
    }
  }
  return files;
}

SimulatedModel::SimulatedModel(std::vector<Proposal> library, SimulatedModelSettings settings)
    : library_(std::move(library)), settings_(std::move(settings)), random_(settings_.seed) {
  for (const Proposal& p : library_) by_reply_.emplace(p.reply, &p);
}

SimulatedModel::~SimulatedModel() = default;

SimulatedModel::ShownFiles& SimulatedModel::StateFor(const std::string& target,
                                                     const std::vector<ChatMessage>& messages) {
  std::map<std::string, std::string> files = FilesShownInPrompt(messages);
  std::string fingerprint_text = target + '\0';
  for (const auto& [path, content] : files) {
    fingerprint_text += path + '\0' + std::to_string(content.size()) + '\0' + content;
  }
  std::unique_ptr<ShownFiles>& state = shown_[Sha256Hex(fingerprint_text)];
  if (state) return *state;
  state = std::make_unique<ShownFiles>();
  std::unique_ptr<ScratchTree> tree;  // made only when some proposal needs checking
  for (const Proposal& p : library_) {
    if (p.target != target) continue;
    if (p.label == "malformed") {
      state->eligible.push_back(&p);
      continue;
    }
    if (files.empty()) continue;
    if (!tree) tree = std::make_unique<ScratchTree>("rlvr-simulated", files);
    ApplyOptions options;
    options.dry_run = true;
    if (ApplyReply(tree->root(), p.reply, options).applied) state->eligible.push_back(&p);
  }
  return *state;
}

const Proposal* SimulatedModel::Draw(ShownFiles& state) {
  auto weight_of = [&](const std::string& label) {
    double w = 1;
    if (!settings_.class_weights.empty()) {
      auto it = settings_.class_weights.find(label);
      w = it == settings_.class_weights.end() ? 0 : it->second;
    }
    if (label == "faster") w *= settings_.quality;
    return w > 0 ? w : 0;
  };
  // Candidates per class, fresh and already served, in library order.
  std::map<std::string, std::vector<const Proposal*>> fresh, served;
  for (const Proposal* p : state.eligible) {
    (state.served.count(p) ? served : fresh)[p->label].push_back(p);
  }
  auto total = [&](const std::map<std::string, std::vector<const Proposal*>>& pool) {
    double sum = 0;
    for (const auto& [label, list] : pool) sum += weight_of(label);
    return sum;
  };
  // Drawn unconditionally, so the sequence of draws does not depend on which pools are empty.
  const bool want_repeat = Uniform(random_) < settings_.repeat_rate;
  const double pick = Uniform(random_);
  const uint64_t index = random_();
  const auto* pool = &fresh;
  if ((want_repeat && total(served) > 0) || total(fresh) <= 0) pool = &served;
  double sum = total(*pool);
  if (sum <= 0) return nullptr;
  double at = pick * sum;
  for (const auto& [label, list] : *pool) {
    double w = weight_of(label);
    if (w <= 0) continue;
    if (at < w) return list[index % list.size()];
    at -= w;
  }
  // Rounding left `at` past the last weighted class: take the last one that has weight.
  for (auto it = pool->rbegin(); it != pool->rend(); ++it) {
    if (weight_of(it->first) > 0) return it->second[index % it->second.size()];
  }
  return nullptr;
}

LlmResponse SimulatedModel::Complete(const std::string& target,
                                     const std::vector<ChatMessage>& messages, int n) {
  if (settings_.latency_seconds > 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(settings_.latency_seconds));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_;
  ShownFiles& state = StateFor(target, messages);
  LlmResponse response;
  int64_t prompt_chars = 0;
  for (const ChatMessage& m : messages) prompt_chars += static_cast<int64_t>(m.content.size());
  response.prompt_tokens = settings_.prompt_tokens > 0 ? settings_.prompt_tokens : prompt_chars / 4;
  for (int k = 0; k < n; ++k) {
    const Proposal* p = Draw(state);
    if (p) state.served.insert(p);
    response.replies.push_back(p ? p->reply : kSimulatedNoIdeaReply);
    const std::string& reply = response.replies.back();
    response.completion_tokens += settings_.completion_tokens > 0
                                      ? settings_.completion_tokens
                                      : static_cast<int64_t>(reply.size()) / 4;
  }
  response.usage_estimated = !settings_.report_usage;
  return response;
}

const Proposal* SimulatedModel::ProposalOfReply(const std::string& reply) const {
  auto it = by_reply_.find(reply);
  return it == by_reply_.end() ? nullptr : it->second;
}

int SimulatedModel::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

}  // namespace rlvr
