// Stored baselines: JSON round trip, atomic writes, clear errors on bad files, host facts and
// drift, and measuring a baseline from the fake benchmark binary.
#include "harness/bench/baseline.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rlvr {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const std::string kFakeBench = RLVR_FIXTURES_DIR "/bench_fake/fake_bench.py";

class BaselineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rlvr_baseline_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }
  fs::path dir_;
};

Baseline Sample() {
  Baseline b;
  b.target = "gemm";
  b.commit = "abc123";
  b.recorded_at = "2026-11-23T16:00:00Z";
  b.host = {"AMD Test (2 cores)", "g++ 12.2.0", "-O3 -march=native"};
  b.benchmarks["BM_Gemm/1024"] = {1.0e7, {1.1e7, 1.0e7, 0.9e7}, {{"GFLOPS", 200}}};
  b.references["BM_PeakFma"] = {5.0e6, {}, {{"GFLOPS", 400}}};
  return b;
}

TEST_F(BaselineTest, RoundTripsThroughAFileInTheDesignFormat) {
  fs::path path = BaselinePath(dir_, "gemm");
  EXPECT_EQ(path, dir_ / "baselines" / "gemm.json");
  WriteBaselineFile(path, Sample());
  nlohmann::json j = nlohmann::json::parse(std::ifstream(path));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["cpu"], "AMD Test (2 cores)");
  EXPECT_EQ(j["benchmarks"]["BM_Gemm/1024"]["median_ns"], 1.0e7);
  EXPECT_EQ(j["benchmarks"]["BM_Gemm/1024"]["samples_ns"].size(), 3u);
  EXPECT_EQ(j["references"]["BM_PeakFma"]["counters"]["GFLOPS"], 400);
  EXPECT_FALSE(j["references"]["BM_PeakFma"].contains("samples_ns"));

  Baseline back = ReadBaselineFile(path);
  EXPECT_EQ(back.ToJson(), Sample().ToJson());
  // No temporary file is left behind.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_ / "baselines")) files += !!entry.exists();
  EXPECT_EQ(files, 1);
}

TEST_F(BaselineTest, BadFilesGiveClearErrors) {
  EXPECT_THROW(
      {
        try {
          ReadBaselineFile(dir_ / "missing.json");
        } catch (const BaselineError& e) {
          EXPECT_THAT(e.what(), HasSubstr("cannot read"));
          throw;
        }
      },
      BaselineError);
  auto expect_error = [&](const std::string& text, const std::string& message) {
    Write(dir_ / "bad.json", text);
    try {
      ReadBaselineFile(dir_ / "bad.json");
      ADD_FAILURE() << "no error for " << text;
    } catch (const BaselineError& e) {
      EXPECT_THAT(e.what(), HasSubstr(message)) << text;
    }
  };
  expect_error("{not json", "not valid JSON");
  expect_error(R"({"version": 2, "target": "x"})", "version 2");
  expect_error(R"({"version": 1})", "target");
  expect_error(R"({"version": 1, "target": "x", "benchmarks": {"BM": {}}})", "benchmarks.BM");
  expect_error(R"({"version": 1, "target": "x", "benchmarks": {"BM": {"median_ns": 1,
               "samples_ns": "oops"}}})",
               "wrong type");
}

TEST_F(BaselineTest, DriftNamesWhatChanged) {
  HostFacts a{"AMD A (2 cores)", "g++ 12.2.0", "-O3"};
  EXPECT_EQ(DescribeDrift(a, a), "");
  HostFacts b = a;
  b.compiler = "clang++ 14.0.6";
  b.cpu = "Intel B (8 cores)";
  EXPECT_EQ(DescribeDrift(a, b),
            "cpu: AMD A (2 cores) -> Intel B (8 cores); compiler: g++ 12.2.0 -> clang++ 14.0.6");
}

TEST_F(BaselineTest, HostFactsReadTheBuildCache) {
  Write(dir_ / "CMakeCache.txt",
        "CMAKE_CXX_COMPILER:FILEPATH=/usr/bin/c++\nCMAKE_BUILD_TYPE:STRING=Release\n"
        "CMAKE_CXX_FLAGS:STRING=\nCMAKE_CXX_FLAGS_RELEASE:STRING=-O3 -DNDEBUG\n"
        "RLVR_NATIVE:BOOL=ON\n");
  HostFacts facts = CurrentHostFacts(dir_);
  EXPECT_EQ(facts.flags, "-O3 -DNDEBUG -march=native");
  EXPECT_THAT(facts.cpu, HasSubstr("cores)"));
  EXPECT_THAT(facts.compiler, ::testing::MatchesRegex("(g\\+\\+|c\\+\\+|clang).* [0-9.]+"));
}

TEST_F(BaselineTest, MeasuresBenchmarksAndReferencesSeparately) {
  Target target;
  target.name = "fake";
  target.benchmarks = "^BM_Fast$";
  target.primary = {"BM_Fast"};
  target.references = {"BM_Ref"};
  BenchRunSettings settings;
  settings.min_time_seconds = 0.01;
  BaselineMeasurement m =
      MeasureBaseline({kFakeBench}, target, 3, settings, BenchMetric::kRealTime, {});
  ASSERT_TRUE(m.ok) << m.message;
  ASSERT_EQ(m.baseline.benchmarks.size(), 1u);
  const BaselineEntry& fast = m.baseline.benchmarks.at("BM_Fast");
  EXPECT_EQ(fast.samples_ns.size(), 3u);
  EXPECT_NEAR(fast.median_ns, 1000, 200);
  EXPECT_EQ(fast.counters.at("items_per_second"), 1e9);
  ASSERT_EQ(m.baseline.references.count("BM_Ref"), 1u);
  EXPECT_NEAR(m.baseline.references.at("BM_Ref").median_ns, 2000, 400);
  EXPECT_EQ(m.baseline.benchmarks.count("BM_Slow/64"), 0u);  // outside the filter
}

TEST_F(BaselineTest, MeasureReportsAFailingBinaryOrMissingPrimary) {
  Target target;
  target.name = "fake";
  target.benchmarks = ".";
  target.primary = {"BM_Fast"};
  RunOptions options;
  options.env["FAKE_BENCH_ERROR"] = "BM_Slow/64";
  BaselineMeasurement m =
      MeasureBaseline({kFakeBench}, target, 2, {}, BenchMetric::kRealTime, options);
  EXPECT_FALSE(m.ok);
  EXPECT_THAT(m.message, HasSubstr("BM_Slow/64: output mismatch"));
  target.primary = {"BM_Nope"};
  m = MeasureBaseline({kFakeBench}, target, 1, {}, BenchMetric::kRealTime, {});
  EXPECT_FALSE(m.ok);
  EXPECT_THAT(m.message, HasSubstr("BM_Nope did not run"));
}

}  // namespace
}  // namespace rlvr
