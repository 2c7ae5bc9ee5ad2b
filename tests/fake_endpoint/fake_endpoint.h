// A scripted OpenAI-compatible endpoint for tests and offline demos. It serves
// /v1/chat/completions and /v1/responses on 127.0.0.1 (ephemeral port), answering each request
// with the next step of a script: a reply, or a fault (429 with Retry-After, 5xx, a reply slower
// than the client's timeout, malformed JSON, a truncated body, an oversized body, a wrong content
// type, empty choices, an HTTP error with the server's message). It records every request.
//
// Script file: {"replies": [step, ...]}; a step is an object with
//   "content": "text" | "contents": ["a", "b"] | "content_file": "path" (relative to the script)
//   "status": 429, "retry_after": 1, "error": "message"   (an HTTP error reply)
//   "delay_ms": 3000                                        (answer late)
//   "fault": "malformed_json" | "truncated" | "oversized" | "wrong_content_type" | "empty_choices"
//   "bytes": 5000000                                        (size of an oversized body)
//   "cached_tokens": 40                                     (usage reports cached prompt tokens)
//   "no_usage": true                                        (the reply has no usage at all)
// Once the script is used up every request gets HTTP 400 "script exhausted".
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace httplib {
class Server;
}

namespace rlvr {

struct RecordedRequest {
  std::string path;
  std::string body;
  std::string authorization;  // the Authorization header as received (tests check it)
};

class FakeEndpoint {
 public:
  // `steps` is the script's "replies" array; `base_dir` resolves content_file.
  explicit FakeEndpoint(nlohmann::json steps, std::filesystem::path base_dir = {});
  // Loads a script file; throws std::runtime_error with a clear message if unreadable.
  static std::unique_ptr<FakeEndpoint> FromFile(const std::filesystem::path& script);
  ~FakeEndpoint();

  // Binds 127.0.0.1 on `port` (0 = ephemeral) and serves on a background thread.
  void Start(int port = 0);
  void Stop();
  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

  std::vector<RecordedRequest> requests() const;
  size_t steps_used() const;

 private:
  nlohmann::json NextStep();

  nlohmann::json steps_;
  std::filesystem::path base_dir_;
  size_t next_ = 0;
  std::vector<RecordedRequest> requests_;
  mutable std::mutex mu_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
};

}  // namespace rlvr
