#include "tests/fake_endpoint/fake_endpoint.h"

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rlvr {
namespace {

using nlohmann::json;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("fake endpoint: cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t RoughTokens(const std::string& text) {
  return text.size() / 4 + 1;
}

}  // namespace

FakeEndpoint::FakeEndpoint(json steps, std::filesystem::path base_dir)
    : steps_(std::move(steps)), base_dir_(std::move(base_dir)) {
  if (!steps_.is_array()) throw std::runtime_error("fake endpoint: script steps must be an array");
}

std::unique_ptr<FakeEndpoint> FakeEndpoint::FromFile(const std::filesystem::path& script) {
  json j = json::parse(ReadFile(script), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("replies")) {
    throw std::runtime_error("fake endpoint: " + script.string() +
                             " is not a script (want {\"replies\": [...]})");
  }
  return std::make_unique<FakeEndpoint>(j["replies"], script.parent_path());
}

FakeEndpoint::~FakeEndpoint() {
  Stop();
}

json FakeEndpoint::NextStep() {
  std::lock_guard<std::mutex> lock(mu_);
  if (next_ >= steps_.size()) return json{{"status", 400}, {"error", "script exhausted"}};
  return steps_[next_++];
}

std::vector<RecordedRequest> FakeEndpoint::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FakeEndpoint::steps_used() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_;
}

void FakeEndpoint::Start(int port) {
  server_ = std::make_unique<httplib::Server>();
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back({req.path, req.body, req.get_header_value("Authorization")});
    }
    bool responses_api = req.path.find("/responses") != std::string::npos;
    json request = json::parse(req.body, nullptr, false);
    std::string prompt_text = req.body;
    json step = NextStep();

    if (step.contains("delay_ms")) {
      auto end =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(step["delay_ms"].get<int>());
      while (std::chrono::steady_clock::now() < end && !stopping_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (step.contains("status")) {
      int status = step["status"].get<int>();
      res.status = status;
      if (step.contains("retry_after")) {
        res.set_header("Retry-After", std::to_string(step["retry_after"].get<int>()));
      }
      json error = {
          {"error", {{"message", step.value("error", "scripted error")}, {"type", "scripted"}}}};
      res.set_content(error.dump(), "application/json");
      return;
    }
    std::string fault = step.value("fault", "");
    if (fault == "malformed_json") {
      res.set_content("{\"choices\": [{\"message\": {\"content\": \"unterminated",
                      "application/json");
      return;
    }
    if (fault == "wrong_content_type") {
      res.set_content("<html><body>Welcome to nginx!</body></html>", "text/html");
      return;
    }
    if (fault == "oversized") {
      size_t bytes = step.value("bytes", size_t{16} << 20);
      json body = {
          {"choices",
           {{{"index", 0},
             {"message", {{"role", "assistant"}, {"content", std::string(bytes, 'x')}}}}}}};
      res.set_content(body.dump(), "application/json");
      return;
    }

    std::vector<std::string> contents;
    if (step.contains("content")) contents.push_back(step["content"].get<std::string>());
    if (step.contains("contents")) {
      for (const json& c : step["contents"]) contents.push_back(c.get<std::string>());
    }
    if (step.contains("content_file")) {
      contents.push_back(ReadFile(base_dir_ / step["content_file"].get<std::string>()));
    }
    if (fault == "empty_choices") contents.clear();
    size_t completion = 0;
    for (const auto& c : contents) completion += RoughTokens(c);
    json body;
    std::string model = request.is_object() ? request.value("model", "fake") : "fake";
    if (responses_api) {
      json content = json::array();
      for (const auto& c : contents) content.push_back({{"type", "output_text"}, {"text", c}});
      body = {
          {"id", "resp_fake"},
          {"object", "response"},
          {"model", model},
          {"output", {{{"type", "message"}, {"role", "assistant"}, {"content", content}}}},
          {"usage", {{"input_tokens", RoughTokens(prompt_text)}, {"output_tokens", completion}}}};
    } else {
      json choices = json::array();
      for (size_t i = 0; i < contents.size(); ++i) {
        choices.push_back({{"index", i},
                           {"message", {{"role", "assistant"}, {"content", contents[i]}}},
                           {"finish_reason", "stop"}});
      }
      body = {{"id", "chatcmpl-fake"},
              {"object", "chat.completion"},
              {"model", model},
              {"choices", choices},
              {"usage",
               {{"prompt_tokens", RoughTokens(prompt_text)}, {"completion_tokens", completion}}}};
    }
    if (step.contains("cached_tokens")) {
      const char* details = responses_api ? "input_tokens_details" : "prompt_tokens_details";
      body["usage"][details] = {{"cached_tokens", step["cached_tokens"]}};
    }
    if (step.value("no_usage", false)) body.erase("usage");
    std::string text = body.dump();
    if (fault == "truncated") {
      // Promise the whole body, send half, then drop the connection.
      size_t half = text.size() / 2;
      auto shared = std::make_shared<std::string>(std::move(text));
      res.set_content_provider(shared->size(), "application/json",
                               [shared, half](size_t offset, size_t, httplib::DataSink& sink) {
                                 if (offset < half)
                                   sink.write(shared->data() + offset, half - offset);
                                 return offset < half;
                               });
      return;
    }
    res.set_content(text, "application/json");
  };
  server_->Post("/v1/chat/completions", handler);
  server_->Post("/chat/completions", handler);
  server_->Post("/v1/responses", handler);
  server_->Post("/responses", handler);
  if (port == 0) {
    port_ = server_->bind_to_any_port("127.0.0.1");
  } else {
    port_ = server_->bind_to_port("127.0.0.1", port) ? port : -1;
  }
  if (port_ <= 0) throw std::runtime_error("fake endpoint: cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void FakeEndpoint::Stop() {
  stopping_ = true;
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace rlvr
