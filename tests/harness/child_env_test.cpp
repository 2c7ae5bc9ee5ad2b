// The child-environment policy: the allowlist, secret-looking names refused even when a pattern
// matches, values holding a registered secret refused, and the user's pass-through names.
#include "harness/base/child_env.h"

#include <unistd.h>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/secrets.h"

namespace rlvr {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Key;
using ::testing::Not;
using ::testing::Pair;

// The environment a child would get from a parent holding exactly `entries`.
std::map<std::string, std::string> ChildOf(const std::vector<std::string>& entries) {
  std::vector<const char*> parent;
  for (const auto& entry : entries) parent.push_back(entry.c_str());
  parent.push_back(nullptr);
  return ChildEnvironmentFrom(parent.data());
}

// Sets the pass-through list for one test and clears it afterwards, whatever happens.
class ScopedPassThrough {
 public:
  explicit ScopedPassThrough(std::vector<std::string> names) {
    SetPassThroughEnvironment(std::move(names));
  }
  ~ScopedPassThrough() { SetPassThroughEnvironment({}); }
};

TEST(ChildEnvTest, KeepsTheAllowlistAndDropsTheRest) {
  auto child = ChildOf({"PATH=/usr/bin:/bin",
                        "HOME=/home/u",
                        "LANG=C.UTF-8",
                        "LC_ALL=C",
                        "TERM=xterm",
                        "CXX=g++-12",
                        "CMAKE_GENERATOR=Ninja",
                        "CCACHE_DIR=/tmp/ccache",
                        "OMP_NUM_THREADS=2",
                        "OPENBLAS_CORETYPE=SkylakeX",
                        "RLVR_BENCH_FILTER=BM_Gemm",
                        "GIT_AUTHOR_NAME=A",
                        "GIT_COMMITTER_EMAIL=c@example.com",
                        "OPENAI_API_KEY=sk-abcdefghijklmnop",
                        "MY_SERVICE_TOKEN=tok-abcdefghijkl",
                        "RLVR_API_KEY=sk-rlvr-0123456789",
                        "CMAKE_AUTH_TOKEN=hunter2hunter2",
                        "GIT_CONFIG_KEY_0=http.extraheader",
                        "LD_PRELOAD=/tmp/evil.so",
                        "DATABASE_URL=postgres://u:p@h/db",
                        "HTTP_PROXY=http://proxy:3128",
                        "SOMETHING_ELSE=1",
                        "NOEQUALSSIGN",
                        "=empty-name"});
  EXPECT_THAT(child, Contains(Pair("PATH", "/usr/bin:/bin")));
  for (const char* kept :
       {"HOME", "LANG", "LC_ALL", "TERM", "CXX", "CMAKE_GENERATOR", "CCACHE_DIR", "OMP_NUM_THREADS",
        "OPENBLAS_CORETYPE", "RLVR_BENCH_FILTER", "GIT_AUTHOR_NAME", "GIT_COMMITTER_EMAIL"}) {
    EXPECT_THAT(child, Contains(Key(kept))) << kept;
  }
  EXPECT_EQ(child.size(), 13u);
  for (const char* dropped :
       {"OPENAI_API_KEY", "MY_SERVICE_TOKEN", "RLVR_API_KEY", "CMAKE_AUTH_TOKEN",
        "GIT_CONFIG_KEY_0", "LD_PRELOAD", "DATABASE_URL", "HTTP_PROXY", "SOMETHING_ELSE"}) {
    EXPECT_THAT(child, Not(Contains(Key(dropped)))) << dropped;
  }
}

TEST(ChildEnvTest, AllowlistRefusesSecretLookingNamesEvenWhenAPatternMatches) {
  EXPECT_TRUE(IsAllowlistedChildVariable("RLVR_TEST_SEED"));
  EXPECT_FALSE(IsAllowlistedChildVariable("RLVR_LLM_TOKEN"));
  EXPECT_TRUE(IsAllowlistedChildVariable("CMAKE_PREFIX_PATH"));
  EXPECT_FALSE(IsAllowlistedChildVariable("CMAKE_PRIVATE_KEY"));
  EXPECT_FALSE(IsAllowlistedChildVariable("OMP_SESSION"));
  EXPECT_FALSE(IsAllowlistedChildVariable("PATHX"));  // exact names are exact
  EXPECT_FALSE(IsAllowlistedChildVariable(""));
}

TEST(ChildEnvTest, DropsAllowlistedVariablesHoldingARegisteredSecret) {
  std::string key = "sk-child-env-" + std::to_string(getpid()) + "-innocent-name";
  RegisterSecret(key);
  auto child = ChildOf({"RLVR_LLM=" + key, "CMAKE_ARGS=-DX=" + key + " -DY=1", "RLVR_OTHER=ok"});
  EXPECT_THAT(child, ElementsAre(Pair("RLVR_OTHER", "ok")));
}

TEST(ChildEnvTest, PassThroughNamesTheUserChose) {
  ScopedPassThrough pass({"CUDA_*", "LICENSE_SERVER", "VENDOR_LICENCE_TOKEN"});
  EXPECT_THAT(PassThroughEnvironment(),
              ElementsAre("CUDA_*", "LICENSE_SERVER", "VENDOR_LICENCE_TOKEN"));
  auto child = ChildOf({"CUDA_HOME=/usr/local/cuda", "CUDA_VISIBLE_DEVICES=0",
                        "CUDA_API_KEY=not-for-children-123", "LICENSE_SERVER=27000@lic",
                        "LICENSE_SERVER_X=no", "VENDOR_LICENCE_TOKEN=tok-named-on-purpose",
                        "OPENAI_API_KEY=sk-still-refused-1234"});
  EXPECT_THAT(child, Contains(Pair("CUDA_HOME", "/usr/local/cuda")));
  EXPECT_THAT(child, Contains(Pair("CUDA_VISIBLE_DEVICES", "0")));
  EXPECT_THAT(child, Contains(Pair("LICENSE_SERVER", "27000@lic")));
  // Named exactly: passed although it looks secret (documented in base/child_env.h).
  EXPECT_THAT(child, Contains(Pair("VENDOR_LICENCE_TOKEN", "tok-named-on-purpose")));
  // A pattern does not carry secret-looking names; nor does a longer name than the one given.
  EXPECT_THAT(child, Not(Contains(Key("CUDA_API_KEY"))));
  EXPECT_THAT(child, Not(Contains(Key("LICENSE_SERVER_X"))));
  EXPECT_THAT(child, Not(Contains(Key("OPENAI_API_KEY"))));
  EXPECT_EQ(child.size(), 4u);
}

TEST(ChildEnvTest, PassThroughNamesFromRlvrPassEnv) {
  auto child =
      ChildOf({"RLVR_PASS_ENV=FAKE_BENCH_*, EXTRA_ONE  SERVICE_TOKEN", "FAKE_BENCH_ERROR=x",
               "FAKE_BENCH_NOISE=0.3", "FAKE_BENCH_KEY=nope-not-this", "EXTRA_ONE=1", "EXTRA_TWO=2",
               "SERVICE_TOKEN=named-on-purpose"});
  EXPECT_THAT(child, ElementsAre(Pair("EXTRA_ONE", "1"), Pair("FAKE_BENCH_ERROR", "x"),
                                 Pair("FAKE_BENCH_NOISE", "0.3"),
                                 Pair("RLVR_PASS_ENV", "FAKE_BENCH_*, EXTRA_ONE  SERVICE_TOKEN"),
                                 Pair("SERVICE_TOKEN", "named-on-purpose")));
  // Nothing is remembered: without the variable, none of them passes.
  EXPECT_THAT(ChildOf({"FAKE_BENCH_ERROR=x", "EXTRA_ONE=1"}), IsEmpty());
}

TEST(ChildEnvTest, PassThroughIsClearedBySettingAnEmptyList) {
  { ScopedPassThrough pass({"SOMETHING_ELSE"}); }
  EXPECT_THAT(PassThroughEnvironment(), IsEmpty());
  EXPECT_THAT(ChildOf({"SOMETHING_ELSE=1"}), IsEmpty());
}

}  // namespace
}  // namespace rlvr
