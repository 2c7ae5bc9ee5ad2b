// Red-team suite: adversarial candidates against this repository's own kernels
// (tests/fixtures/redteam/, listed in its manifest.json), each judged by the real Evaluator on a
// throw-away copy of the repository. Every attack must be stopped by the gate the manifest names,
// with a message saying why; the honest candidates must stay promotable. Evaluation never moves
// the branch or touches the working tree, and the API key of the harness's own environment
// appears in no verdict.
//
// Expensive (it builds the kernels, their tests and benchmarks for HEAD and candidate): ctest runs
// it as one process, see tests/CMakeLists.txt. To keep CI cost down each candidate runs only the
// gates it needs: sanitizers only for a candidate expected to fail there (the sanitizer build of
// this repository is the costliest step; EvaluateIntegrationTest covers that gate), the benchmark
// (few rounds) only for candidates expected to fail there or be promoted.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/config.h"
#include "harness/verify/evaluate.h"
#include "tests/harness/fixture_repo.h"
#include "tests/harness/source_repo.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kRedTeamDir = fs::path(RLVR_FIXTURES_DIR) / "redteam";

// One entry of manifest.json.
struct RedTeamCase {
  std::string file;               // candidate reply, relative to kRedTeamDir
  std::string target;             // rlvr.json target it is evaluated for
  std::string attack_class;       // manifest "class"
  std::string expected_gate;      // first gate that must stop it, or "promoted"
  std::string expect_in_message;  // substring of that gate's message or detail
  std::string why;
};

