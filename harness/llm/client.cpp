#include "harness/llm/client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "harness/base/secrets.h"
#include "harness/llm/replay.h"

namespace rlvr {
namespace {

using nlohmann::json;

// A fault worth asking again for: throttling, a server error, a network failure, a garbled body.
class TransientLlmError : public LlmError {
 public:
  TransientLlmError(const std::string& message, std::optional<double> retry_after)
      : LlmError(message, false), retry_after_(retry_after) {}
  std::optional<double> retry_after() const { return retry_after_; }

 private:
  std::optional<double> retry_after_;
};

bool DefaultSleep(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return true;
}

std::string Excerpt(const std::string& text, size_t max = 300) {
  std::string out = text.substr(0, max);
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() > max) out += "...";
  return out;
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The server's own explanation, from an OpenAI-style {"error": {"message": ...}} body, or the
// start of whatever it sent.
std::string ServerErrorText(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error")) {
    const json& e = j["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string()) {
      return e["message"].get<std::string>();
    }
    if (e.is_string()) return e.get<std::string>();
  }
  if (body.empty()) return "(empty body)";
  return Excerpt(body);
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct TransferState {
  const std::function<bool()>* cancelled = nullptr;
  bool was_cancelled = false;
  std::string body;
  size_t cap = 0;
  bool oversized = false;
  std::optional<double> retry_after;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<TransferState*>(user);
  size_t n = size * count;
  if (state->body.size() + n > state->cap) {
    state->oversized = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  state->body.append(data, n);
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* state = static_cast<TransferState*>(user);
  if (*state->cancelled && (*state->cancelled)()) {
    state->was_cancelled = true;
    return 1;  // aborts with CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<TransferState*>(user);
  size_t n = size * count;
  std::string line(data, n);
  std::string lower = line;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (lower.rfind(kRetryAfter, 0) == 0) {
    // Only the delta-seconds form; an HTTP date falls back to our own backoff.
    char* end = nullptr;
    std::string value = line.substr(kRetryAfter.size());
    double seconds = std::strtod(value.c_str(), &end);
    if (end != value.c_str() && seconds >= 0) state->retry_after = seconds;
  }
  return n;
}

// usage.<details>.cached_tokens (prompt_tokens_details for Chat Completions,
// input_tokens_details for the Responses API); 0 when absent or not a number.
int64_t CachedTokens(const json& usage, const char* details) {
  if (!usage.contains(details) || !usage[details].is_object()) return 0;
  const json& d = usage[details];
  if (!d.contains("cached_tokens") || !d["cached_tokens"].is_number()) return 0;
  return d["cached_tokens"].get<int64_t>();
}

// About four characters a token, rounded up: the usual rule of thumb for English and code.
int64_t EstimatedTokens(size_t chars) {
  return static_cast<int64_t>((chars + 3) / 4);
}

}  // namespace

struct HttpLlmClient::HttpResult {
  long status = 0;
  std::string body;
  std::string content_type;
  std::optional<double> retry_after;
};

HttpLlmClient::HttpLlmClient(LlmSettings settings, SleepFunction sleep)
    : settings_(std::move(settings)), sleep_(sleep ? std::move(sleep) : DefaultSleep) {
  InitCurlOnce();
  if (!settings_.api_key_env.empty()) {
    if (const char* key = std::getenv(settings_.api_key_env.c_str())) api_key_ = key;
  }
  // Whatever the variable is called, its value is now redacted everywhere and kept from children.
  RegisterSecret(api_key_);
}

std::string HttpLlmClient::endpoint() const {
  return TrimSlash(settings_.base_url);
}

std::string HttpLlmClient::Redact(std::string text) const {
  text = RedactSecrets(text);
  if (api_key_.empty()) return text;
  for (size_t pos = text.find(api_key_); pos != std::string::npos; pos = text.find(api_key_, pos)) {
    text.replace(pos, api_key_.size(), "[redacted]");
  }
  return text;
}

HttpLlmClient::HttpResult HttpLlmClient::Post(const std::string& url, const std::string& body) {
  ++requests_made_;
  CURL* curl = curl_easy_init();
  if (!curl) throw TransientLlmError("could not create an HTTP handle", std::nullopt);
  TransferState state;
  state.cap = settings_.max_reply_bytes;
  state.cancelled = &settings_.cancelled;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  std::string auth;
  if (!api_key_.empty()) {
    auth = "Authorization: Bearer " + api_key_;
    headers = curl_slist_append(headers, auth.c_str());
  }
  char curl_error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &state);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // A redirect could carry the key to another host: never follow one.
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(settings_.connect_timeout_seconds * 1000));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(settings_.total_timeout_seconds * 1000));
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(settings_.max_reply_bytes));
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &state);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  CURLcode rc = curl_easy_perform(curl);
  HttpResult result;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  char* content_type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
  if (content_type) result.content_type = content_type;
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  result.retry_after = state.retry_after;
  if (state.oversized || rc == CURLE_FILESIZE_EXCEEDED) {
    throw LlmError(fmt::format("reply from {} exceeds the {} byte cap; transfer aborted", url,
                               settings_.max_reply_bytes),
                   /*permanent=*/false);
  }
  if (state.was_cancelled) {
    throw LlmError("request to " + url + " abandoned: stop requested (no reply received)", false,
                   false, /*cancelled=*/true);
  }
  if (rc != CURLE_OK) {
    std::string detail = curl_error[0] ? curl_error : curl_easy_strerror(rc);
    throw TransientLlmError(Redact(fmt::format("request to {} failed: {}", url, detail)),
                            std::nullopt);
  }
  result.body = std::move(state.body);
  return result;
}

