// The simulated model of the loop bench: it serves only proposals that apply to the files the
// prompt shows (a stacked proposal only once its parent's edit shows), draws by class weight and
// quality, repeats itself only as repeat_rate says while fresh proposals remain, and honours the
// usage and latency settings. Prompts are built by the loop's own BuildPrompt.
#include "harness/llm/simulated.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "harness/loop/prompt.h"
#include "harness/patch/apply.h"

namespace rlvr {
namespace {

const std::string kBase =
    "int Sum(const int* x, int n) {\n"
    "  int s = 0;\n"
    "  for (int i = 0; i < n; ++i) s += x[i];\n"
    "  return s;\n"
    "}\n";
// kBase after "unroll": what the stacked proposal applies to.
const std::string kUnrolled =
    "int Sum(const int* x, int n) {\n"
    "  int s = 0;\n"
    "  for (int i = 0; i < n; ++i) s += x[i];  // unrolled\n"
    "  return s;\n"
    "}\n";

std::string Diff(const std::string& old_line, const std::string& new_line) {
  return "Change it:\n\n```diff\n--- a/k.cpp\n+++ b/k.cpp\n@@ -1,3 +1,3 @@\n"
         " int Sum(const int* x, int n) {\n" +
         (old_line == "  int s = 0;" ? "-" + old_line + "\n+" + new_line + "\n"
                                     : "   int s = 0;\n-" + old_line + "\n+" + new_line + "\n") +
         "```\n";
}

Proposal Make(std::string name, std::string label, std::string parent, std::string reply) {
  return {"sum", std::move(name), std::move(label), std::move(parent), "", std::move(reply)};
}

// unroll (faster, base) -> stacked (faster, parent unroll); rename (neutral); bug (wrong);
// stale (a faster claim whose context is not in the file); garbled (malformed).
std::vector<Proposal> Library() {
  const std::string loop = "  for (int i = 0; i < n; ++i) s += x[i];";
  return {
      Make("unroll", "faster", "base", Diff(loop, loop + "  // unrolled")),
      Make("stacked", "faster", "unroll",
           Diff(loop + "  // unrolled", loop + "  // unrolled twice")),
      Make("rename", "neutral", "base",
           Diff("  int s = 0;", "  int total_s = 0; int& s = total_s;")),
      Make("bug", "wrong", "base", Diff(loop, "  for (int i = 1; i < n; ++i) s += x[i];")),
      Make("stale", "faster", "base", Diff("  long s = 0;", "  long long s = 0;")),
      Make("garbled", "malformed", "base", "I would vectorise it.\n\n```diff\n--- a/k.cpp\n"),
  };
}

std::vector<ChatMessage> PromptShowing(const std::string& content) {
  PromptInput in;
  in.target = "sum";
  in.description = "sum of integers";
  in.editable = {{"k.cpp", content}};
  in.context = {{"k.h", "int Sum(const int* x, int n);\n"}};
  in.primary = {"BM_Sum"};
  return BuildPrompt(in);
}

// A throw-away folder, removed with its contents.
struct TempFolder {
  std::filesystem::path path;
  TempFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "rlvr-sim-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path = pattern;
  }
  ~TempFolder() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

std::string NameOf(const SimulatedModel& model, const std::string& reply) {
  const Proposal* p = model.ProposalOfReply(reply);
  return p ? p->name : "(none)";
}

TEST(SimulatedModel, ReadsTheFilesThePromptShows) {
  std::map<std::string, std::string> files = FilesShownInPrompt(PromptShowing(kBase));
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files["k.cpp"], kBase);
  EXPECT_EQ(files["k.h"], "int Sum(const int* x, int n);\n");
}

TEST(SimulatedModel, ServesOnlyProposalsThatApplyToTheShownFiles) {
  SimulatedModel model(Library(), {.repeat_rate = 0.3, .seed = 7});
  std::set<std::string> served;
  for (int request = 0; request < 40; ++request) {
    LlmResponse response = model.Complete("sum", PromptShowing(kBase), 2);
    ASSERT_EQ(response.replies.size(), 2u);
    for (const std::string& reply : response.replies) served.insert(NameOf(model, reply));
  }
  EXPECT_EQ(served, (std::set<std::string>{"unroll", "rename", "bug", "garbled"}));
  EXPECT_EQ(model.requests(), 40);
}

TEST(SimulatedModel, ServesAStackedProposalOnlyOnceItsParentShows) {
  SimulatedModel model(Library(), {.seed = 3});
  std::set<std::string> served;
  for (int request = 0; request < 20; ++request) {
    for (const std::string& reply : model.Complete("sum", PromptShowing(kUnrolled), 1).replies) {
      served.insert(NameOf(model, reply));
    }
  }
  // unroll and bug no longer apply (their removed line changed); rename still does.
  EXPECT_EQ(served, (std::set<std::string>{"stacked", "rename", "garbled"}));
}

TEST(SimulatedModel, NeverRepeatsWhileFreshProposalsRemainAtRepeatRateZero) {
  SimulatedModel model(Library(), {.repeat_rate = 0, .seed = 11});
  // Four proposals apply to kBase: two requests of two replies serve each once.
  std::set<std::string> served;
  for (int request = 0; request < 2; ++request) {
    for (const std::string& reply : model.Complete("sum", PromptShowing(kBase), 2).replies) {
      EXPECT_TRUE(served.insert(NameOf(model, reply)).second)
          << "repeated " << NameOf(model, reply);
    }
  }
  EXPECT_EQ(served.size(), 4u);
  // Exhausted: it repeats rather than go quiet.
  const std::string again = model.Complete("sum", PromptShowing(kBase), 1).replies.at(0);
  EXPECT_TRUE(served.count(NameOf(model, again)));
  // Other files are a fresh start: what was served for kBase does not count there.
  const std::string other = model.Complete("sum", PromptShowing(kUnrolled), 1).replies.at(0);
  EXPECT_NE(model.ProposalOfReply(other), nullptr);
}

TEST(SimulatedModel, RepeatRateOneRepeatsOnceSomethingWasServed) {
  SimulatedModel model(Library(), {.repeat_rate = 1, .seed = 5});
  LlmResponse response = model.Complete("sum", PromptShowing(kBase), 4);
  for (const std::string& reply : response.replies) EXPECT_EQ(reply, response.replies[0]);
}

// The share of 'faster' among first replies over many seeds: unroll is one of four classes.
double FasterShare(double quality) {
  int faster = 0;
  const int kSeeds = 400;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SimulatedModel model(Library(), {.quality = quality, .seed = static_cast<uint64_t>(seed)});
    const Proposal* p =
        model.ProposalOfReply(model.Complete("sum", PromptShowing(kBase), 1).replies[0]);
    faster += p && p->label == "faster";
  }
  return static_cast<double>(faster) / kSeeds;
}

