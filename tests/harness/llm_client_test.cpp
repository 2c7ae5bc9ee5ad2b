// The HTTP LLM client against the scripted fake endpoint: replies, retries on each transient
// fault (Retry-After honoured), clear permanent errors, caps, token accounting, key hygiene.
#include "harness/llm/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "harness/llm/replay.h"
#include "tests/fake_endpoint/fake_endpoint.h"

namespace rlvr {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class LlmClientTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("RLVR_TEST_LLM_KEY", "sk-test-SECRET", 1); }
  void TearDown() override {
    if (endpoint_) endpoint_->Stop();
    unsetenv("RLVR_TEST_LLM_KEY");
  }

  HttpLlmClient Client(json steps, LlmApi api = LlmApi::kChatCompletions) {
    endpoint_ = std::make_unique<FakeEndpoint>(std::move(steps));
    endpoint_->Start();
    LlmSettings s;
    s.base_url = endpoint_->base_url();
    s.model = "test-model";
    s.api = api;
    s.api_key_env = "RLVR_TEST_LLM_KEY";
    s.connect_timeout_seconds = 2;
    s.total_timeout_seconds = 1;
    s.max_retries = 3;
    s.backoff_initial_seconds = 0.5;
    s.max_reply_bytes = 1 << 20;
    return HttpLlmClient(s, [this](double seconds) {
      sleeps_.push_back(seconds);
      return true;
    });
  }

  const std::vector<ChatMessage> messages_ = {{"system", "be fast"}, {"user", "optimise"}};
  std::unique_ptr<FakeEndpoint> endpoint_;
  std::vector<double> sleeps_;
};

TEST_F(LlmClientTest, ReturnsRepliesAndTokenUsageAndSendsKeyOnlyInHeader) {
  HttpLlmClient client = Client(json::array({{{"contents", {"first", "second"}}}}));
  LlmResponse r = client.Complete("gemm", messages_, 2);
  EXPECT_THAT(r.replies, ::testing::ElementsAre("first", "second"));
  EXPECT_GT(r.prompt_tokens, 0);
  EXPECT_GT(r.completion_tokens, 0);
  auto requests = endpoint_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/chat/completions");
  EXPECT_EQ(requests[0].authorization, "Bearer sk-test-SECRET");
  EXPECT_THAT(requests[0].body, Not(HasSubstr("SECRET")));
  json body = json::parse(requests[0].body);
  EXPECT_EQ(body["model"], "test-model");
  EXPECT_EQ(body["n"], 2);
  EXPECT_EQ(body["messages"][1]["content"], "optimise");
}

TEST_F(LlmClientTest, AsksAgainWhenServerIgnoresN) {
  HttpLlmClient client = Client(json::array({{{"content", "one"}}, {{"content", "two"}}}));
  LlmResponse r = client.Complete("gemm", messages_, 2);
  EXPECT_THAT(r.replies, ::testing::ElementsAre("one", "two"));
  EXPECT_EQ(endpoint_->requests().size(), 2u);
}

TEST_F(LlmClientTest, ResponsesApi) {
  HttpLlmClient client = Client(json::array({{{"content", "patch"}}}), LlmApi::kResponses);
  LlmResponse r = client.Complete("gemm", messages_, 1);
  EXPECT_THAT(r.replies, ::testing::ElementsAre("patch"));
  EXPECT_GT(r.completion_tokens, 0);
  auto requests = endpoint_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/responses");
  EXPECT_TRUE(json::parse(requests[0].body).contains("input"));
}

TEST_F(LlmClientTest, CachedPromptTokensAreParsedFromChatCompletionsUsage) {
  HttpLlmClient client = Client(json::array(
      {{{"content", "a"}, {"cached_tokens", 7}}, {{"content", "b"}, {"cached_tokens", 5}}}));
  LlmResponse r = client.Complete("gemm", messages_, 2);
  ASSERT_EQ(endpoint_->requests().size(), 2u);
  // Summed over the two HTTP calls the request was split into.
  EXPECT_EQ(r.cached_prompt_tokens, 12);
  EXPECT_FALSE(r.usage_estimated);
}

