// What `rlvr init` reads as a repository's Google Benchmark registrations when they are written
// through the file's own macros (zlib-ng's BENCHMARK_ADLER32(c, adler32_c, 1)), through fixtures
// (BENCHMARK_F, BENCHMARK_REGISTER_F) and templates, and the constant expressions of their sizes;
// and the macro expander (repo/macro_expander.h) that makes this possible without a build.
#include "harness/repo/registered_benchmarks.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/repo/macro_expander.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::Not;

// The FullName()s FindBenchmarks reads from a file holding `text`.
std::vector<std::string> Registered(const std::string& text) {
  fs::path root = fs::temp_directory_path() / "rlvr-registered-benchmarks";
  fs::remove_all(root);
  fs::create_directories(root);
  std::ofstream(root / "bench.cc") << text;
  RepoInspection in;
  FindBenchmarks(root, {"bench.cc"}, in);
  fs::remove_all(root);
  std::vector<std::string> names;
  for (const auto& b : in.benchmarks) names.push_back(b.FullName());
  return names;
}

TEST(RegisteredBenchmarks, ThroughTheFilesOwnMacroAsZlibNgWritesThem) {
  EXPECT_THAT(
      Registered(
          "#define MAX_RANDOM_INTS (1024 * 1024)\n"
          "#define MAX_RANDOM_INTS_SIZE (MAX_RANDOM_INTS * sizeof(uint32_t))\n"
          "#define BENCHMARK_ADLER32(name, fptr, support_flag) \\\n"
          "    BENCHMARK_DEFINE_F(adler32, name)(benchmark::State& state) { \\\n"
          "        if (!support_flag) { \\\n"
          "            state.SkipWithError(\"CPU does not support \" #name); \\\n"
          "        } \\\n"
          "        Bench(state, fptr); \\\n"
          "    } \\\n"
          "    BENCHMARK_REGISTER_F(adler32, name)->Arg(1)->Arg(4<<10)->Arg(4096<<10)\n"
          "BENCHMARK_ADLER32(c, adler32_c, 1);\n"
          "#ifdef X86_AVX2\n"
          "BENCHMARK_ADLER32(avx2, adler32_avx2, test_cpu_features.x86.has_avx2);\n"
          "#endif\n"
          "// BENCHMARK_ADLER32(commented, adler32_x, 1);\n"
          "/* BENCHMARK(BM_Commented); */\n"
          "#define BENCHMARK_COPY(name) \\\n"
          "    BENCHMARK_REGISTER_F(adler32_copy, name)->Range(8192, MAX_RANDOM_INTS_SIZE);\n"
          "BENCHMARK_COPY(c);\n"),
      ElementsAre("adler32/c/4194304", "adler32/avx2/4194304", "adler32_copy/c/4194304"));
}

TEST(RegisteredBenchmarks, PlainFixtureCaptureAndTemplateRegistrations) {
  EXPECT_THAT(
      Registered("BENCHMARK(BM_Blur)->Range(8, 8 << 10);\n"
                 "BENCHMARK(BM_Sharpen);\n"
                 "BENCHMARK_CAPTURE(BM_Copy, small, 16)->Arg(64);\n"
                 "BENCHMARK_F(Fix, Run)(benchmark::State& state) { for (auto _ : state) {} }\n"
                 "BENCHMARK_TEMPLATE(BM_Sum, float)->Args({4, 1 << 10});\n"
                 "MY_BENCHMARK(BM_NotGoogleBenchmark);\n"
                 "BENCHMARK_MAIN();\n"),
      ElementsAre("BM_Blur/8192", "BM_Sharpen", "BM_Copy/small/64", "Fix/Run",
                  "BM_Sum<float>/4/1024"));
}

TEST(MacroExpander, StringizesPastesAndStopsRecursion) {
  std::string out = ExpandOwnMacros(
      "#define STR(x) #x\n#define CAT(a, b) a ## b\n#define SELF SELF + 1\n"
      "#define VA(f, ...) f(__VA_ARGS__)\n"
      "STR(hello) CAT(foo, bar) SELF VA(g, 1, 2) \"CAT(in, string)\"\n");
  EXPECT_THAT(out, HasSubstr("\"hello\""));
  EXPECT_THAT(out, HasSubstr("foobar"));
  EXPECT_THAT(out, HasSubstr("SELF + 1"));
  EXPECT_THAT(out, HasSubstr("g(1, 2)"));
  EXPECT_THAT(out, HasSubstr("\"CAT(in, string)\""));
  EXPECT_THAT(out, Not(HasSubstr("#define")));
}

TEST(MacroExpander, EvaluatesIntegerConstantExpressions) {
  EXPECT_EQ(EvaluateIntegerExpression("4096<<10"), 4194304);
  EXPECT_EQ(EvaluateIntegerExpression("((1024 * 1024) * sizeof(uint32_t))"), 4194304);
  EXPECT_EQ(EvaluateIntegerExpression("0x10u + 1"), 17);
  EXPECT_EQ(EvaluateIntegerExpression("(size_t)1 << 20"), 1048576);
  EXPECT_EQ(EvaluateIntegerExpression("10 - 2 * 3"), 4);
  EXPECT_FALSE(EvaluateIntegerExpression("MAX_SIZE").has_value());
  EXPECT_FALSE(EvaluateIntegerExpression("1 / 0").has_value());
  EXPECT_FALSE(EvaluateIntegerExpression("f(3)").has_value());
}

}  // namespace
}  // namespace rlvr
