// The prompt: instructions, files, figures and history are there; the size bound drops the
// oldest history first, then context files, and never the editable file; a repair turn keeps the
// whole conversation within that bound.
#include "harness/loop/prompt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/loop/repair.h"

namespace rlvr {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

AttemptRecord History(int round, const std::string& verdict, const std::string& gate,
                      const std::string& message) {
  AttemptRecord a;
  a.target = "gemm";
  a.round = round;
  a.candidate = 1;
  a.verdict = verdict;
  if (!gate.empty()) a.failed_gate = gate;
  a.message = message;
  a.gates_json = json::array({{{"name", gate.empty() ? "benchmark" : gate},
                               {"status", gate.empty() ? "pass" : "fail"},
                               {"seconds", 1},
                               {"message", "detail-" + std::to_string(round)}}})
                     .dump();
  if (gate.empty()) a.primary_ratio = 0.8;
  return a;
}

PromptInput Input() {
  PromptInput in;
  in.target = "gemm";
  in.description = "Cache-blocked GEMM";
  in.editable = {{"kernels/gemm.cpp", "void Gemm() { /* EDITABLE-BODY */ }\n"}};
  in.context = {{"kernels/gemm.h", "// CONTEXT-ONE\n" + std::string(2000, 'a') + "\n"},
                {"kernels/reference/gemm_ref.cpp", "// CONTEXT-TWO\n" + std::string(2000, 'b')}};
  in.primary = {"BM_Gemm/1024"};
  in.baseline = json::parse(R"({
    "version": 1, "target": "gemm", "commit": "0123456789abcdef", "metric": "real_time",
    "cpu": "Zen 5", "benchmarks": {"BM_Gemm/1024": {"median_ns": 1.5e7, "counters": {"GFLOPS": 143}}},
    "references": {"BM_OpenBlasSgemm/1024": {"median_ns": 5.0e6, "counters": {"GFLOPS": 430}}}
  })");
  for (int round = 10; round >= 1; --round) {
    in.history.push_back(round % 2 ? History(round, "failed", "build", "error: 'foo' undeclared")
                                   : History(round, "promoted", "", "faster"));
  }
  return in;
}

TEST(PromptTest, CarriesInstructionsFilesFiguresAndHistory) {
  auto messages = BuildPrompt(Input());
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].role, "system");
  EXPECT_THAT(messages[0].content, HasSubstr("kernels/gemm.cpp"));
  EXPECT_THAT(messages[0].content, HasSubstr("<<<<<<< SEARCH"));
  EXPECT_THAT(messages[0].content, HasSubstr("unified diff"));
  const std::string& user = messages[1].content;
  EXPECT_THAT(user, HasSubstr("EDITABLE-BODY"));
  EXPECT_THAT(user, HasSubstr("CONTEXT-ONE"));
  EXPECT_THAT(user, HasSubstr("CONTEXT-TWO"));
  EXPECT_THAT(user, HasSubstr("BM_Gemm/1024  15.000 ms  GFLOPS=143  (primary)"));
  EXPECT_THAT(user, HasSubstr("BM_OpenBlasSgemm/1024  5.000 ms  GFLOPS=430"));
  EXPECT_THAT(user, HasSubstr("round 9.1 failed at build: error: 'foo' undeclared: detail-9"));
  EXPECT_THAT(user, HasSubstr("round 10.1 promoted (primary ratio 0.800)"));
}

// Nothing about our own kernels is assumed: language, gates and formatting come from the input.
TEST(PromptTest, DescribesTheRepositoryItIsGiven) {
  EXPECT_EQ(LanguageOf({"c_kernels/adler.c", "c_kernels/adler.h"}), "C");
  EXPECT_EQ(LanguageOf({"include/vsum.h"}), "C++");
  EXPECT_EQ(LanguageOf({"kernels/gemm.cpp"}), "C++");
  PromptInput in = Input();
  in.language = "C";
  in.editable = {{"c_kernels/adler.c", "uint32_t Adler32(void) { return 1; }\n"}};
  in.checks = {"tests: the target's tests pass", "history: outputs depend only on inputs"};
  in.formatting = "the repository has no .clang-format: keep the file's existing style";
  auto messages = BuildPrompt(in);
  const std::string& system = messages[0].content;
  EXPECT_THAT(system, HasSubstr("a C kernel"));
  EXPECT_THAT(system, Not(HasSubstr("C++20")));
  EXPECT_THAT(system, Not(HasSubstr("AVX-512")));
  EXPECT_THAT(system, Not(HasSubstr("Google style")));
  EXPECT_THAT(system, HasSubstr("  - history: outputs depend only on inputs\n"));
  EXPECT_THAT(system, HasSubstr("no .clang-format: keep the file's existing style"));
  EXPECT_THAT(messages[1].content, HasSubstr("--- c_kernels/adler.c ---\n```c\n"));
  EXPECT_THAT(messages[1].content, HasSubstr("--- kernels/gemm.h ---\n```c\n"));
  // No naming rule given: none is stated.
  EXPECT_THAT(system, Not(HasSubstr("- Names:")));
  in.naming = NamingRule("C", "rlvr", "ck_");
  EXPECT_THAT(BuildPrompt(in)[0].content,
              HasSubstr("- Names: make new helper functions and variables `static`; a new global "
                        "symbol must be named starting with ck_\n"));
}

TEST(PromptTest, NamingRuleFollowsTheSymbolRulesAndLanguage) {
  EXPECT_EQ(NamingRule("C++", "rlvr", ""),
            "put new helpers in an anonymous namespace or make them `static`; a new global symbol "
            "must be named inside namespace rlvr");
  EXPECT_EQ(NamingRule("C", "rlvr", ""),
            "make new helper functions and variables `static`; no new global symbols");
  EXPECT_EQ(NamingRule("C++", "xxh", "XXH_"),
            "put new helpers in an anonymous namespace or make them `static`; a new global symbol "
            "must be named inside namespace xxh or starting with XXH_");
}