TEST_F(LlmClientTest, CachedPromptTokensAreParsedFromResponsesUsage) {
  HttpLlmClient client =
      Client(json::array({{{"content", "patch"}, {"cached_tokens", 9}}}), LlmApi::kResponses);
  LlmResponse r = client.Complete("gemm", messages_, 1);
  EXPECT_EQ(r.cached_prompt_tokens, 9);
  EXPECT_FALSE(r.usage_estimated);
}

TEST_F(LlmClientTest, NoCachedTokensReportedMeansZero) {
  HttpLlmClient client = Client(json::array({{{"content", "a"}}}));
  EXPECT_EQ(client.Complete("gemm", messages_, 1).cached_prompt_tokens, 0);
}

TEST_F(LlmClientTest, MissingUsageIsEstimatedFromTheText) {
  // Prompt: "be fast" + "optimise" = 15 characters -> 4 tokens; reply 9 characters -> 3 tokens.
  HttpLlmClient client = Client(json::array({{{"content", "123456789"}, {"no_usage", true}}}));
  LlmResponse r = client.Complete("gemm", messages_, 1);
  EXPECT_TRUE(r.usage_estimated);
  EXPECT_EQ(r.prompt_tokens, 4);
  EXPECT_EQ(r.completion_tokens, 3);
  EXPECT_EQ(r.cached_prompt_tokens, 0);
}

TEST_F(LlmClientTest, OneEstimatedCallMarksTheWholeRequestEstimated) {
  // Two HTTP calls: the first reports usage, the second does not; the sum is marked estimated.
  HttpLlmClient client =
      Client(json::array({{{"content", "one"}}, {{"content", "12345678"}, {"no_usage", true}}}));
  LlmResponse r = client.Complete("gemm", messages_, 2);
  ASSERT_EQ(r.replies.size(), 2u);
  EXPECT_TRUE(r.usage_estimated);
  // The second call contributes ceil(15/4) = 4 prompt and 2 completion tokens to the sums.
  EXPECT_GT(r.prompt_tokens, 4);
  EXPECT_GT(r.completion_tokens, 2);
}

TEST_F(LlmClientTest, ResponsesApiMissingUsageIsEstimated) {
  HttpLlmClient client =
      Client(json::array({{{"content", "12345"}, {"no_usage", true}}}), LlmApi::kResponses);
  LlmResponse r = client.Complete("gemm", messages_, 1);
  EXPECT_TRUE(r.usage_estimated);
  EXPECT_EQ(r.prompt_tokens, 4);
  EXPECT_EQ(r.completion_tokens, 2);
}

TEST_F(LlmClientTest, Retries429HonouringRetryAfter) {
  HttpLlmClient client =
      Client(json::array({{{"status", 429}, {"retry_after", 7}}, {{"content", "ok"}}}));
  LlmResponse r = client.Complete("gemm", messages_, 1);
  EXPECT_THAT(r.replies, ::testing::ElementsAre("ok"));
  ASSERT_EQ(sleeps_.size(), 1u);
  EXPECT_DOUBLE_EQ(sleeps_[0], 7.0);
}

TEST_F(LlmClientTest, RetriesEachTransientFaultWithGrowingBackoff) {
  HttpLlmClient client = Client(json::array({{{"status", 500}},
                                             {{"fault", "malformed_json"}},
                                             {{"fault", "truncated"}, {"content", "abc"}},
                                             {{"content", "finally"}}}));
  LlmResponse r = client.Complete("gemm", messages_, 1);
  EXPECT_THAT(r.replies, ::testing::ElementsAre("finally"));
  ASSERT_EQ(sleeps_.size(), 3u);
  // Exponential with jitter in [0.5, 1]: 0.5*2^k*[0.5,1].
  EXPECT_GE(sleeps_[0], 0.25);
  EXPECT_LE(sleeps_[0], 0.5);
  EXPECT_GE(sleeps_[2], 1.0);
  EXPECT_LE(sleeps_[2], 2.0);
}

