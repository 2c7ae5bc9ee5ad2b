#include "harness/verify/object_audit.h"
#include "harness/verify/pure_functions.h"

#include <unistd.h>

#include <fstream>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/base/process.h"

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
using ::testing::StartsWith;

// Tiny sources compiled with the system g++ (C++17: its headers compile several times faster than
// C++20's, and the audit does not care) into a directory of the test process's own.
class ObjectAuditTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("rlvr_object_audit_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static void WriteFile(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

  // Compiles `source` (as `name`.cpp) with g++ -O2 -c plus `flags`; returns the object.
  static fs::path Compile(const std::string& name, const std::string& source,
                          const std::vector<std::string>& flags = {}) {
    fs::path cpp = dir_ / (name + ".cpp");
    fs::path object = dir_ / (name + ".o");
    WriteFile(cpp, source);
    std::vector<std::string> argv = {"g++",        "-std=c++17", "-O2",          "-c",
                                     cpp.string(), "-o",         object.string()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    ProcessResult result = RunProcess(argv);
    EXPECT_TRUE(result.ok()) << name << ": " << result.Describe() << "\n" << result.err;
    return object;
  }

  static std::vector<AuditFinding> Audit(const std::string& name, const std::string& candidate,
                                         const std::string& baseline = "",
                                         const ObjectAuditPolicy& policy = {},
                                         const std::vector<std::string>& flags = {}) {
    fs::path candidate_object = Compile(name, candidate, flags);
    fs::path baseline_object;
    if (!baseline.empty()) baseline_object = Compile(name + "_head", baseline, flags);
    return AuditObject(candidate_object, baseline_object, policy);
  }

  static fs::path dir_;
};

fs::path ObjectAuditTest::dir_;

auto Finding(AuditRule rule, const std::string& symbol_part) {
  return AllOf(Field(&AuditFinding::rule, rule),
               Field(&AuditFinding::symbol, HasSubstr(symbol_part)));
}

size_t CountRule(const std::vector<AuditFinding>& findings, AuditRule rule) {
  return std::count_if(findings.begin(), findings.end(),
                       [&](const AuditFinding& f) { return f.rule == rule; });
}

std::string Lines(const std::vector<AuditFinding>& findings) {
  std::string text;
  for (const auto& line : FormatAuditFindings("kernels/x.cpp", findings)) text += line + "\n";
  return text;
}

const char* kCachingSum = R"(
namespace rlvr {
float Sum(const float* x, int n) {
  static float cache[64];
  static int last_n = -1;
  if (n == last_n) return cache[0];
  float s = 0;
  for (int i = 0; i < n; ++i) s += x[i];
  cache[0] = s;
  last_n = n;
  return s;
}
}  // namespace rlvr
)";

TEST_F(ObjectAuditTest, FunctionLocalStaticCacheIsFlaggedByName) {
  for (const char* arch : {"-march=x86-64", "-march=native"}) {
    std::vector<AuditFinding> findings =
        Audit(std::string("cache") + arch, kCachingSum, "", {}, {arch});
    EXPECT_THAT(
        findings,
        ElementsAre(AllOf(Field(&AuditFinding::symbol, "rlvr::Sum(float const*, int)::cache"),
                          Field(&AuditFinding::detail, ".bss")),
                    Field(&AuditFinding::symbol, "rlvr::Sum(float const*, int)::last_n")))
        << arch << "\n"
        << Lines(findings);
    ASSERT_FALSE(findings.empty());
    EXPECT_EQ(FormatAuditFinding("kernels/gemm.cpp", findings[0]),
              "kernels/gemm.cpp: writable static storage `rlvr::Sum(float const*, int)::cache` "
              "(.bss) — a kernel's output may depend only on its inputs; declare legitimate state "
              "in rlvr.json \"allowed_state\"");
  }
}

