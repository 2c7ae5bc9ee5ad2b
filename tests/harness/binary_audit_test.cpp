// The binary audit (verify/object_audit.h: AuditLinkedBinary, NeededLibraries, LinkedBinariesUnder)
// on small C programs and shared libraries linked by the system cc: HEAD's build against a
// candidate's, as the build gate compares them.
#include <unistd.h>

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/base/process.h"
#include "harness/verify/object_audit.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class BinaryAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rlvr_binary_audit_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Builds `program` (main.c) in dir_/side, linked with libk.so made from `library` when given.
  fs::path Link(const std::string& side, const std::string& program,
                const std::string& library = "", const std::vector<std::string>& flags = {}) {
    fs::path out = dir_ / side;
    fs::create_directories(out);
    std::ofstream(out / "main.c") << program;
    std::vector<std::string> argv = {"cc", "-O2", (out / "main.c").string(), "-o",
                                     (out / "prog").string()};
    if (!library.empty()) {
      std::ofstream(out / "k.c") << library;
      ProcessResult lib = RunProcess({"cc", "-O2", "-fPIC", "-shared", (out / "k.c").string(), "-o",
                                      (out / "libk.so").string()});
      EXPECT_TRUE(lib.ok()) << lib.err;
      argv.insert(argv.end(), {"-L" + out.string(), "-lk"});
    }
    argv.insert(argv.end(), flags.begin(), flags.end());
    ProcessResult linked = RunProcess(argv);
    EXPECT_TRUE(linked.ok()) << linked.err;
    return out;
  }

  static std::vector<AuditFinding> Compare(const fs::path& head, const fs::path& candidate,
                                           const std::string& file,
                                           const ObjectAuditPolicy& policy = {},
                                           bool* dynamic_only = nullptr) {
    return AuditLinkedBinary(candidate / file, head / file, policy, SymbolRules{}, true,
                             dynamic_only);
  }

  fs::path dir_;
};

auto Finding(AuditRule rule, const std::string& symbol) {
  return AllOf(Field(&AuditFinding::rule, rule), Field(&AuditFinding::symbol, symbol));
}

const char* kMain = R"(
float k_sum(const float *x, int n);
int main(void) { float x[3] = {1, 2, 3}; return (int)k_sum(x, 3) == 6 ? 0 : 1; }
)";

const char* kSum = R"(
float k_sum(const float *x, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += x[i];
  return s;
}
)";

TEST_F(BinaryAuditTest, AHonestChangeHasNoFindings) {
  fs::path head = Link("head", kMain, kSum);
  fs::path candidate = Link("candidate", kMain, R"(
float k_sum(const float *x, int n) {
  float a = 0, b = 0;
  int i = 0;
  for (; i + 2 <= n; i += 2) { a += x[i]; b += x[i + 1]; }
  if (i < n) a += x[i];
  return a + b;
}
)");
  EXPECT_THAT(Compare(head, candidate, "prog"), IsEmpty());
  EXPECT_THAT(Compare(head, candidate, "libk.so"), IsEmpty());
  EXPECT_THAT(LinkedBinariesUnder(candidate), ElementsAre("libk.so", "prog"));
}

TEST_F(BinaryAuditTest, AStaticCacheInASharedLibraryIsFoundThroughDtNeeded) {
  fs::path head = Link("head", kMain, kSum);
  fs::path candidate = Link("candidate", kMain, R"(
float k_sum(const float *x, int n) {
  static const float *last;
  static float memo;
  if (x == last) return memo;
  float s = 0;
  for (int i = 0; i < n; ++i) s += x[i];
  last = x;
  memo = s;
  return s;
}
)");
  EXPECT_THAT(NeededLibraries(candidate / "prog"), Contains("libk.so"));
  // The program itself is unchanged; the library the program loads holds the cache.
  EXPECT_THAT(Compare(head, candidate, "prog"), IsEmpty());
  std::vector<AuditFinding> findings = Compare(head, candidate, "libk.so");
  EXPECT_THAT(findings, Contains(Finding(AuditRule::kWritableState, "memo")));
  EXPECT_THAT(findings, Contains(Finding(AuditRule::kWritableState, "last")));
  EXPECT_THAT(FormatAuditFinding("libk.so", findings.front()),
              HasSubstr("libk.so: writable static storage"));
}

