// Sources of model replies. LlmSource is what the loop talks to; HttpLlmClient speaks the
// OpenAI-compatible Chat Completions (/chat/completions) or Responses (/responses) API over
// libcurl, with timeouts, retries (429, 5xx, network errors; Retry-After honoured), a reply-size
// cap and token accounting. The API key is read from an environment variable and never appears
// in an error message, a log or the ledger.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rlvr {

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

struct LlmResponse {
  std::vector<std::string> replies;  // one per candidate
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  // Of prompt_tokens, those the endpoint reports it served from its prompt cache (billed at the
  // cached-input price, llm/price.h); 0 when it reports none.
  int64_t cached_prompt_tokens = 0;
  // The endpoint reported no usage: the token counts are estimated from the text (about four
  // characters a token) and everything computed from them says so.
  bool usage_estimated = false;
};

// No usable reply. `permanent` errors (bad key, unknown model, replay exhausted) will not go
// away by asking again; the loop stops on them at once.
class LlmError : public std::runtime_error {
 public:
  LlmError(const std::string& message, bool permanent, bool exhausted = false,
           bool cancelled = false)
      : std::runtime_error(message),
        permanent_(permanent),
        exhausted_(exhausted),
        cancelled_(cancelled) {}
  bool permanent() const { return permanent_; }
  // A replay source has no more replies: the normal end of a replayed run.
  bool exhausted() const { return exhausted_; }
  // The request (or the wait before a retry) was abandoned because a stop was requested
  // (LlmSettings::cancelled): not the endpoint's fault, never retried.
  bool cancelled() const { return cancelled_; }

 private:
  bool permanent_;
  bool exhausted_;
  bool cancelled_;
};

class LlmSource {
 public:
  virtual ~LlmSource() = default;
  // Asks for `n` replies continuing `messages`; `target` lets a replay source keep one queue
  // per target. Throws LlmError when there is no usable reply.
  virtual LlmResponse Complete(const std::string& target, const std::vector<ChatMessage>& messages,
                               int n) = 0;
  virtual std::string model() const = 0;
  virtual std::string endpoint() const = 0;  // for the ledger: a URL or replay:PATH
};

enum class LlmApi { kChatCompletions, kResponses };

struct LlmSettings {
  std::string base_url = "https://api.openai.com/v1";
  std::string model = "gpt-4o";
  LlmApi api = LlmApi::kChatCompletions;
  double temperature = 0.7;
  int max_tokens = 8192;
  std::string api_key_env = "OPENAI_API_KEY";
  double connect_timeout_seconds = 10;
  double total_timeout_seconds = 600;
  int max_retries = 5;                 // further tries after the first, for transient faults
  double backoff_initial_seconds = 2;  // doubled per retry, with jitter
  double backoff_max_seconds = 120;
  size_t max_reply_bytes = size_t{8} << 20;  // the transfer is aborted past this
  // Polled during a transfer (about once a second at least); returning true abandons it at once
  // and Complete throws a cancelled() LlmError (the loop's stop request).
  std::function<bool()> cancelled;
};

// Sleeps for the given seconds; returns false if the wait was cut short (stop requested).
using SleepFunction = std::function<bool(double seconds)>;

class HttpLlmClient : public LlmSource {
 public:
  // Reads the key from settings.api_key_env now; a missing variable is fine for local servers
  // that need no key (no Authorization header is sent then).
  explicit HttpLlmClient(LlmSettings settings, SleepFunction sleep = {});

  LlmResponse Complete(const std::string& target, const std::vector<ChatMessage>& messages,
                       int n) override;
  std::string model() const override { return settings_.model; }
  std::string endpoint() const override;

  // Number of HTTP requests made so far (retries included); for tests and status lines.
  int requests_made() const { return requests_made_; }

 private:
  struct HttpResult;
  LlmResponse CompleteOnce(const std::vector<ChatMessage>& messages, int n);
  HttpResult Post(const std::string& url, const std::string& body);
  std::string Redact(std::string text) const;

  LlmSettings settings_;
  SleepFunction sleep_;
  std::string api_key_;
  int requests_made_ = 0;
};

// Parses an LLM source spec: "replay:PATH" -> a replay source; "http" (or empty) -> an
// HttpLlmClient with `settings`. Throws std::invalid_argument with a clear message otherwise.
std::unique_ptr<LlmSource> MakeLlmSource(const std::string& spec, const LlmSettings& settings,
                                         SleepFunction sleep = {});

}  // namespace rlvr
