// The "executor" section of rlvr.json: defaults when absent, every field read, and a clear error
// naming the field for unknown fields, wrong types and bad values.
#include "harness/executors/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace rlvr {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(ExecutorConfigTest, AbsentSectionMeansLocal) {
  ExecutorConfig config = ExecutorConfigFromJson(json{{"targets", json::array()}});
  EXPECT_EQ(config.kind, "local");
  EXPECT_EQ(config.max_jobs, 4);
  EXPECT_EQ(config.max_tries, 3);
  EXPECT_TRUE(config.sbatch_args.empty());
  EXPECT_EQ(ExecutorConfigFromJson(json()).kind, "local");  // an unreadable rlvr.json
}

TEST(ExecutorConfigTest, ReadsEveryField) {
  json rlvr = json::parse(R"({"executor": {
      "kind": "slurm", "partition": "checks", "bench_partition": "bench",
      "bench_constraint": "icelake", "sbatch_args": ["--time=60", "--cpus-per-task=4"],
      "max_jobs": 12, "max_tries": 5, "max_queue_seconds": 600,
      "rlvr_binary": "/shared/bin/rlvr", "node_cache": "/scratch/rlvr", "split_stages": false}})");
  ExecutorConfig config = ExecutorConfigFromJson(rlvr);
  EXPECT_EQ(config.node_cache, "/scratch/rlvr");
  EXPECT_FALSE(config.split_stages);
  EXPECT_TRUE(ExecutorConfigFromJson(json::parse(R"({"executor": {}})")).split_stages);
  EXPECT_EQ(config.kind, "slurm");
  EXPECT_EQ(config.partition, "checks");
  EXPECT_EQ(config.bench_partition, "bench");
  EXPECT_EQ(config.bench_constraint, "icelake");
  EXPECT_EQ(config.sbatch_args, (std::vector<std::string>{"--time=60", "--cpus-per-task=4"}));
  EXPECT_EQ(config.max_jobs, 12);
  EXPECT_EQ(config.max_tries, 5);
  EXPECT_EQ(config.max_queue_seconds, 600);
  EXPECT_EQ(config.rlvr_binary, "/shared/bin/rlvr");
}

TEST(ExecutorConfigTest, RefusesWhatItDoesNotUnderstand) {
  auto error = [](const std::string& section) {
    try {
      ExecutorConfigFromJson(json::parse(R"({"executor": )" + section + "}"));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_THAT(error(R"({"kind": "kubernetes"})"), HasSubstr("executor.kind"));
  EXPECT_THAT(error(R"({"partiton": "x"})"), HasSubstr("executor.partiton: unknown field"));
  EXPECT_THAT(error(R"({"max_jobs": 0})"), HasSubstr("executor.max_jobs"));
  EXPECT_THAT(error(R"({"max_jobs": "4"})"), HasSubstr("must be an integer"));
  EXPECT_THAT(error(R"({"sbatch_args": "--time=60"})"), HasSubstr("executor.sbatch_args"));
  EXPECT_THAT(error(R"({"sbatch_args": [60]})"), HasSubstr("must be a string"));
  EXPECT_THAT(error(R"({"max_queue_seconds": -1})"), HasSubstr("must not be negative"));
  EXPECT_THAT(error(R"("slurm")"), HasSubstr("must be an object"));
  EXPECT_EQ(error(R"({"kind": "slurm", "max_jobs": 2})"), "accepted");
}

}  // namespace
}  // namespace rlvr