TEST_F(ObjectAuditTest, FileStaticArrayInDataSectionsIsFlagged) {
  std::vector<AuditFinding> findings = Audit("file_static", R"(
static float g_table[256];
static int g_calls = 7;
namespace rlvr {
float Lookup(int i) { g_table[i] += 1; ++g_calls; return g_table[i] + g_calls; }
}  // namespace rlvr
)",
                                             "", {}, {"-fdata-sections", "-ffunction-sections"});
  EXPECT_THAT(findings, ElementsAre(AllOf(Field(&AuditFinding::symbol, "g_calls"),
                                          Field(&AuditFinding::detail, StartsWith(".data."))),
                                    AllOf(Field(&AuditFinding::symbol, "g_table"),
                                          Field(&AuditFinding::detail, StartsWith(".bss.")))))
      << Lines(findings);
}

TEST_F(ObjectAuditTest, ThreadLocalScratchIsFlagged) {
  std::vector<AuditFinding> findings = Audit("thread_local", R"(
namespace rlvr {
thread_local float scratch[1024];
float Scale(const float* x, int n) {
  for (int i = 0; i < n; ++i) scratch[i] = 2 * x[i];
  return scratch[n / 2];
}
}  // namespace rlvr
)");
  EXPECT_THAT(findings, ElementsAre(AllOf(Field(&AuditFinding::symbol, "rlvr::scratch"),
                                          Field(&AuditFinding::detail, ".tbss"))))
      << Lines(findings);
}

TEST_F(ObjectAuditTest, StaticConstTablesAreAccepted) {
  std::vector<AuditFinding> findings = Audit("const_table", R"(
static const float kTable[8] = {1, 2, 3, 4, 5, 6, 7, 8};
namespace rlvr {
const char* const kNames[] = {"a", "b", "c"};
float Pick(int i, int j) {
  static constexpr float kLocal[4] = {0.5f, 0.25f, 0.125f, 0.0625f};
  return kTable[i & 7] * kLocal[i & 3] + kNames[j % 3][0];
}
}  // namespace rlvr
)");
  EXPECT_THAT(findings, IsEmpty()) << Lines(findings);
}

TEST_F(ObjectAuditTest, StaticThatHeadAlreadyHasIsAccepted) {
  const char* head = R"(
namespace rlvr {
float* Scratch(int n) {
  static float buffer[4096];
  for (int i = 0; i < n; ++i) buffer[i] = 0;
  return buffer;
}
}  // namespace rlvr
)";
  const char* candidate = R"(
namespace rlvr {
float* Scratch(int n) {
  static float buffer[4096];
  for (int i = 0; i < n; i += 2) buffer[i] = buffer[i + 1] = 0;
  return buffer;
}
}  // namespace rlvr
)";
  EXPECT_THAT(Audit("unchanged", candidate, head), IsEmpty());
  // The same candidate as a new file (no HEAD object) is judged on its own.
  EXPECT_THAT(Audit("unchanged_new", candidate),
              ElementsAre(Finding(AuditRule::kWritableState, "rlvr::Scratch(int)::buffer")));
}

TEST_F(ObjectAuditTest, DeclaredStateIsAcceptedWithItsGuard) {
  const char* source = R"(
namespace rlvr {
struct Arena { Arena(); float* data; };
namespace {
Arena& GetArena() {
  static Arena arena;
  return arena;
}
}  // namespace
float* Buffer() { return GetArena().data; }
}  // namespace rlvr
)";
  // Its constructor is in the repository's library.
  ObjectAuditPolicy policy;
  policy.library_symbols = {"_ZN4rlvr5ArenaC1Ev"};
  std::vector<AuditFinding> undeclared = Audit("arena", source, "", policy);
  // One finding for the static; its guard variable is folded into it.
  EXPECT_THAT(undeclared,
              ElementsAre(AllOf(
                  Field(&AuditFinding::rule, AuditRule::kWritableState),
                  Field(&AuditFinding::symbol, "rlvr::(anonymous namespace)::GetArena()::arena"))))
      << Lines(undeclared);
  policy.allowed_state = {"rlvr::*::arena"};
  std::vector<AuditFinding> declared = Audit("arena_declared", source, "", policy);
  EXPECT_THAT(declared, IsEmpty()) << Lines(declared);
}

