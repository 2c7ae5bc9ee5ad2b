// Runs the applier over the damaged-patch corpus in tests/fixtures/patches: every positive case
// must give exactly the expected tree, every negative must be refused with the expected reason
// and leave the tree byte-for-byte untouched.
#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/patch/apply.h"
#include "tests/harness/patch_test_util.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fs::path(RLVR_FIXTURES_DIR) / "patches")) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

class PatchCorpusTest : public testing::TestWithParam<std::string> {};

TEST_P(PatchCorpusTest, AppliesExactlyOrRefusesUntouched) {
  fs::path dir = fs::path(RLVR_FIXTURES_DIR) / "patches" / GetParam();
  TempDir tree;
  fs::copy(dir / "before", tree.path(), fs::copy_options::recursive);
  auto before = SnapshotTree(tree.path());
  ApplyOptions options;
  if (fs::exists(dir / "allow")) {
    std::istringstream globs(ReadBytes(dir / "allow"));
    for (std::string glob; std::getline(globs, glob);) {
      if (!glob.empty()) options.allowed_globs.push_back(glob);
    }
  }
  ApplyResult result = ApplyReply(tree.path(), ReadBytes(dir / "reply.txt"), options);
  if (fs::exists(dir / "expect-refuse")) {
    std::string reason = Trimmed(ReadBytes(dir / "expect-refuse"));
    EXPECT_FALSE(result.applied) << "diff:\n" << result.diff;
    EXPECT_NE(result.error.find(reason), std::string::npos)
        << "expected reason '" << reason << "', got: " << result.error;
    EXPECT_EQ(SnapshotTree(tree.path()), before) << "a refused patch changed the tree";
  } else {
    ASSERT_TRUE(result.applied) << result.error;
    auto expected = SnapshotTree(dir / "after");
    auto actual = SnapshotTree(tree.path());
    EXPECT_EQ(actual, expected);
    EXPECT_FALSE(result.diff.empty());
    EXPECT_FALSE(result.changed_files.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, PatchCorpusTest, testing::ValuesIn(CaseNames()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(PatchCorpus, HasPositivesAndNegatives) {
  int positives = 0, negatives = 0;
  for (const std::string& name : CaseNames()) {
    fs::path dir = fs::path(RLVR_FIXTURES_DIR) / "patches" / name;
    (fs::exists(dir / "expect-refuse") ? negatives : positives)++;
  }
  EXPECT_GE(positives, 20);
  EXPECT_GE(negatives, 15);
}

}  // namespace
}  // namespace rlvr
