// Path rules of the patch applier: normalisation, refusals, globs and on-disk safety checks.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "harness/git/repo.h"
#include "harness/patch/paths.h"
#include "tests/harness/patch_test_util.h"

namespace rlvr {
namespace {

TEST(PatchPaths, NormalizesHarmlessForms) {
  std::string why;
  EXPECT_EQ(NormalizePatchPath("./kernels//gemm.cpp", &why).value_or("?"), "kernels/gemm.cpp");
  EXPECT_EQ(NormalizePatchPath("kernels\\gemm.cpp", &why).value_or("?"), "kernels/gemm.cpp");
}

TEST(PatchPaths, RefusesEscapesAndGitDir) {
  std::string why;
  EXPECT_FALSE(NormalizePatchPath("../x.cpp", &why));
  EXPECT_NE(why.find("leaves the repository"), std::string::npos);
  EXPECT_FALSE(NormalizePatchPath("kernels/../../x.cpp", &why));
  EXPECT_FALSE(NormalizePatchPath("/etc/passwd", &why));
  EXPECT_NE(why.find("absolute"), std::string::npos);
  EXPECT_FALSE(NormalizePatchPath("C:/x.cpp", &why));
  EXPECT_FALSE(NormalizePatchPath(".git/config", &why));
  EXPECT_FALSE(NormalizePatchPath("sub/.git/hooks/x", &why));
  EXPECT_FALSE(NormalizePatchPath("", &why));
  EXPECT_FALSE(NormalizePatchPath("./", &why));
}

TEST(PatchPaths, GlobSemantics) {
  EXPECT_TRUE(GlobMatch("kernels/*.cpp", "kernels/gemm.cpp"));
  EXPECT_FALSE(GlobMatch("kernels/*.cpp", "kernels/reference/gemm_ref.cpp"));
  EXPECT_TRUE(GlobMatch("kernels/**", "kernels/reference/gemm_ref.cpp"));
  EXPECT_TRUE(GlobMatch("kernels/**/*.cpp", "kernels/gemm.cpp"));
  EXPECT_TRUE(GlobMatch("kernels/**/*.cpp", "kernels/a/b/c.cpp"));
  EXPECT_FALSE(GlobMatch("kernels/**/*.cpp", "harness/a.cpp"));
  EXPECT_TRUE(GlobMatch("kernels/gem?.cpp", "kernels/gemm.cpp"));
  EXPECT_FALSE(GlobMatch("kernels/gem?.cpp", "kernels/gem.cpp"));
  EXPECT_FALSE(GlobMatch("*.cpp", "kernels/gemm.cpp"));
  EXPECT_TRUE(GlobMatch("**", "a/b"));
  EXPECT_TRUE(PathAllowed({}, "anything"));
  EXPECT_FALSE(PathAllowed({"a/*", "b/*"}, "c/x"));
  EXPECT_TRUE(PathAllowed({"a/*", "b/*"}, "b/x"));
}

TEST(PatchPaths, RefusesSymlinksOnDisk) {
  TempDir dir;
  WriteBytes(dir.path() / "real/file.cpp", "x\n");
  std::filesystem::create_directory_symlink(dir.path() / "real", dir.path() / "link");
  std::filesystem::create_symlink(dir.path() / "real/file.cpp", dir.path() / "alias.cpp");
  EXPECT_EQ(CheckPathOnDisk(dir.path(), "real/file.cpp"), "");
  EXPECT_EQ(CheckPathOnDisk(dir.path(), "real/new.cpp"), "");
  EXPECT_NE(CheckPathOnDisk(dir.path(), "link/file.cpp").find("symlink"), std::string::npos);
  EXPECT_NE(CheckPathOnDisk(dir.path(), "alias.cpp").find("symlink"), std::string::npos);
  EXPECT_NE(CheckPathOnDisk(dir.path(), "real").find("not a regular file"), std::string::npos);
}

TEST(Repo, FindsRootFromSubdirectory) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / ".git");
  std::filesystem::create_directories(dir.path() / "a/b");
  auto root = FindRepoRoot(dir.path() / "a/b");
  ASSERT_TRUE(root);
  EXPECT_EQ(std::filesystem::canonical(*root), std::filesystem::canonical(dir.path()));
}

}  // namespace
}  // namespace rlvr