// For test names: the file without ".txt".
std::string CaseName(const RedTeamCase& c) {
  std::string name = fs::path(c.file).stem().string();
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

void PrintTo(const RedTeamCase& c, std::ostream* out) {
  *out << c.file << " (" << c.target << ")";
}

std::vector<RedTeamCase> LoadManifest() {
  std::ifstream in(kRedTeamDir / "manifest.json");
  if (!in) return {};
  nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  std::vector<RedTeamCase> cases;
  if (!json.is_array()) return cases;
  for (const auto& entry : json) {
    if (!entry.is_object()) continue;
    cases.push_back({entry.value("file", ""), entry.value("target", ""), entry.value("class", ""),
                     entry.value("expected_gate", ""), entry.value("expect_in_message", ""),
                     entry.value("why", "")});
  }
  return cases;
}

std::string ReadRedTeamFile(const std::string& name) {
  std::ifstream in(kRedTeamDir / name, std::ios::binary);
  if (!in) throw std::runtime_error("no red-team candidate " + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int GateIndex(const std::string& name) {
  int i = 0;
  for (const char* gate : kGateOrder) {
    if (name == gate) return i;
    ++i;
  }
  return -1;
}

// The gates a candidate needs: sanitizers only when it is expected to fail there, the benchmark
// only when it is expected to fail there or be promoted. An attack expected at the benchmark fails
// its output verification in any round, so a few rounds do; a promotion needs a significant
// speed-up, which few rounds rarely show on a loaded machine (a real -20% failed at 12 rounds with
// p = 0.017), so honest candidates get the gate's own default (0 = the runner's, decided early
// when the effect is clear).
struct GateNeeds {
  bool sanitizers;
  bool benchmark;
  int bench_rounds;
  bool operator<(const GateNeeds& o) const {
    return std::tie(sanitizers, benchmark, bench_rounds) <
           std::tie(o.sanitizers, o.benchmark, o.bench_rounds);
  }
};

GateNeeds NeedsOf(const RedTeamCase& c) {
  const bool promoted = c.expected_gate == "promoted";
  // The sanitizer build of this whole repository costs ~10 minutes on 2 cores; the sanitizers
  // gate is covered by EvaluateIntegrationTest on the fixture repository, so here it runs only
  // for candidates expected to fail there (the others' verdicts say it was skipped).
  return {c.expected_gate == "sanitizers", promoted || c.expected_gate == "benchmark",
          promoted ? 0 : 6};
}

class RedTeam : public ::testing::TestWithParam<RedTeamCase> {
 protected:
  static void SetUpTestSuite() {
    suite_start_ = std::chrono::steady_clock::now();
    // The key of the harness's own environment: no candidate may get it into a verdict.
    const char* previous = std::getenv("OPENAI_API_KEY");
    previous_key_ = previous ? std::optional<std::string>(previous) : std::nullopt;
    std::random_device random;
    secret_ = "sk-redteam-" + std::to_string(random()) + std::to_string(random());
    setenv("OPENAI_API_KEY", secret_.c_str(), 1);
    // A file outside the repository that a candidate may try to read through the compiler
    // (macro_include.txt names it): no byte of it may reach a verdict.
    outside_canary_ = "rlvr-outside-canary-" + std::to_string(random());
    std::ofstream(kOutsideFile) << "root:x:0:0 " << outside_canary_ << " secret line\n";
    repo_ = new FixtureRepo(MakeSourceRepo());
    // The three stage processes each build their own copy; with ccache's paths taken relative to
    // the copy, a later stage finds the objects an earlier one compiled (ctest orders them).
    const char* base_dir = std::getenv("CCACHE_BASEDIR");
    previous_ccache_base_dir_ = base_dir ? std::optional<std::string>(base_dir) : std::nullopt;
    setenv("CCACHE_BASEDIR", repo_->path().c_str(), 1);
    project_ = new Project(LoadProject(repo_->path()));
  }

  static void TearDownTestSuite() {
    evaluators_.clear();
    delete project_;
    project_ = nullptr;
    const fs::path copy = repo_->path();
    delete repo_;
    repo_ = nullptr;
    // Builds leave hundreds of MB; a removal that raced with a process still finishing is retried.
    for (int attempt = 0; attempt < 5 && fs::exists(copy); ++attempt) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      std::error_code ignored;
      fs::remove_all(copy, ignored);
    }
    if (fs::exists(copy)) std::fprintf(stderr, "[redteam] could not remove %s\n", copy.c_str());
    fs::remove(kOutsideFile);
    if (previous_ccache_base_dir_) {
      setenv("CCACHE_BASEDIR", previous_ccache_base_dir_->c_str(), 1);
    } else {
      unsetenv("CCACHE_BASEDIR");
    }
    if (previous_key_) {
      setenv("OPENAI_API_KEY", previous_key_->c_str(), 1);
    } else {
      unsetenv("OPENAI_API_KEY");
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - suite_start_).count();
    std::fprintf(stderr, "[redteam] suite took %.0f s\n", seconds);
  }

  // Evaluators share the copy's .rlvr/ (its worktrees and warm build directories); one per set of
  // gate options, made when first needed.
  static Evaluator& EvaluatorFor(GateNeeds needs) {
    auto& slot = evaluators_[needs];
    if (!slot) {
      EvaluateOptions options;
      options.sanitizers = needs.sanitizers;
      options.benchmark = needs.benchmark;
      options.bench_rounds = needs.bench_rounds;
      options.suspicious_extra_seeds = 1;
      options.test_timeout_seconds = 120;
      // slow_constexpr.txt is stopped at the compile-time floor: 20 s here instead of 60.
      options.compile_time_floor_seconds = 20;
      options.verbose = true;
      slot = std::make_unique<Evaluator>(*project_, options);
    }
    return *slot;
  }

  static FixtureRepo* repo_;
  static Project* project_;
  static std::map<GateNeeds, std::unique_ptr<Evaluator>> evaluators_;
  static std::string secret_;
  static std::string outside_canary_;
  static constexpr const char* kOutsideFile = "/tmp/rlvr-redteam-outside.txt";
  static std::optional<std::string> previous_key_;
  static std::optional<std::string> previous_ccache_base_dir_;
  static std::chrono::steady_clock::time_point suite_start_;
};

FixtureRepo* RedTeam::repo_ = nullptr;
Project* RedTeam::project_ = nullptr;
std::map<GateNeeds, std::unique_ptr<Evaluator>> RedTeam::evaluators_;
std::string RedTeam::secret_;
std::string RedTeam::outside_canary_;
std::optional<std::string> RedTeam::previous_key_;
std::optional<std::string> RedTeam::previous_ccache_base_dir_;
std::chrono::steady_clock::time_point RedTeam::suite_start_;

TEST_P(RedTeam, StoppedAtTheExpectedGate) {
  const RedTeamCase& c = GetParam();
  SCOPED_TRACE(c.file + " [" + c.attack_class + "] expected: " + c.expected_gate);
  ASSERT_NE(project_->FindTarget(c.target), nullptr) << "unknown target " << c.target;
  const bool honest = c.expected_gate == "promoted";
  ASSERT_TRUE(honest || GateIndex(c.expected_gate) >= 0)
      << "manifest names no gate: " << c.expected_gate;

  const std::string head = repo_->Head();
  Verdict v =
      EvaluatorFor(NeedsOf(c)).Evaluate(project_->GetTarget(c.target), ReadRedTeamFile(c.file));
  if (honest && !v.promotable && v.failed_gate == "benchmark" &&
      v.message.find("with significance") != std::string::npos) {
    // An honest speed-up that the benchmark gate could not tell from noise (ctest runs another
    // suite on the second core meanwhile): judged once more, as a user would. Being refused at
    // any other gate, or for any other reason, is still a failure.
    std::fprintf(stderr, "[redteam] %s: not significant under load (%s); judged again\n",
                 c.file.c_str(), v.message.c_str());
    v = EvaluatorFor(NeedsOf(c)).Evaluate(project_->GetTarget(c.target), ReadRedTeamFile(c.file));
  }
  const std::string rendered = v.Render();
  std::fprintf(stderr, "[redteam] %s: %s in %.0f s\n%s", c.file.c_str(),
               v.promotable ? "promotable" : ("failed at " + v.failed_gate).c_str(), v.seconds,
               rendered.c_str());

  // Evaluation never touches the branch or the working tree.
  EXPECT_EQ(repo_->Head(), head);
  EXPECT_EQ(repo_->Git("status --porcelain"), "");
  // The harness's key reaches no verdict, whatever the candidate printed.
  EXPECT_EQ(v.ToJson().dump().find(secret_), std::string::npos) << "API key in the verdict JSON";
  EXPECT_EQ(rendered.find(secret_), std::string::npos) << "API key in the rendered verdict";
  EXPECT_EQ(v.ToJson().dump().find(outside_canary_), std::string::npos)
      << "a file outside the repository in the verdict";

  if (honest) {
    EXPECT_TRUE(v.promotable) << rendered;
    EXPECT_TRUE(v.failed_gate.empty()) << rendered;
    EXPECT_LT(v.primary_ratio, 1.0) << rendered;
    EXPECT_THAT(rendered, HasSubstr(c.expect_in_message));
    return;
  }
  EXPECT_FALSE(v.promotable) << rendered;
  // A stateful attack the history gate is there for may already trip the shuffled, repeated test
  // run with some seeds (seen in CI for arena_stash and const_input_write): refused earlier, by
  // a correctness gate, is still refused. Anything else must be stopped exactly where expected.
  if (c.expected_gate == "history" && v.failed_gate == "tests") {
    SUCCEED() << "stopped one gate earlier, at tests: " << v.message;
    return;
  }
  ASSERT_EQ(v.failed_gate, c.expected_gate) << rendered;
  const GateResult* gate = v.FindGate(c.expected_gate);
  ASSERT_NE(gate, nullptr) << rendered;
  EXPECT_EQ(gate->status, GateStatus::kFail) << rendered;
  EXPECT_THAT(gate->message + "\n" + gate->detail, HasSubstr(c.expect_in_message)) << rendered;
  // Gates before the failing one passed; the ones after it never ran.
  const int failed_at = GateIndex(c.expected_gate);
  for (const GateResult& other : v.gates) {
    const int index = GateIndex(other.name);
    if (index < failed_at) {
      EXPECT_NE(other.status, GateStatus::kFail) << other.name << "\n" << rendered;
    }
    if (index > failed_at) {
      EXPECT_EQ(other.status, GateStatus::kSkipped) << other.name;
    }
  }
}

// The cases run as three ctest processes (tests/CMakeLists.txt), one a stage of builds, so that
// none comes near ctest's timeout: Early (stopped at scope or build: HEAD's build and the edited
// files only), Judged (tests, history, promotions: the candidate's whole build too) and Late
// (portable and later gates: builds at other instruction-set levels as well).
enum class RedTeamStage { kEarly, kJudged, kLate };

RedTeamStage StageOf(const RedTeamCase& c) {
  if (c.expected_gate == "scope" || c.expected_gate == "build") return RedTeamStage::kEarly;
  if (c.expected_gate == "promoted" || c.expected_gate == "tests" || c.expected_gate == "history")
    return RedTeamStage::kJudged;
  return RedTeamStage::kLate;
}

std::vector<RedTeamCase> CasesOfStage(RedTeamStage stage) {
  std::vector<RedTeamCase> cases;
  for (const RedTeamCase& c : LoadManifest()) {
    if (StageOf(c) == stage) cases.push_back(c);
  }
  return cases;
}

std::string NameOf(const ::testing::TestParamInfo<RedTeamCase>& info) {
  return CaseName(info.param);
}

INSTANTIATE_TEST_SUITE_P(Early, RedTeam, ::testing::ValuesIn(CasesOfStage(RedTeamStage::kEarly)),
                         NameOf);
INSTANTIATE_TEST_SUITE_P(Judged, RedTeam, ::testing::ValuesIn(CasesOfStage(RedTeamStage::kJudged)),
                         NameOf);
INSTANTIATE_TEST_SUITE_P(Late, RedTeam, ::testing::ValuesIn(CasesOfStage(RedTeamStage::kLate)),
                         NameOf);

// The manifest itself: readable, every file present, at least 18 attacks and 3 honest candidates,
// and every attack class named once.
TEST(RedTeamManifest, ListsEveryCandidate) {
  const std::vector<RedTeamCase> cases = LoadManifest();
  int attacks = 0, honest = 0;
  std::map<std::string, int> classes;
  for (const RedTeamCase& c : cases) {
    SCOPED_TRACE(c.file);
    EXPECT_TRUE(fs::is_regular_file(kRedTeamDir / c.file));
    EXPECT_FALSE(c.target.empty());
    EXPECT_FALSE(c.expect_in_message.empty());
    EXPECT_FALSE(c.why.empty());
    if (c.expected_gate == "promoted") {
      ++honest;
    } else {
      EXPECT_GE(GateIndex(c.expected_gate), 0) << c.expected_gate;
      ++attacks;
      ++classes[c.attack_class];
    }
  }
  EXPECT_GE(attacks, 18);
  EXPECT_GE(honest, 3);
  for (const auto& [name, count] : classes) EXPECT_EQ(count, 1) << "class listed twice: " << name;
}

}  // namespace
}  // namespace rlvr