TEST_F(ObjectAuditTest, GetenvThroughTokenPastingIsFlagged) {
  std::vector<AuditFinding> findings = Audit("getenv", R"(
#include <cstdlib>
#define CAT(a, b) a##b
namespace rlvr {
int Threads() {
  const char* v = CAT(get, env)("RLVR_SECRET");
  return v ? v[0] : 1;
}
}  // namespace rlvr
)",
                                             "", {}, {"-ffunction-sections"});
  ASSERT_THAT(findings, ElementsAre(AllOf(Field(&AuditFinding::symbol, "getenv"),
                                          Field(&AuditFinding::detail, "calls"))))
      << Lines(findings);
  EXPECT_EQ(FormatAuditFinding("kernels/gemm.cpp", findings[0]),
            "kernels/gemm.cpp: calls `getenv` — not a pure function; kernels compute on their "
            "arguments only");
}

TEST_F(ObjectAuditTest, EnvironIsFlagged) {
  std::vector<AuditFinding> findings = Audit("environ", R"(
extern "C" char** __environ;
namespace rlvr {
int Count() {
  int n = 0;
  for (char** e = __environ; *e; ++e) ++n;
  return n;
}
}  // namespace rlvr
)");
  EXPECT_THAT(findings, ElementsAre(AllOf(Field(&AuditFinding::symbol, "__environ"),
                                          Field(&AuditFinding::detail, "references"))))
      << Lines(findings);
}

TEST_F(ObjectAuditTest, ClocksAreFlagged) {
  std::vector<AuditFinding> findings = Audit("clocks", R"(
#include <chrono>
#include <ctime>
namespace rlvr {
long Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_nsec + std::chrono::steady_clock::now().time_since_epoch().count();
}
}  // namespace rlvr
)");
  EXPECT_THAT(findings, Contains(Finding(AuditRule::kExternalReference, "clock_gettime")));
  EXPECT_THAT(findings, Contains(Finding(AuditRule::kExternalReference,
                                         "std::chrono::_V2::steady_clock::now()")));
  EXPECT_EQ(findings.size(), 2u) << Lines(findings);
}

TEST_F(ObjectAuditTest, StdThreadIsFlagged) {
  std::vector<AuditFinding> findings = Audit("thread", R"(
#include <thread>
namespace rlvr {
void Twice(float* x, int n) {
  std::thread t([&] { for (int i = 0; i < n / 2; ++i) x[i] *= 2; });
  for (int i = n / 2; i < n; ++i) x[i] *= 2;
  t.join();
}
}  // namespace rlvr
)");
  EXPECT_THAT(findings,
              Contains(Finding(AuditRule::kExternalReference, "std::thread::_M_start_thread")))
      << Lines(findings);
  EXPECT_THAT(findings, Contains(Finding(AuditRule::kExternalReference, "std::thread::join()")));
  EXPECT_EQ(CountRule(findings, AuditRule::kWritableState), 0u) << Lines(findings);
}