TEST(SimulatedModel, QualityShiftsTheShareOfFasterProposals) {
  const double plain = FasterShare(1), good = FasterShare(9), useless = FasterShare(0);
  // Expected 1/4, 9/12 and 0.
  EXPECT_NEAR(plain, 0.25, 0.08);
  EXPECT_NEAR(good, 0.75, 0.08);
  EXPECT_EQ(useless, 0);
}

TEST(SimulatedModel, ClassWeightsChooseTheClasses) {
  SimulatedModel model(Library(), {.class_weights = {{"wrong", 1}}, .repeat_rate = 0.5});
  for (int request = 0; request < 5; ++request) {
    EXPECT_EQ(NameOf(model, model.Complete("sum", PromptShowing(kBase), 1).replies[0]), "bug");
  }
}

TEST(SimulatedModel, TheSameSeedServesTheSameReplies) {
  SimulatedModel a(Library(), {.repeat_rate = 0.4, .seed = 42});
  SimulatedModel b(Library(), {.repeat_rate = 0.4, .seed = 42});
  for (int request = 0; request < 10; ++request) {
    const std::string& content = request % 3 ? kBase : kUnrolled;
    EXPECT_EQ(a.Complete("sum", PromptShowing(content), 2).replies,
              b.Complete("sum", PromptShowing(content), 2).replies);
  }
}

TEST(SimulatedModel, NothingToServeGivesTheNoIdeaReply) {
  SimulatedModel empty({}, {});
  LlmResponse response = empty.Complete("sum", PromptShowing(kBase), 2);
  ASSERT_EQ(response.replies.size(), 2u);
  EXPECT_EQ(response.replies[0], kSimulatedNoIdeaReply);
  EXPECT_EQ(empty.ProposalOfReply(response.replies[0]), nullptr);
  // An unknown target, and a class weighted out, go the same way.
  SimulatedModel model(Library(), {.class_weights = {{"cheat", 1}}});
  EXPECT_EQ(model.Complete("other", PromptShowing(kBase), 1).replies[0], kSimulatedNoIdeaReply);
  EXPECT_EQ(model.Complete("sum", PromptShowing(kBase), 1).replies[0], kSimulatedNoIdeaReply);
}