TEST_F(LlmClientTest, GivesUpAfterMaxRetriesWithServerText) {
  json steps = json::array();
  for (int i = 0; i < 4; ++i) steps.push_back({{"status", 503}, {"error", "overloaded"}});
  HttpLlmClient client = Client(steps);
  try {
    client.Complete("gemm", messages_, 1);
    FAIL() << "expected LlmError";
  } catch (const LlmError& e) {
    EXPECT_FALSE(e.permanent());
    EXPECT_THAT(e.what(), HasSubstr("503"));
    EXPECT_THAT(e.what(), HasSubstr("overloaded"));
    EXPECT_THAT(e.what(), HasSubstr("4 tries"));
  }
  EXPECT_EQ(endpoint_->requests().size(), 4u);
}

TEST_F(LlmClientTest, ClientErrorsArePermanentWithServerMessageAndNoRetry) {
  for (int status : {400, 401, 403, 404}) {
    HttpLlmClient client = Client(json::array(
        {{{"status", status}, {"error", "Incorrect API key provided: sk-test-SECRET"}}}));
    try {
      client.Complete("gemm", messages_, 1);
      FAIL() << "expected LlmError for " << status;
    } catch (const LlmError& e) {
      EXPECT_TRUE(e.permanent());
      EXPECT_THAT(e.what(), HasSubstr(std::to_string(status)));
      EXPECT_THAT(e.what(), HasSubstr("Incorrect API key provided"));
      EXPECT_THAT(e.what(), Not(HasSubstr("SECRET")));
    }
    EXPECT_EQ(endpoint_->requests().size(), 1u);
    EXPECT_TRUE(sleeps_.empty());
    endpoint_->Stop();
  }
}

TEST_F(LlmClientTest, SlowReplyTimesOutAndIsRetried) {
  HttpLlmClient client =
      Client(json::array({{{"delay_ms", 3000}, {"content", "late"}}, {{"content", "on time"}}}));
  auto start = std::chrono::steady_clock::now();
  LlmResponse r = client.Complete("gemm", messages_, 1);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_THAT(r.replies, ::testing::ElementsAre("on time"));
  EXPECT_LT(seconds, 2.9);  // the 1 s total timeout cut the slow reply short
  EXPECT_EQ(sleeps_.size(), 1u);
}

// A stop request abandons the request in flight at once: no retry, an error that says why.
TEST(LlmClientCancelTest, StopRequestAbandonsTheRequestInFlightAtOnce) {
  FakeEndpoint endpoint(json::array({{{"delay_ms", 20000}, {"content", "late"}}}));
  endpoint.Start();
  std::atomic<bool> stop{false};
  LlmSettings s;
  s.base_url = endpoint.base_url();
  s.api_key_env = "";
  s.total_timeout_seconds = 60;
  s.max_retries = 3;
  s.cancelled = [&] { return stop.load(); };
  int sleeps = 0;
  HttpLlmClient client(s, [&](double) {
    ++sleeps;
    return true;
  });
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  auto start = std::chrono::steady_clock::now();
  try {
    client.Complete("gemm", {{"user", "optimise"}}, 1);
    FAIL() << "expected LlmError";
  } catch (const LlmError& e) {
    EXPECT_TRUE(e.cancelled());
    EXPECT_FALSE(e.permanent());
    EXPECT_THAT(e.what(), HasSubstr("stop requested"));
  }
  stopper.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.5);
  EXPECT_EQ(sleeps, 0);  // not retried
  EXPECT_EQ(endpoint.requests().size(), 1u);
  endpoint.Stop();
}

// A stop during the wait before a retry says so, with the fault that caused the retry.
TEST_F(LlmClientTest, StopDuringRetryWaitSaysSoWithTheFault) {
  HttpLlmClient client = Client(json::array({{{"status", 503}, {"error", "overloaded"}}}));
  HttpLlmClient stopped = HttpLlmClient(
      [&] {
        LlmSettings s;
        s.base_url = endpoint_->base_url();
        s.api_key_env = "";
        s.max_retries = 3;
        return s;
      }(),
      [](double) { return false; });  // the stop request cuts every wait short
  try {
    stopped.Complete("gemm", messages_, 1);
    FAIL() << "expected LlmError";
  } catch (const LlmError& e) {
    EXPECT_TRUE(e.cancelled());
    EXPECT_THAT(e.what(), HasSubstr("stop requested while waiting to retry"));
    EXPECT_THAT(e.what(), HasSubstr("503"));
    EXPECT_THAT(e.what(), HasSubstr("overloaded"));
  }
}