TEST_F(ObjectAuditTest, GlobalConstructorsAreLoadTimeCode) {
  ObjectAuditPolicy policy;
  policy.library_symbols = {"_ZN4rlvr5ProbeEv"};
  std::vector<AuditFinding> object_ctor = Audit("global_ctor", R"(
namespace rlvr { int Probe(); }
namespace {
struct Init { Init() { rlvr::Probe(); } } init;
}  // namespace
)",
                                                "", policy);
  EXPECT_THAT(object_ctor,
              Contains(AllOf(Field(&AuditFinding::rule, AuditRule::kLoadTimeCode),
                             Field(&AuditFinding::symbol, StartsWith("_GLOBAL__sub_I_")),
                             Field(&AuditFinding::detail, ".init_array"))))
      << Lines(object_ctor);

  std::vector<AuditFinding> attribute_ctor = Audit("attribute_ctor", R"(
namespace rlvr { int Probe(); }
[[gnu::constructor]] static void Warm() { rlvr::Probe(); }
)",
                                                   "", policy);
  EXPECT_THAT(attribute_ctor,
              ElementsAre(AllOf(Field(&AuditFinding::rule, AuditRule::kLoadTimeCode),
                                Field(&AuditFinding::symbol, "Warm()"),
                                Field(&AuditFinding::detail, ".init_array"))))
      << Lines(attribute_ctor);
  // The loader runs an IFUNC's resolver.
  std::vector<AuditFinding> ifunc = Audit("ifunc", R"(
extern "C" {
static int Impl() { return 1; }
static void* ResolveFast() { return reinterpret_cast<void*>(&Impl); }
}
namespace rlvr { int Fast() __attribute__((ifunc("ResolveFast"))); }
)");
  EXPECT_THAT(ifunc, ElementsAre(AllOf(Field(&AuditFinding::rule, AuditRule::kLoadTimeCode),
                                       Field(&AuditFinding::symbol, "rlvr::Fast()"),
                                       Field(&AuditFinding::detail, "IFUNC resolver"))))
      << Lines(ifunc);
  // HEAD with the same constructor: nothing new.
  EXPECT_THAT(Audit("attribute_ctor2", R"(
namespace rlvr { int Probe(); }
[[gnu::constructor]] static void Warm() { rlvr::Probe(); rlvr::Probe(); }
)",
                    "namespace rlvr { int Probe(); }\n"
                    "[[gnu::constructor]] static void Warm() { rlvr::Probe(); }\n",
                    policy),
              IsEmpty());
}

TEST_F(ObjectAuditTest, PureFunctionsVectorsAndAllocationAreAccepted) {
  std::vector<AuditFinding> findings = Audit("pure", R"(
#include <cmath>
#include <cstring>
#include <vector>
namespace rlvr {
float Work(const float* x, float* y, int n) {
  std::vector<float> tmp(n);
  std::memcpy(tmp.data(), x, n * sizeof(float));
  float s = 0;
  for (int i = 0; i < n; ++i) s += std::exp(tmp[i]) + std::sqrt(tmp[i]);
  tmp.push_back(s);
  std::memcpy(y, tmp.data(), tmp.size() * sizeof(float));
  return s;
}
}  // namespace rlvr
)",
                                             "", {}, {"-march=native"});
  EXPECT_THAT(findings, IsEmpty()) << Lines(findings);
}

TEST_F(ObjectAuditTest, LibrarySymbolsAreAcceptedOthersAreNot) {
  const char* source = R"(
namespace rlvr {
struct ThreadPool { void Run(int n); };
struct AllocationScope { AllocationScope(); };
void Go(ThreadPool* pool) {
  pool->Run(4);
  AllocationScope scope;
}
}  // namespace rlvr
)";
  ObjectAuditPolicy policy;
  policy.library_symbols = {"_ZN4rlvr10ThreadPool3RunEi"};
  std::vector<AuditFinding> findings = Audit("library", source, "", policy);
  EXPECT_THAT(findings, ElementsAre(Finding(AuditRule::kExternalReference,
                                            "rlvr::AllocationScope::AllocationScope()")))
      << Lines(findings);
  // A target's own globs extend the list.
  policy.allowed_references = {"rlvr::AllocationScope::*"};
  EXPECT_THAT(Audit("library2", source, "", policy), IsEmpty());
}

TEST_F(ObjectAuditTest, UnnamedWritableDataIsFlagged) {
  std::vector<AuditFinding> findings = Audit("unnamed", R"(
asm(".section .data.sneaky,\"aw\"\n .long 1\n .previous\n");
namespace rlvr { int F() { return 1; } }
)");
  EXPECT_THAT(findings, ElementsAre(AllOf(Field(&AuditFinding::rule, AuditRule::kWritableState),
                                          Field(&AuditFinding::detail, ".data.sneaky"))))
      << Lines(findings);
}

TEST_F(ObjectAuditTest, TimerAndSystemCallInstructionsAreFlagged) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "x86-64 instructions";
#endif
  // __rdtsc() needs no external symbol, and a pasted `asm` no `asm` in the text.
  const char* head = R"(
