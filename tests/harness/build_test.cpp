// Configure follows the request: a build dir is reused only while it was configured with the same
// source dir, build dir, configure args and cmake; otherwise it is wiped and configured afresh,
// and the outcome says why. Also CMake projects in a source subdirectory.
#include "harness/candidate/build.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "harness/base/file_text.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A project that needs no compiler (configures in a fraction of a second) and records the FOO it
// was configured with, so a test sees which configuration the build dir holds.
constexpr const char* kProject = R"(cmake_minimum_required(VERSION 3.20)
project(stamp_probe LANGUAGES NONE)
if(FOO STREQUAL "bad")
  message(FATAL_ERROR "FOO is bad")
endif()
file(WRITE ${CMAKE_BINARY_DIR}/foo.txt "${FOO}")
add_custom_target(probe ALL COMMAND ${CMAKE_COMMAND} -E touch ${CMAKE_BINARY_DIR}/built.txt)
)";

class BuildConfigureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rlvr-build-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    temp_ = pattern;
    source_ = temp_ / "src";
    build_ = temp_ / "build";
    WriteText(source_ / "CMakeLists.txt", kProject);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }

  BuildRequest Request(const std::string& foo) const {
    BuildRequest request;
    request.source_dir = source_;
    request.build_dir = build_;
    request.configure_args = {"-DFOO=" + foo};
    request.timeout_seconds = 120;
    return request;
  }
  std::string ConfiguredFoo() const { return ReadFileText(build_ / "foo.txt"); }
  // A file cmake never writes: it survives only while the build dir is reused.
  void Mark() const { WriteText(build_ / "marker", "x"); }
  bool Marked() const { return fs::exists(build_ / "marker"); }

  fs::path temp_, source_, build_;
};

TEST_F(BuildConfigureTest, FirstConfigureRecordsTheStamp) {
  BuildOutcome outcome = Configure(Request("1"));
  ASSERT_TRUE(outcome.ok) << outcome.message << "\n" << outcome.detail;
  EXPECT_EQ(outcome.reconfigured, "");
  EXPECT_EQ(ConfiguredFoo(), "1");
  std::string stamp = ReadFileText(build_ / kConfigureStampName);
  EXPECT_THAT(stamp, HasSubstr("-DFOO=1"));
  EXPECT_THAT(stamp, HasSubstr("cmake version"));
  EXPECT_EQ(StaleBuildReason(Request("1")), "");
}

TEST_F(BuildConfigureTest, UnchangedRequestReusesTheBuildDir) {
  ASSERT_TRUE(Configure(Request("1")).ok);
  Mark();
  BuildOutcome again = Configure(Request("1"));
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_EQ(again.reconfigured, "");
  EXPECT_EQ(again.message, "");
  EXPECT_TRUE(Marked()) << "an unchanged build dir must not be wiped";
  BuildOutcome built = ConfigureAndBuild(Request("1"));
  ASSERT_TRUE(built.ok) << built.message << "\n" << built.detail;
  EXPECT_EQ(built.message, "built");
  EXPECT_TRUE(fs::exists(build_ / "built.txt"));
  EXPECT_TRUE(Marked());
}

TEST_F(BuildConfigureTest, ChangedConfigureArgsReconfigureFromScratch) {
  ASSERT_TRUE(Configure(Request("1")).ok);
  Mark();
  EXPECT_THAT(StaleBuildReason(Request("2")), StartsWith("reconfigured: configure_args changed"));
  BuildOutcome outcome = ConfigureAndBuild(Request("2"));
  ASSERT_TRUE(outcome.ok) << outcome.message << "\n" << outcome.detail;
  EXPECT_THAT(outcome.reconfigured, StartsWith("reconfigured: configure_args changed"));
  EXPECT_THAT(outcome.reconfigured, HasSubstr("-DFOO=1"));
  EXPECT_THAT(outcome.message, StartsWith("built; reconfigured: configure_args changed"));
  EXPECT_EQ(ConfiguredFoo(), "2");
  EXPECT_FALSE(Marked()) << "a stale build dir must be wiped, not patched";
  // Now recorded with the new args: the next request is incremental again.
  EXPECT_EQ(Configure(Request("2")).reconfigured, "");
}

TEST_F(BuildConfigureTest, MovedSourceDirReconfigures) {
  ASSERT_TRUE(Configure(Request("1")).ok);
  Mark();
  fs::path moved = temp_ / "moved-src";
  fs::rename(source_, moved);
  source_ = moved;
  BuildOutcome outcome = Configure(Request("1"));
  ASSERT_TRUE(outcome.ok) << outcome.message << "\n" << outcome.detail;
  EXPECT_THAT(outcome.reconfigured, StartsWith("reconfigured: the build dir was configured for"));
  EXPECT_THAT(outcome.message, HasSubstr("moved-src"));
  EXPECT_FALSE(Marked());
  EXPECT_THAT(ReadFileText(build_ / "CMakeCache.txt"), HasSubstr(moved.filename().string()));
}