TEST_F(LlmClientTest, OversizedReplyIsAbortedAtTheCap) {
  HttpLlmClient client = Client(json::array({{{"fault", "oversized"}, {"bytes", 4 << 20}},
                                             {{"fault", "oversized"}, {"bytes", 4 << 20}},
                                             {{"fault", "oversized"}, {"bytes", 4 << 20}},
                                             {{"fault", "oversized"}, {"bytes", 4 << 20}}}));
  try {
    client.Complete("gemm", messages_, 1);
    FAIL() << "expected LlmError";
  } catch (const LlmError& e) {
    EXPECT_THAT(e.what(), HasSubstr("byte cap"));
  }
}

TEST_F(LlmClientTest, WrongContentTypeAndEmptyChoicesAreClearErrors) {
  HttpLlmClient client = Client(json::array({{{"fault", "wrong_content_type"}},
                                             {{"fault", "empty_choices"}},
                                             {{"fault", "empty_choices"}},
                                             {{"fault", "wrong_content_type"}}}));
  try {
    client.Complete("gemm", messages_, 1);
    FAIL() << "expected LlmError";
  } catch (const LlmError& e) {
    EXPECT_THAT(e.what(), HasSubstr("expected JSON"));
    EXPECT_THAT(e.what(), HasSubstr("text/html"));
  }
  EXPECT_EQ(endpoint_->requests().size(), 4u);
}

TEST_F(LlmClientTest, UnreachableEndpointIsANetworkError) {
  LlmSettings s;
  s.base_url = "http://127.0.0.1:1/v1";  // nothing listens on port 1
  s.max_retries = 1;
  int sleeps = 0;
  HttpLlmClient client(s, [&](double) {
    ++sleeps;
    return true;
  });
  try {
    client.Complete("gemm", messages_, 1);
    FAIL() << "expected LlmError";
  } catch (const LlmError& e) {
    EXPECT_FALSE(e.permanent());
    EXPECT_THAT(e.what(), HasSubstr("127.0.0.1:1"));
  }
  EXPECT_EQ(sleeps, 1);
}

TEST(LlmSourceTest, UnknownSpecIsAClearError) {
  EXPECT_THROW(MakeLlmSource("bogus:thing", LlmSettings{}), std::invalid_argument);
}

TEST(ReplayTest, FolderRepliesInNameOrderPerTargetThenExhausted) {
  auto dir = std::filesystem::temp_directory_path() / ("rlvr_replay_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "gemm");
  auto write = [](const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p) << text;
  };
  write(dir / "gemm" / "02.txt", "gemm second");
  write(dir / "gemm" / "01.txt", "gemm first");
  write(dir / "a.txt", "shared");
  auto source = MakeLlmSource("replay:" + dir.string(), LlmSettings{});
  EXPECT_THAT(source->Complete("gemm", {}, 1).replies, ::testing::ElementsAre("gemm first"));
  EXPECT_THAT(source->Complete("gemm", {}, 3).replies, ::testing::ElementsAre("gemm second"));
  EXPECT_THAT(source->Complete("softmax", {}, 1).replies, ::testing::ElementsAre("shared"));
  try {
    source->Complete("gemm", {}, 1);
    FAIL() << "expected exhaustion";
  } catch (const LlmError& e) {
    EXPECT_TRUE(e.permanent());
    EXPECT_THAT(e.what(), HasSubstr("no more replies"));
  }
  std::filesystem::remove_all(dir);
}

TEST(ReplayTest, MissingPathIsAClearError) {
  EXPECT_THROW(MakeLlmSource("replay:/nonexistent/rlvr/replies", LlmSettings{}), LlmError);
}

}  // namespace
}  // namespace rlvr
