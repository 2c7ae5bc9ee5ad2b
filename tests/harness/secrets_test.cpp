// The secret registry: which names look secret, what gets registered, and redaction that leaves
// no fragment of any registered value (overlapping values, repeats, the JSON-escaped form); files
// that may quote a secret (reply files) written redacted and owner-only.
#include "harness/base/secrets.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/private_file.h"

namespace rlvr {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The registry only grows and is shared by the whole test binary: every test uses values no
// other test (or the environment) could hold.
std::string Unique(const std::string& stem) {
  static int counter = 0;
  return stem + "-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
}

TEST(SecretsTest, NamesThatLookSecret) {
  for (const char* name :
       {"OPENAI_API_KEY", "github_token", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "FTP_PASSWD",
        "MYSQL_PWD", "SSH_AUTH_SOCK", "HTTP_COOKIE", "XDG_SESSION_ID", "RLVR_API_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS", "oauth_client", "GPG_PASSPHRASE", "MY_SERVICE_TOKEN",
        "DOCKER_CREDS", "SSH_PRIVATE", "CMAKE_AUTH_TOKEN"}) {
    EXPECT_TRUE(LooksLikeSecretName(name)) << name;
  }
  for (const char* name :
       {"PATH", "HOME", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "CMAKE_BUILD_TYPE",
        "OMP_NUM_THREADS", "RLVR_TEST_SEED", "LC_ALL", "CXX", ""}) {
    EXPECT_FALSE(LooksLikeSecretName(name)) << name;
  }
  // AUTHOR is not AUTH, but a name with both is still secret.
  EXPECT_TRUE(LooksLikeSecretName("GIT_AUTHOR_AUTH"));
}

TEST(SecretsTest, RedactsEveryOccurrence) {
  std::string secret = Unique("sk-proj-every");
  RegisterSecret(secret);
  std::string text = "key=" + secret + "\n" + secret + secret + " end";
  EXPECT_EQ(RedactSecrets(text), "key=[redacted]\n[redacted] end");
  EXPECT_TRUE(ContainsSecret(text));
  EXPECT_FALSE(ContainsSecret(RedactSecrets(text)));
}

TEST(SecretsTest, IgnoresShortValues) {
  RegisterSecret("1234567");  // 7 characters: not registered
  RegisterSecret("");
  EXPECT_EQ(RedactSecrets("a 1234567 b"), "a 1234567 b");
  EXPECT_FALSE(ContainsSecret("1234567"));
}

TEST(SecretsTest, OverlappingSecretsLeaveNoFragment) {
  std::string tag = Unique("ov");
  // `first` ends with what `second` starts with; `inner` sits inside `outer`.
  std::string first = tag + "-AAAA-shared";
  std::string second = "shared-BBBB-" + tag;
  std::string outer = "outer<" + tag + "-inner-value>outer";
  std::string inner = tag + "-inner-value";
  RegisterSecret(second);
  RegisterSecret(first);
  RegisterSecret(inner);
  RegisterSecret(outer);
  std::string joined = tag + "-AAAA-shared-BBBB-" + tag;  // first and second share "shared"
  EXPECT_EQ(RedactSecrets("x " + joined + " y"), "x [redacted] y");
  EXPECT_EQ(RedactSecrets("(" + outer + ")"), "([redacted])");
  EXPECT_EQ(RedactSecrets("(" + inner + ")"), "([redacted])");
  std::string redacted = RedactSecrets(joined + " " + outer + " " + inner + " " + first);
  EXPECT_EQ(redacted, "[redacted] [redacted] [redacted] [redacted]");
}

TEST(SecretsTest, SecretOverlappingItself) {
  std::string unit = Unique("r").substr(0, 4);  // e.g. "r-12"
  std::string secret = unit + unit + unit;      // "r-12r-12r-12"
  RegisterSecret(secret);
  // Four units hold the secret twice, overlapping: all four units go.
  EXPECT_EQ(RedactSecrets("<" + unit + unit + unit + unit + ">"), "<[redacted]>");
}

TEST(SecretsTest, RedactsTheJsonEscapedForm) {
  std::string secret = Unique("pa\"ss\\word");
  RegisterSecret(secret);
  std::string json = nlohmann::json{{"message", "got " + secret + " from env"}}.dump();
  ASSERT_THAT(json, Not(HasSubstr(secret)));  // escaped in JSON, so the raw form is not there
  std::string redacted = RedactSecrets(json);
  EXPECT_THAT(redacted, Not(HasSubstr("ss\\\\word")));
  nlohmann::json parsed = nlohmann::json::parse(redacted);  // still valid JSON
  EXPECT_EQ(parsed["message"], "got [redacted] from env");
}

TEST(SecretsTest, RegistersFromTheEnvironment) {
  std::string token = Unique("tok-env-value");
  std::string password = Unique("proxy-pass");
  std::string path = "/tmp/" + Unique("agent-socket");
  std::string harmless = Unique("not-a-secret-value");
  setenv("RLVR_REGISTRY_TEST_TOKEN", token.c_str(), 1);
  setenv("RLVR_REGISTRY_TEST_AUTH_SOCK", path.c_str(), 1);
  setenv("RLVR_REGISTRY_TEST_PROXY", ("http://user:" + password + "@proxy:3128/").c_str(), 1);
  setenv("RLVR_REGISTRY_TEST_PLAIN", harmless.c_str(), 1);
  RegisterSecretsFromEnvironment();
  unsetenv("RLVR_REGISTRY_TEST_TOKEN");
  unsetenv("RLVR_REGISTRY_TEST_AUTH_SOCK");
  unsetenv("RLVR_REGISTRY_TEST_PROXY");
  unsetenv("RLVR_REGISTRY_TEST_PLAIN");
  EXPECT_TRUE(ContainsSecret(token));
  EXPECT_TRUE(ContainsSecret(password));
  EXPECT_FALSE(ContainsSecret(path));  // where a secret is, not the secret
  EXPECT_FALSE(ContainsSecret(harmless));
  EXPECT_EQ(RedactSecrets("t=" + token + " p=" + password), "t=[redacted] p=[redacted]");
}

TEST(SecretsTest, ConcurrentRegistrationAndRedaction) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  std::string base = Unique("thread-secret");
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string secret = base + "-" + std::to_string(t) + "-" + std::to_string(i) + "#";
        RegisterSecret(secret);
        if (RedactSecrets("<" + secret + ">") != "<[redacted]>") ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(failures, ::testing::Each(0));
}

// A reply file (.rlvr/pool/<key>/reply.txt, .rlvr/jobs/<key>/reply.txt) quoting a key: written
// redacted and readable by its owner only, whatever the umask and the mode of the file it replaces.
TEST(SecretsTest, PrivateFileIsRedactedAndOwnerOnly) {
  std::string secret = Unique("reply-file-secret");
  RegisterSecret(secret);
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("rlvr_private_file_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::path path = dir / "reply.txt";
  { std::ofstream old(path); }
  std::filesystem::permissions(path, std::filesystem::perms(0666));
  mode_t umask_before = umask(0);
  bool written = WritePrivateFile(path, "the key is " + secret + "\n");
  umask(umask_before);
  ASSERT_TRUE(written);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(text.str(), "the key is [redacted]\n");
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(WritePrivateFile(dir / "missing" / "reply.txt", "x"));
}

}  // namespace
}  // namespace rlvr