TEST_F(BuildConfigureTest, RepositoryCopiedWithItsBuildDirReconfigures) {
  ASSERT_TRUE(Configure(Request("1")).ok);
  // As when a repository is copied along with its .rlvr/: both paths change, and the copied cache
  // still names the old ones.
  fs::path copy = temp_ / "copy";
  fs::create_directories(copy);
  fs::copy(source_, copy / "src", fs::copy_options::recursive);
  fs::copy(build_, copy / "build", fs::copy_options::recursive);
  source_ = copy / "src";
  build_ = copy / "build";
  Mark();
  BuildOutcome outcome = ConfigureAndBuild(Request("1"));
  ASSERT_TRUE(outcome.ok) << outcome.message << "\n" << outcome.detail;
  EXPECT_THAT(outcome.reconfigured, StartsWith("reconfigured: "));
  EXPECT_FALSE(Marked());
  std::string cache = ReadFileText(build_ / "CMakeCache.txt");
  EXPECT_THAT(cache, HasSubstr((copy / "src").string()));
  EXPECT_THAT(cache, HasSubstr((copy / "build").string()));
}

TEST_F(BuildConfigureTest, BuildDirWithoutStampIsReconfigured) {
  ASSERT_TRUE(Configure(Request("1")).ok);
  fs::remove(build_ / kConfigureStampName);  // as left by an older rlvr, or a killed configure
  BuildOutcome outcome = Configure(Request("1"));
  ASSERT_TRUE(outcome.ok) << outcome.message;
  EXPECT_THAT(outcome.reconfigured, HasSubstr("no record"));
  EXPECT_TRUE(fs::exists(build_ / kConfigureStampName));
}

TEST_F(BuildConfigureTest, FailedConfigureLeavesNothingToReuse) {
  ASSERT_TRUE(Configure(Request("1")).ok);
  BuildOutcome bad = Configure(Request("bad"));
  EXPECT_FALSE(bad.ok);
  EXPECT_THAT(bad.message, StartsWith("cmake configure failed"));
  EXPECT_THAT(bad.message, HasSubstr("reconfigured: configure_args changed"));
  EXPECT_THAT(bad.detail, HasSubstr("FOO is bad"));
  EXPECT_FALSE(fs::exists(build_ / "CMakeCache.txt"));
  EXPECT_FALSE(fs::exists(build_ / kConfigureStampName));
  BuildOutcome good = Configure(Request("1"));
  ASSERT_TRUE(good.ok) << good.message;
  EXPECT_EQ(ConfiguredFoo(), "1");
}

TEST_F(BuildConfigureTest, ProjectInASourceSubdirectory) {
  fs::remove(source_ / "CMakeLists.txt");
  WriteText(source_ / "cmake" / "CMakeLists.txt", kProject);
  BuildRequest request = Request("1");
  BuildOutcome missing = Configure(request);
  EXPECT_FALSE(missing.ok);
  request.source_subdir = "cmake";
  EXPECT_EQ(request.CMakeSourceDir(), source_ / "cmake");
  BuildOutcome outcome = ConfigureAndBuild(request);
  ASSERT_TRUE(outcome.ok) << outcome.message << "\n" << outcome.detail;
  EXPECT_EQ(ConfiguredFoo(), "1");
  EXPECT_EQ(StaleBuildReason(request), "");
  // Pointing at another subdirectory is a different source: reconfigured, not reused.
  WriteText(source_ / "other" / "CMakeLists.txt", kProject);
  request.source_subdir = "other";
  EXPECT_THAT(StaleBuildReason(request), StartsWith("reconfigured: "));
  request.source_subdir = "nowhere";
  BuildOutcome bad = Configure(request);
  EXPECT_FALSE(bad.ok);
  EXPECT_THAT(bad.message, HasSubstr("no CMakeLists.txt in source_subdir \"nowhere\""));
}

// The sanitizer and portable builds add their flags to configure_args' flags variables instead of
// replacing them, so they compile what the other gates compile.
TEST(MergeConfigureArgsTest, FlagsVariablesAreAppendedToOthersAdded) {
  EXPECT_THAT(MergeConfigureArgs({"-G", "Ninja", "-DCMAKE_C_FLAGS=-O2 -DUSE_FAST=1"},
                                 {"-DCMAKE_C_FLAGS=-fsanitize=address", "-DCK_SANITIZE=ON"}),
              ElementsAre("-G", "Ninja", "-DCMAKE_C_FLAGS=-O2 -DUSE_FAST=1 -fsanitize=address",
                          "-DCK_SANITIZE=ON"));
  EXPECT_THAT(MergeConfigureArgs({"-DCMAKE_CXX_FLAGS:STRING=-mavx2"},
                                 {"-DCMAKE_CXX_FLAGS=-march=x86-64-v2",
                                  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address"}),
              ElementsAre("-DCMAKE_CXX_FLAGS:STRING=-mavx2 -march=x86-64-v2",
                          "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address"));
  // Other variables are added as they are (CMake takes the last -D of a name).
  EXPECT_THAT(MergeConfigureArgs({"-DCMAKE_BUILD_TYPE=Release"}, {"-DCMAKE_BUILD_TYPE=Debug"}),
              ElementsAre("-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_BUILD_TYPE=Debug"));
}

}  // namespace
}  // namespace rlvr