LlmResponse HttpLlmClient::CompleteOnce(const std::vector<ChatMessage>& messages, int n) {
  bool chat = settings_.api == LlmApi::kChatCompletions;
  std::string url = TrimSlash(settings_.base_url) + (chat ? "/chat/completions" : "/responses");
  json request;
  request["model"] = settings_.model;
  request["temperature"] = settings_.temperature;
  json turns = json::array();
  for (const ChatMessage& m : messages) turns.push_back({{"role", m.role}, {"content", m.content}});
  if (chat) {
    request["messages"] = std::move(turns);
    request["max_tokens"] = settings_.max_tokens;
    if (n > 1) request["n"] = n;
  } else {
    request["input"] = std::move(turns);
    request["max_output_tokens"] = settings_.max_tokens;
  }
  HttpResult http = Post(url, request.dump());
  if (http.status == 429 || http.status == 408 || http.status >= 500) {
    throw TransientLlmError(
        Redact(fmt::format("HTTP {} from {}: {}", http.status, url, ServerErrorText(http.body))),
        http.retry_after);
  }
  if (http.status != 200) {
    std::string hint;
    if (http.status == 401 || http.status == 403) {
      hint = fmt::format(" (check the API key in ${})", settings_.api_key_env);
    } else if (http.status == 404) {
      hint =
          fmt::format(" (check --base-url {} and --model {})", settings_.base_url, settings_.model);
    }
    throw LlmError(Redact(fmt::format("HTTP {} from {}: {}{}", http.status, url,
                                      ServerErrorText(http.body), hint)),
                   /*permanent=*/true);
  }
  if (http.content_type.find("json") == std::string::npos) {
    throw TransientLlmError(Redact(fmt::format("expected JSON from {}, got content type '{}': {}",
                                               url, http.content_type, Excerpt(http.body, 120))),
                            std::nullopt);
  }
  json reply = json::parse(http.body, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) {
    throw TransientLlmError(
        Redact(fmt::format("malformed JSON reply from {}: {}", url, Excerpt(http.body, 120))),
        std::nullopt);
  }
  LlmResponse out;
  bool reported_usage = false;
  try {
    if (chat) {
      if (reply.contains("choices") && reply["choices"].is_array()) {
        for (const json& choice : reply["choices"]) {
          const json* content = nullptr;
          if (choice.contains("message") && choice["message"].contains("content")) {
            content = &choice["message"]["content"];
          }
          if (content && content->is_string() && !content->get<std::string>().empty()) {
            out.replies.push_back(content->get<std::string>());
          }
        }
      }
      if (reply.contains("usage") && reply["usage"].is_object()) {
        const json& usage = reply["usage"];
        reported_usage = true;
        out.prompt_tokens = usage.value("prompt_tokens", int64_t{0});
        out.completion_tokens = usage.value("completion_tokens", int64_t{0});
        out.cached_prompt_tokens = CachedTokens(usage, "prompt_tokens_details");
      }
    } else {
      std::string text;
      if (reply.contains("output") && reply["output"].is_array()) {
        for (const json& item : reply["output"]) {
          if (item.value("type", "") != "message" || !item.contains("content")) continue;
          for (const json& part : item["content"]) {
            if (part.value("type", "") == "output_text") text += part.value("text", "");
          }
        }
      }
      if (!text.empty()) out.replies.push_back(std::move(text));
      if (reply.contains("usage") && reply["usage"].is_object()) {
        const json& usage = reply["usage"];
        reported_usage = true;
        out.prompt_tokens = usage.value("input_tokens", int64_t{0});
        out.completion_tokens = usage.value("output_tokens", int64_t{0});
        out.cached_prompt_tokens = CachedTokens(usage, "input_tokens_details");
      }
    }
  } catch (const json::exception& e) {
    throw TransientLlmError(
        Redact(fmt::format("unexpected reply shape from {}: {}", url, e.what())), std::nullopt);
  }
  if (out.replies.empty()) {
    throw TransientLlmError(Redact(fmt::format("reply from {} has no message content: {}", url,
                                               Excerpt(http.body, 200))),
                            std::nullopt);
  }
  if (!reported_usage) {
    // Costs must not silently read zero: estimate, and say so (usage_estimated).
    size_t prompt_chars = 0;
    for (const ChatMessage& m : messages) prompt_chars += m.content.size();
    size_t reply_chars = 0;
    for (const std::string& r : out.replies) reply_chars += r.size();
    out.prompt_tokens = EstimatedTokens(prompt_chars);
    out.completion_tokens = EstimatedTokens(reply_chars);
    out.usage_estimated = true;
  }
  return out;
}

