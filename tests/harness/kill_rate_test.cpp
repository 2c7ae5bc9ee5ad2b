// Trivial compiler equivalence for `rlvr check --mutants` (harness/repo/kill_rate.h): a mutant
// whose object code is HEAD's is equivalent (no test could tell it apart), any other is not.
#include "harness/repo/kill_rate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "harness/base/process.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

class SameObjectCodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rlvr-tce-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Compiles `source` (C) as <name>.o in a folder of its own, with debug information (which
  // names the folder, and must not count).
  fs::path Compile(const std::string& name, const std::string& source) {
    fs::create_directories(dir_ / name);
    fs::path c = dir_ / name / "k.c";
    std::ofstream(c) << source;
    fs::path o = dir_ / name / "k.o";
    ProcessResult result = RunProcess({"cc", "-O2", "-g", "-c", c.string(), "-o", o.string()});
    EXPECT_TRUE(result.ok()) << result.err;
    return o;
  }
  fs::path dir_;
};

TEST_F(SameObjectCodeTest, AMutantCompilingToTheSameCodeIsEquivalent) {
  fs::path head = Compile("head", "int f(int x) { return x * 2; }\n");
  // x + x is x * 2 to the optimiser: the classic equivalent mutant.
  fs::path same = Compile("same", "int f(int x) {\n  return x + x;\n}\n");
  fs::path other = Compile("other", "int f(int x) { return x * 3; }\n");
  fs::path renamed = Compile("renamed", "int g(int x) { return x * 2; }\n");
  EXPECT_TRUE(SameObjectCode(head, same));
  EXPECT_FALSE(SameObjectCode(head, other));
  EXPECT_FALSE(SameObjectCode(head, renamed));  // symbols count
  EXPECT_FALSE(SameObjectCode(head, dir_ / "missing.o"));
}

}  // namespace
}  // namespace rlvr