namespace rlvr {
unsigned long long Stamp(int n) { return n * 2ull; }
}  // namespace rlvr
)";
  const char* candidate = R"(
#define PASTE(a, b) a##b
namespace rlvr {
unsigned long long Stamp(int n) { return n + __builtin_ia32_rdtsc(); }
long Raw() {
  long r;
  PASTE(a, sm) volatile("syscall" : "=a"(r) : "a"(39) : "rcx", "r11", "memory");
  return r;
}
}  // namespace rlvr
)";
  std::vector<AuditFinding> findings = Audit("instructions", candidate, head);
  EXPECT_THAT(findings, ElementsAre(AllOf(Field(&AuditFinding::rule, AuditRule::kInstruction),
                                          Field(&AuditFinding::symbol, "rlvr::Raw()"),
                                          Field(&AuditFinding::detail, "syscall")),
                                    AllOf(Field(&AuditFinding::rule, AuditRule::kInstruction),
                                          Field(&AuditFinding::symbol, "rlvr::Stamp(int)"),
                                          Field(&AuditFinding::detail, "rdtsc"))))
      << Lines(findings);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(FormatAuditFinding("kernels/gemm.cpp", findings[1]),
            "kernels/gemm.cpp: instruction `rdtsc` in `rlvr::Stamp(int)` — reads the time-stamp "
            "counter; kernels compute on their arguments only");
  // The same instructions in HEAD's version of those functions are not new.
  EXPECT_THAT(Audit("instructions_again", candidate, candidate), IsEmpty());
}

// A kernel that sets flush-to-zero / denormals-are-zero (or another rounding mode) and never
// restores it changes the caller's arithmetic; its outputs on test inputs may not change at all.
TEST_F(ObjectAuditTest, FloatingPointEnvironmentInstructionsAreFlagged) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "x86-64 instructions";
#endif
  const char* head = R"(
namespace rlvr {
float Scale(float x) { return x * 2.0f; }
void Round() {}
}  // namespace rlvr
)";
  const char* candidate = R"(
#include <xmmintrin.h>
namespace rlvr {
float Scale(float x) { _mm_setcsr(_mm_getcsr() | 0x8040); return x * 2.0f; }
void Round() { unsigned short cw = 0x0c7f; __asm__ volatile("fldcw %0" : : "m"(cw)); }
}  // namespace rlvr
)";
  std::vector<AuditFinding> findings = Audit("fp_environment", candidate, head);
  EXPECT_THAT(findings, ElementsAre(AllOf(Field(&AuditFinding::rule, AuditRule::kInstruction),
                                          Field(&AuditFinding::symbol, "rlvr::Round()"),
                                          Field(&AuditFinding::detail, "fldcw")),
                                    AllOf(Field(&AuditFinding::rule, AuditRule::kInstruction),
                                          Field(&AuditFinding::symbol, "rlvr::Scale(float)"),
                                          Field(&AuditFinding::detail, "ldmxcsr"))))
      << Lines(findings);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_THAT(FormatAuditFinding("kernels/softmax.cpp", findings[1]),
              HasSubstr("instruction `ldmxcsr` in `rlvr::Scale(float)` — changes the "
                        "floating-point environment (MXCSR"));
  // Reading the environment is not a change: stmxcsr alone passes.
  EXPECT_THAT(Audit("fp_environment_read", R"(
#include <xmmintrin.h>
namespace rlvr {
float Scale(float x) { return x * static_cast<float>(_mm_getcsr() & 1); }
void Round() {}
}  // namespace rlvr
)",
                    head),
              IsEmpty());
}

TEST_F(ObjectAuditTest, NotAnObjectThrows) {
  fs::path bogus = dir_ / "bogus.o";
  WriteFile(bogus, "not an ELF file at all, just text long enough for a header........");
  EXPECT_THROW(AuditObject(bogus, {}, {}), std::runtime_error);
  EXPECT_THROW(AuditObject(dir_ / "missing.o", {}, {}), std::runtime_error);
  // A truncated real object fails closed too.
  fs::path real = Compile("truncate_me", "namespace rlvr { int F() { return 1; } }\n");
  fs::resize_file(real, fs::file_size(real) / 2);
  EXPECT_THROW(AuditObject(real, {}, {}), std::runtime_error);
}