TEST_F(BinaryAuditTest, ImpureReferencesAndInterposedDefinitionsAreFound) {
  fs::path head = Link("head", kMain, kSum);
  fs::path candidate = Link("candidate", R"(
#include <stdlib.h>
int clock_gettime(int clock, void *out) { (void)clock; (void)out; return 0; }
float k_sum(const float *x, int n);
int main(void) {
  float x[3] = {1, 2, 3};
  if (getenv("FAST")) return 0;
  return (int)k_sum(x, 3) == 6 ? 0 : 1;
}
)",
                            kSum);
  std::vector<AuditFinding> findings = Compare(head, candidate, "prog");
  EXPECT_THAT(findings, Contains(Finding(AuditRule::kExternalReference, "getenv")));
  EXPECT_THAT(findings, Contains(Finding(AuditRule::kDefinedSymbol, "clock_gettime")));
  // Declared calls are accepted.
  ObjectAuditPolicy policy;
  policy.allowed_references = {"getenv"};
  EXPECT_THAT(Compare(head, candidate, "prog", policy),
              Not(Contains(Finding(AuditRule::kExternalReference, "getenv"))));
}

TEST_F(BinaryAuditTest, LocalStaticsAreComparedWithoutTheirNumbering) {
  // HEAD's program has two function-local statics named `count` (count.0, count.1 in .symtab).
  const char* two = R"(
int f(void) { static int count; return ++count; }
int g(void) { static int count; return count += 2; }
int main(void) { return f() + g() == 3 ? 0 : 1; }
)";
  const char* reordered = R"(
int g(void) { static int count; return count += 2; }
int f(void) { static int count; return ++count; }
int main(void) { return g() + f() == 3 ? 0 : 1; }
)";
  fs::path head = Link("head", two);
  fs::path same = Link("same", reordered);
  EXPECT_THAT(Compare(head, same, "prog"), IsEmpty());
  fs::path more = Link("more", R"(
int f(void) { static int count; return ++count; }
int g(void) { static int count; return count += 2; }
int h(void) { static int count; return count += 3; }
int main(void) { return f() + g() + h() == 6 ? 0 : 1; }
)");
  EXPECT_THAT(Compare(head, more, "prog"), Contains(Finding(AuditRule::kWritableState, "count")));
}

TEST_F(BinaryAuditTest, AStrippedProgramIsAuditedByItsDynamicSymbolsAndSaysSo) {
  fs::path head = Link("head", kMain, kSum, {"-s"});
  fs::path candidate = Link("candidate", R"(
#include <stdlib.h>
float k_sum(const float *x, int n);
int main(void) { float x[3] = {1, 2, 3}; return getenv("X") ? 0 : (int)k_sum(x, 3) - 6; }
)",
                            kSum, {"-s"});
  bool dynamic_only = false;
  EXPECT_THAT(Compare(head, candidate, "prog", {}, &dynamic_only),
              Contains(Finding(AuditRule::kExternalReference, "getenv")));
  EXPECT_TRUE(dynamic_only);
}

TEST_F(BinaryAuditTest, SlimLtoObjectsAreRecognised) {
  std::ofstream(dir_ / "k.c") << kSum;
  ProcessResult lto = RunProcess(
      {"cc", "-O2", "-flto", "-c", (dir_ / "k.c").string(), "-o", (dir_ / "lto.o").string()});
  ASSERT_TRUE(lto.ok()) << lto.err;
  ProcessResult plain =
      RunProcess({"cc", "-O2", "-c", (dir_ / "k.c").string(), "-o", (dir_ / "plain.o").string()});
  ASSERT_TRUE(plain.ok()) << plain.err;
  EXPECT_TRUE(IsSlimLtoObject(dir_ / "lto.o"));
  EXPECT_FALSE(IsSlimLtoObject(dir_ / "plain.o"));
}

TEST_F(BinaryAuditTest, NotALinkedBinaryThrows) {
  fs::create_directories(dir_ / "a");
  std::ofstream(dir_ / "a" / "prog") << "#!/bin/sh\necho hi\n";
  EXPECT_FALSE(IsLinkedElf(dir_ / "a" / "prog"));
  EXPECT_THROW(AuditLinkedBinary(dir_ / "a" / "prog", dir_ / "a" / "prog", {}, {}, false),
               std::runtime_error);
}

}  // namespace
}  // namespace rlvr