LlmResponse HttpLlmClient::Complete(const std::string& /*target*/,
                                    const std::vector<ChatMessage>& messages, int n) {
  n = std::max(n, 1);
  LlmResponse total;
  std::mt19937_64 rng(std::random_device{}());
  // Some servers (llama.cpp, Ollama, the Responses API) give one reply per request whatever n
  // says: ask again for the rest, at most n requests in all.
  for (int request = 0; request < n && static_cast<int>(total.replies.size()) < n; ++request) {
    int wanted = n - static_cast<int>(total.replies.size());
    for (int attempt = 0;; ++attempt) {
      try {
        LlmResponse part = CompleteOnce(messages, wanted);
        for (std::string& r : part.replies) {
          if (static_cast<int>(total.replies.size()) < n) total.replies.push_back(std::move(r));
        }
        total.prompt_tokens += part.prompt_tokens;
        total.completion_tokens += part.completion_tokens;
        total.cached_prompt_tokens += part.cached_prompt_tokens;
        total.usage_estimated = total.usage_estimated || part.usage_estimated;
        break;
      } catch (const LlmError& e) {
        if (e.permanent() || e.cancelled() || attempt >= settings_.max_retries) {
          if (!total.replies.empty()) return total;  // keep what we already have
          if (e.permanent() || e.cancelled()) throw;
          throw LlmError(fmt::format("{} (gave up after {} tries)", e.what(), attempt + 1), false);
        }
        double backoff =
            std::min(settings_.backoff_max_seconds,
                     settings_.backoff_initial_seconds * double(1 << std::min(attempt, 20)));
        // Full jitter on the upper half keeps parallel clients from retrying in lockstep.
        backoff *= std::uniform_real_distribution<double>(0.5, 1.0)(rng);
        double delay = backoff;
        if (auto* t = dynamic_cast<const TransientLlmError*>(&e); t && t->retry_after()) {
          // The server said when to come back; capped so a silly value cannot stall the loop.
          delay = std::min(*t->retry_after(), settings_.backoff_max_seconds);
        }
        if (!sleep_(delay)) {
          throw LlmError(fmt::format("stop requested while waiting to retry after: {}", e.what()),
                         false, false, /*cancelled=*/true);
        }
      }
    }
  }
  return total;
}

std::unique_ptr<LlmSource> MakeLlmSource(const std::string& spec, const LlmSettings& settings,
                                         SleepFunction sleep) {
  if (spec.empty() || spec == "http") return std::make_unique<HttpLlmClient>(settings, sleep);
  constexpr std::string_view kReplay = "replay:";
  if (spec.rfind(kReplay, 0) == 0) {
    return std::make_unique<ReplayLlmSource>(spec.substr(kReplay.size()));
  }
  throw std::invalid_argument("unknown LLM source '" + spec +
                              "': use 'http' (the endpoint of --base-url) or 'replay:PATH' (a "
                              "ledger file or a folder of reply files)");
}

}  // namespace rlvr