TEST_F(ObjectAuditTest, LibraryDefinedSymbolsComeFromNonTestObjects) {
  fs::path root = dir_ / "project";
  fs::path build = root / "build";
  WriteFile(root / "lib/pool.cpp", R"(
namespace rlvr {
static int Helper(int n) { return n * 3; }
struct ThreadPool { void Run(int n); };
void ThreadPool::Run(int n) { volatile int x = Helper(n); (void)x; }
}  // namespace rlvr
)");
  WriteFile(root / "tests/alloc_scope.cpp", R"(
namespace rlvr {
struct AllocationScope { AllocationScope(); };
AllocationScope::AllocationScope() {}
}  // namespace rlvr
)");
  WriteFile(root / "lib/extra.cpp", "namespace rlvr { void Extra() {} }\n");
  WriteFile(root / "lib/unbuilt.cpp", "namespace rlvr { void Unbuilt() {} }\n");
  fs::create_directories(build / "lib");
  fs::create_directories(build / "tests");
  for (const char* name : {"lib/pool", "lib/extra", "tests/alloc_scope"}) {
    ProcessResult result =
        RunProcess({"g++", "-O2", "-c", (root / (std::string(name) + ".cpp")).string(), "-o",
                    (build / (std::string(name) + ".o")).string()});
    ASSERT_TRUE(result.ok()) << result.err;
  }
  // One entry as CMake writes it ("command", relative -o), one as Bear does ("arguments").
  nlohmann::json commands = nlohmann::json::array();
  commands.push_back(
      {{"directory", build.string()},
       {"command", "/usr/bin/c++ -O2 -o lib/pool.o -c " + (root / "lib/pool.cpp").string()},
       {"file", (root / "lib/pool.cpp").string()}});
  commands.push_back(
      {{"directory", build.string()},
       {"arguments", {"c++", "-O2", "-c", "../tests/alloc_scope.cpp", "-otests/alloc_scope.o"}},
       {"file", "../tests/alloc_scope.cpp"}});
  // CMake 3.20+ also writes "output", which wins over the command's -o.
  commands.push_back({{"directory", build.string()},
                      {"command", "c++ -o lib/elsewhere.o -c ../lib/extra.cpp"},
                      {"output", "lib/extra.o"},
                      {"file", "../lib/extra.cpp"}});
  commands.push_back({{"directory", build.string()},
                      {"command", "c++ -o lib/unbuilt.o -c ../lib/unbuilt.cpp"},
                      {"file", "../lib/unbuilt.cpp"}});
  std::ofstream(build / "compile_commands.json") << commands.dump(2);

  std::set<std::string> library = LibraryDefinedSymbols(build, root, {"tests/"});
  EXPECT_THAT(library, ElementsAre("_ZN4rlvr10ThreadPool3RunEi", "_ZN4rlvr5ExtraEv"));
  // Without the exclusion the test-support symbol is there (so the exclusion is what drops it).
  EXPECT_THAT(LibraryDefinedSymbols(build, root, {}), Contains("_ZN4rlvr15AllocationScopeC2Ev"));

  ObjectAuditPolicy policy;
  policy.library_symbols = library;
  std::vector<AuditFinding> findings = Audit("library_e2e", R"(
namespace rlvr {
struct ThreadPool { void Run(int n); };
struct AllocationScope { AllocationScope(); };
void Go(ThreadPool* pool) { pool->Run(4); AllocationScope scope; }
}  // namespace rlvr
)",
                                             "", policy);
  EXPECT_THAT(findings, ElementsAre(Finding(AuditRule::kExternalReference, "AllocationScope")))
      << Lines(findings);
  EXPECT_THROW(LibraryDefinedSymbols(dir_ / "no_build", root, {}), std::runtime_error);
}

