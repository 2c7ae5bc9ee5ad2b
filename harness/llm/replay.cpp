#include "harness/llm/replay.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "harness/base/file_text.h"
#include "harness/ledger/ledger.h"

namespace rlvr {
namespace {

std::deque<std::string> ReadReplyFiles(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.empty() || name[0] == '.' || name == "README.md") {
      continue;
    }
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::deque<std::string> replies;
  for (const auto& file : files) {
    replies.push_back(ReadFileText(file));
  }
  return replies;
}

}  // namespace

ReplayLlmSource::ReplayLlmSource(const std::filesystem::path& path) : path_(path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw LlmError("replay source " + path.string() + " does not exist", true);
  }
  if (std::filesystem::is_directory(path, ec)) {
    is_folder_ = true;
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      if (entry.is_directory()) {
        per_target_[entry.path().filename().string()] = ReadReplyFiles(entry.path());
      }
    }
    shared_ = ReadReplyFiles(path);
    return;
  }
  try {
    Ledger ledger(path);
    std::optional<RunRecord> last = ledger.LastRun();
    for (int64_t run = 1; last && run <= last->id; ++run) {
      for (const AttemptRecord& a : ledger.RunAttempts(run)) {
        // Attempts where the endpoint gave nothing have no reply to replay.
        if (!a.reply.empty()) per_target_[a.target].push_back(a.reply);
      }
    }
  } catch (const LedgerError& e) {
    throw LlmError("replay source " + path.string() +
                       " is neither a folder of replies nor a readable ledger: " + e.what(),
                   true);
  }
}

std::deque<std::string>* ReplayLlmSource::QueueFor(const std::string& target) {
  auto it = per_target_.find(target);
  if (it != per_target_.end()) return &it->second;
  return is_folder_ ? &shared_ : nullptr;
}

LlmResponse ReplayLlmSource::Complete(const std::string& target,
                                      const std::vector<ChatMessage>& /*messages*/, int n) {
  std::deque<std::string>* queue = QueueFor(target);
  if (!queue || queue->empty()) {
    throw LlmError("replay " + path_.string() + " has no more replies for target '" + target + "'",
                   /*permanent=*/true, /*exhausted=*/true);
  }
  LlmResponse out;
  for (int i = 0; i < std::max(n, 1) && !queue->empty(); ++i) {
    out.replies.push_back(std::move(queue->front()));
    queue->pop_front();
  }
  return out;
}

}  // namespace rlvr