TEST(SimulatedModel, UsageSettingsAreHonoured) {
  SimulatedModel fixed(
      Library(),
      {.name = "cheap", .prompt_tokens = 1000, .completion_tokens = 250, .report_usage = false});
  LlmResponse response = fixed.Complete("sum", PromptShowing(kBase), 3);
  EXPECT_EQ(response.prompt_tokens, 1000);
  EXPECT_EQ(response.completion_tokens, 750);
  EXPECT_TRUE(response.usage_estimated);
  EXPECT_EQ(response.cached_prompt_tokens, 0);
  EXPECT_EQ(fixed.model(), "cheap");
  EXPECT_EQ(fixed.endpoint(), "simulated:cheap");

  SimulatedModel counted(Library(), {});
  std::vector<ChatMessage> prompt = PromptShowing(kBase);
  response = counted.Complete("sum", prompt, 1);
  size_t chars = 0;
  for (const ChatMessage& m : prompt) chars += m.content.size();
  EXPECT_EQ(response.prompt_tokens, static_cast<int64_t>(chars / 4));
  EXPECT_EQ(response.completion_tokens, static_cast<int64_t>(response.replies[0].size() / 4));
  EXPECT_FALSE(response.usage_estimated);
}

TEST(SimulatedModel, LatencyIsSleptPerRequest) {
  SimulatedModel model(Library(), {.latency_seconds = 0.05});
  const auto start = std::chrono::steady_clock::now();
  model.Complete("sum", PromptShowing(kBase), 2);
  model.Complete("sum", PromptShowing(kBase), 2);
  // A lower bound only: sleeping can take longer, never less.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string ReadSource(const std::string& path) {
  return ReadText(std::filesystem::path(RLVR_SOURCE_DIR) / path);
}

std::vector<ChatMessage> SoftmaxPrompt(const std::string& content) {
  PromptInput in;
  in.target = "softmax";
  in.editable = {{"kernels/softmax.cpp", content}};
  return BuildPrompt(in);
}

TEST(SimulatedModel, ServesTheShippedSoftmaxLibraryAndStacksItsProposals) {
  std::vector<Proposal> library =
      LoadProposalLibrary(std::filesystem::path(RLVR_SOURCE_DIR) / "tests/fixtures/proposals");
  SimulatedModel model(library, {.seed = 2});
  const std::string head = ReadSource("kernels/softmax.cpp");
  std::vector<std::string> replies = model.Complete("softmax", SoftmaxPrompt(head), 40).replies;
  std::set<std::string> first_twelve, served;
  for (size_t i = 0; i < replies.size(); ++i) {
    const Proposal* p = model.ProposalOfReply(replies[i]);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->target, "softmax");
    if (i < 12) first_twelve.insert(p->name);
    served.insert(p->name);
  }
  EXPECT_EQ(first_twelve.size(), 12u);  // no repeats while fresh ones remain
  EXPECT_TRUE(served.count("max_lanes"));
  EXPECT_FALSE(served.count("fuse_after_max_lanes"));  // its parent's edit is not shown yet
  // Only the editable file is shown: the cheats that edit the test or the reference do not apply.
  EXPECT_FALSE(served.count("edits_test"));

  // Once max_lanes is promoted, the proposal stacked on it is served, and max_lanes is not.
  TempFolder tree;
  std::filesystem::create_directories(tree.path / "kernels");
  std::ofstream(tree.path / "kernels/softmax.cpp", std::ios::binary) << head;
  const Proposal* max_lanes = nullptr;
  for (const Proposal& p : library) {
    if (p.target == "softmax" && p.name == "max_lanes") max_lanes = &p;
  }
  ASSERT_NE(max_lanes, nullptr);
  ASSERT_TRUE(ApplyReply(tree.path, max_lanes->reply, ApplyOptions{}).applied);
  served.clear();
  for (const std::string& reply :
       model.Complete("softmax", SoftmaxPrompt(ReadText(tree.path / "kernels/softmax.cpp")), 40)
           .replies) {
    served.insert(model.ProposalOfReply(reply)->name);
  }
  EXPECT_TRUE(served.count("fuse_after_max_lanes"));
  EXPECT_FALSE(served.count("max_lanes"));
}

}  // namespace
}  // namespace rlvr