TEST(ObjectAuditListTest, PureListAcceptsMathMemoryRuntimeAndAllocation) {
  for (const char* name : {"expf",
                           "exp",
                           "logf",
                           "sqrtf",
                           "powf",
                           "tanhf",
                           "sinf",
                           "cosf",
                           "fmaf",
                           "floor",
                           "ceil",
                           "lround",
                           "erff",
                           "fabs",
                           "ldexp",
                           "frexp",
                           "sincos",
                           "__expf_finite",
                           "__log_finite",
                           "_ZGVdN8v_expf",
                           "_ZGVeN16vv_powf",
                           "memcpy",
                           "memmove",
                           "memset",
                           "memcmp",
                           "strlen",
                           "__cxa_throw",
                           "__cxa_allocate_exception",
                           "__cxa_begin_catch",
                           "__gxx_personality_v0",
                           "_Unwind_Resume",
                           "__stack_chk_fail",
                           "_Znwm",
                           "_ZdlPvm",
                           "_ZnwmSt11align_val_t",
                           "malloc",
                           "free",
                           "aligned_alloc",
                           "posix_memalign",
                           "__cxa_guard_acquire",
                           "__tls_get_addr",
                           "_ZSt20__throw_length_errorPKc",
                           "_ZSt17__throw_bad_allocv",
                           "_ZTISt16invalid_argument",
                           "_ZNSt16invalid_argumentC1EPKc",
                           "_ZNSt9bad_allocD1Ev",
                           "_ZTVN10__cxxabiv120__si_class_type_infoE",
                           "__cxa_atexit",
                           "__dso_handle",
                           "__extendhfsf2",
                           "__truncsfhf2",
                           "__udivti3",
                           "__popcountdi2",
                           "__floattisf",
                           "__cpu_model"}) {
    EXPECT_TRUE(IsPureReference(name)) << name;
  }
}

TEST(ObjectAuditListTest, PureListRejectsWhatKernelsMustNotDo) {
  for (const char* name :
       {"getenv",
        "secure_getenv",
        "__environ",
        "environ",
        "fopen",
        "open",
        "read",
        "write",
        "printf",
        "puts",
        "stdout",
        "stderr",
        "_ZSt4cout",
        "clock_gettime",
        "gettimeofday",
        "time",
        "_ZNSt6chrono3_V212steady_clock3nowEv",
        "pthread_create",
        "mmap",
        "mprotect",
        "dlopen",
        "dlsym",
        "syscall",
        "signal",
        "sigaction",
        "fork",
        "execve",
        "system",
        "popen",
        "memalign",
        "valloc",
        "lgamma",
        "__rlvr_finite",
        "__errno_location",
        "__sigsetjmp",
        "__open64",
        "__xstat",
        "__libc_start_main",
        "_ZGVdN8v_getenv",
        "_ZN9benchmark5State16PauseTimingEv",
        "_ZN7testing4TestC2Ev",
        "_ZNSt6thread15_M_start_threadESt10unique_ptrINS_6_StateESt14default_deleteIS1_EEPFvvE"}) {
    EXPECT_FALSE(IsPureReference(name)) << name;
  }
}

TEST(ObjectAuditListTest, GlobsAndDemangling) {
  EXPECT_TRUE(MatchesSymbolGlob("rlvr::*::arena", "rlvr::(anonymous namespace)::Arena()::arena"));
  EXPECT_FALSE(MatchesSymbolGlob("rlvr::*::arena", "rlvr::(anonymous namespace)::Arena()::arenas"));
  EXPECT_TRUE(MatchesSymbolGlob("rlvr::Run?", "rlvr::Run2"));
  EXPECT_FALSE(MatchesSymbolGlob("rlvr::Run?", "rlvr::Run"));
  EXPECT_TRUE(MatchesSymbolGlob("*", ""));
  EXPECT_EQ(DemangleSymbol("_ZZN4rlvr4GemmEiE5cache"), "rlvr::Gemm(int)::cache");
  EXPECT_EQ(DemangleSymbol("getenv"), "getenv");
  EXPECT_EQ(DemangleSymbol("_Zgarbage"), "_Zgarbage");
}

}  // namespace
}  // namespace rlvr