TEST(PromptTest, BoundDropsOldestHistoryFirst) {
  PromptInput in = Input();
  size_t full = FlattenConversation(BuildPrompt(in)).size();
  // Room for the files but only part of the history.
  in.max_chars = full - 200;
  std::string user = BuildPrompt(in)[1].content;
  EXPECT_THAT(user, HasSubstr("round 10.1"));       // newest kept
  EXPECT_THAT(user, Not(HasSubstr("round 1.1 ")));  // oldest dropped
  EXPECT_THAT(user, HasSubstr("older attempts omitted"));
  EXPECT_THAT(user, HasSubstr("CONTEXT-TWO"));  // context untouched while history can give
}

TEST(PromptTest, BoundThenDropsContextButNeverTheEditableFile) {
  PromptInput in = Input();
  in.editable[0].content += std::string(10000, 'e');
  in.max_chars = 3000;  // smaller than the editable file alone
  auto messages = BuildPrompt(in);
  const std::string& user = messages[1].content;
  EXPECT_THAT(user, HasSubstr("EDITABLE-BODY"));
  EXPECT_THAT(user, HasSubstr(std::string(10000, 'e')));
  EXPECT_THAT(user, Not(HasSubstr("CONTEXT-ONE")));
  EXPECT_THAT(user, Not(HasSubstr("round 10.1")));
  EXPECT_THAT(user, HasSubstr("omitted for size: kernels/gemm.h kernels/reference/gemm_ref.cpp"));
}

TEST(PromptTest, MiddleBoundKeepsFirstContextFile) {
  PromptInput in = Input();
  in.history.clear();
  size_t full = FlattenConversation(BuildPrompt(in)).size();
  in.max_chars = full - 1500;  // the second context file (~2 kB) must go, the first fits
  std::string user = BuildPrompt(in)[1].content;
  EXPECT_THAT(user, HasSubstr("CONTEXT-ONE"));
  EXPECT_THAT(user, Not(HasSubstr("CONTEXT-TWO")));
}

TEST(PromptTest, HistoryShowsTheFailingGatesDetail) {
  AttemptRecord a = History(4, "failed", "build", "build failed");
  json gates = json::parse(a.gates_json);
  gates[0]["detail"] = "dot.cpp:7:3: error: 'acc' was not declared in this scope";
  a.gates_json = gates.dump();
  EXPECT_THAT(SummarizeAttempt(a), HasSubstr("'acc' was not declared"));
  EXPECT_LE(SummarizeAttempt(a, 20).size(), 80u);  // excerpt bounded
}

TEST(PromptTest, NoBaselineSaysSo) {
  EXPECT_THAT(FormatBaselineFigures(json(), {}), HasSubstr("no baseline"));
}

TEST(PromptTest, RepairRequestCarriesTheErrorTruncated) {
  std::string r = RepairRequest("build", "error: expected ';'\n" + std::string(100, 'z'), 50);
  EXPECT_THAT(r, HasSubstr("'build' gate"));
  EXPECT_THAT(r, HasSubstr("error: expected ';'"));
  EXPECT_THAT(r, HasSubstr("[... truncated]"));
  EXPECT_THAT(r, Not(HasSubstr(std::string(100, 'z'))));
}

size_t ConversationChars(const std::vector<ChatMessage>& conversation) {
  size_t chars = 0;
  for (const ChatMessage& m : conversation) chars += m.content.size();
  return chars;
}

// A 3 MB reply used to go back whole in its repair turn, past --prompt-chars (the endpoint's
// context limit then ended the loop): the quoted reply and the failure text are cut, in the middle
// of a character never, with markers saying how much.
TEST(PromptTest, RepairTurnKeepsTheConversationWithinThePromptBound) {
  std::vector<ChatMessage> conversation = {{"system", std::string(2000, 's')},
                                           {"user", std::string(8000, 'u')}};
  std::string reply;
  while (reply.size() < 3u << 20) reply += "caf\u00e9 \u00e9t\u00e9 no patch here\n";
  Verdict verdict;
  verdict.failed_gate = "apply";
  verdict.message = "apply gate failed: patch does not apply";
  verdict.gates.push_back({"apply", GateStatus::kFail, 0, "patch does not apply",
                           "no patch found\n" + std::string(100000, 'd')});
  AddRepairTurn(conversation, reply, verdict, 40000);
  ASSERT_EQ(conversation.size(), 4u);
  EXPECT_LE(ConversationChars(conversation), 40000u);
  EXPECT_THAT(
      conversation[2].content,
      ::testing::ContainsRegex("\\[\\.\\.\\. cut [0-9]+ of " + std::to_string(reply.size()) +
                               " bytes of your reply \\.\\.\\.\\]"));
  EXPECT_THAT(conversation[2].content, ::testing::StartsWith("caf\u00e9 "));
  EXPECT_THAT(conversation[3].content, HasSubstr("bytes of the failure text ...]"));
  EXPECT_THAT(conversation[3].content, HasSubstr("no patch found"));
  EXPECT_NO_THROW(json(conversation[2].content).dump());  // still valid UTF-8

  // A reply that fits goes back whole, with the whole failure text.
  std::vector<ChatMessage> small = {{"system", "s"}, {"user", "u"}};
  verdict.gates.back().detail = "no patch found";
  AddRepairTurn(small, "short reply", verdict, 40000);
  EXPECT_EQ(small[2].content, "short reply");
  EXPECT_THAT(small[3].content, Not(HasSubstr("cut")));
}

}  // namespace
}  // namespace rlvr
