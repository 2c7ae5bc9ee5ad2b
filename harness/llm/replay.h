// A model stand-in that replays recorded replies, so any run can be reproduced (or a demo run
// offline) without an endpoint. PATH is either a ledger file (the replies of its attempts, in
// the order they were made, per target) or a folder of reply text files used in name order:
// PATH/<target>/* for one target, else PATH/* shared by all targets.
#pragma once

#include <deque>
#include <filesystem>
#include <map>
#include <string>

#include "harness/llm/client.h"

namespace rlvr {

class ReplayLlmSource : public LlmSource {
 public:
  // Throws LlmError (permanent) if PATH is missing, empty or not a ledger.
  explicit ReplayLlmSource(const std::filesystem::path& path);

  // Returns up to n replies, fewer near the end; throws a permanent LlmError once exhausted.
  LlmResponse Complete(const std::string& target, const std::vector<ChatMessage>& messages,
                       int n) override;
  std::string model() const override { return "replay"; }
  std::string endpoint() const override { return "replay:" + path_.string(); }

 private:
  std::deque<std::string>* QueueFor(const std::string& target);

  std::filesystem::path path_;
  bool is_folder_ = false;
  std::map<std::string, std::deque<std::string>> per_target_;
  std::deque<std::string> shared_;
};

}  // namespace rlvr
