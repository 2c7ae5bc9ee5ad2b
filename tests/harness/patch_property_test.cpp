// Property tests of the patch applier on real sources of this repository: random edits ->
// canonical diff -> (1) libgit2's applier and ours agree on the exact diff; (2) after random
// model-style damage ours still yields exactly the intended file, or refuses (only when line
// numbers were stripped and the context repeats) -- it never misapplies.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <git2.h>
#include <gtest/gtest.h>

#include "harness/patch/apply.h"
#include "harness/patch/diff.h"
#include "tests/harness/patch_test_util.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> SourceTexts() {
  std::vector<fs::path> paths;
  for (const char* folder : {"kernels", "kernels/reference"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(RLVR_SOURCE_DIR) / folder)) {
      std::string ext = entry.path().extension().string();
      if (ext == ".cpp" || ext == ".h") paths.push_back(entry.path());
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> texts;
  for (const fs::path& path : paths) {
    std::string text = ReadBytes(path);
    if (text.size() > 200) texts.push_back(text);
  }
  return texts;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// 1-4 edits (replace 0-3 lines by 0-3 new ones) at separate places of the file.
std::string RandomEdit(const std::string& original, std::mt19937& rng, int serial) {
  std::vector<std::string> lines = Lines(original);
  int edits = std::uniform_int_distribution<int>(1, 4)(rng);
  std::vector<size_t> spots;
  for (int e = 0; e < edits; ++e) spots.push_back(rng() % (lines.size() + 1));
  std::sort(spots.rbegin(), spots.rend());  // bottom-up keeps earlier spots valid
  for (size_t spot : spots) {
    size_t remove = std::min<size_t>(rng() % 4, lines.size() - spot);
    size_t add = rng() % 4;
    if (remove == 0 && add == 0) add = 1;
    std::vector<std::string> fresh;
    for (size_t a = 0; a < add; ++a) {
      fresh.push_back(lines[rng() % lines.size()] + " // edit " + std::to_string(serial));
    }
    lines.erase(lines.begin() + spot, lines.begin() + spot + remove);
    lines.insert(lines.begin() + spot, fresh.begin(), fresh.end());
  }
  return Join(lines);
}

// libgit2's own applier, on an in-memory tree holding one file.
class Libgit2Applier {
 public:
  Libgit2Applier() {
    git_libgit2_init();
    git_repository_init(&repo_, (dir_.path() / "repo.git").c_str(), 1);
  }
  ~Libgit2Applier() {
    git_repository_free(repo_);
    git_libgit2_shutdown();
  }
  // The file after applying `diff` to `original`, or "<refused>".
  std::string Apply(const std::string& path, const std::string& original, const std::string& diff) {
    git_oid blob_id, tree_id;
    git_blob_create_from_buffer(&blob_id, repo_, original.data(), original.size());
    git_treebuilder* builder = nullptr;
    git_treebuilder_new(&builder, repo_, nullptr);
    git_treebuilder_insert(nullptr, builder, path.c_str(), &blob_id, GIT_FILEMODE_BLOB);
    git_treebuilder_write(&tree_id, builder);
    git_treebuilder_free(builder);
    git_tree* tree = nullptr;
    git_tree_lookup(&tree, repo_, &tree_id);
    git_diff* parsed = nullptr;
    std::string out = "<refused>";
    git_index* index = nullptr;
    if (git_diff_from_buffer(&parsed, diff.data(), diff.size()) == 0 &&
        git_apply_to_tree(&index, repo_, tree, parsed, nullptr) == 0) {
      const git_index_entry* entry = git_index_get_bypath(index, path.c_str(), 0);
      git_blob* blob = nullptr;
      if (entry != nullptr && git_blob_lookup(&blob, repo_, &entry->id) == 0) {
        out.assign(static_cast<const char*>(git_blob_rawcontent(blob)), git_blob_rawsize(blob));
        git_blob_free(blob);
      }
    } else if (const git_error* error = git_error_last()) {
      out += error->message;
    }
    git_index_free(index);
    git_diff_free(parsed);
    git_tree_free(tree);
    return out;
  }

 private:
  TempDir dir_;
  git_repository* repo_ = nullptr;
};

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size()) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

struct Damaged {
  std::string reply;
  bool numbers_lost = false;
};

// Applies a random subset of the damage models do to diffs.
Damaged Damage(const std::string& diff, std::mt19937& rng) {
  Damaged out;
  std::vector<std::string> lines = Lines(diff);
  auto coin = [&rng]() { return rng() % 2 == 0; };
  bool strip_numbers = coin(), shift_numbers = coin(), blank_no_space = coin(),
       drop_git_header = coin(), drop_prefixes = coin(), reorder = coin();
  int shift = static_cast<int>(rng() % 80) - 40;
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> hunks;
  for (std::string& line : lines) {
    if (line.rfind("@@", 0) == 0) {
      if (strip_numbers) {
        line = "@@ ... @@";
        out.numbers_lost = true;
      } else if (shift_numbers) {
        int old_start = std::atoi(line.c_str() + 4);
        line = "@@ -" + std::to_string(std::max(1, old_start + shift)) + ",99 +1,1 @@";
      }
      hunks.push_back({line});
      continue;
    }
    if (blank_no_space && line == " ") line = "";
    if (drop_prefixes && (line.rfind("--- a/", 0) == 0 || line.rfind("+++ b/", 0) == 0)) {
      line = line.substr(0, 4) + line.substr(6);
    }
    if (drop_git_header && (line.rfind("diff --git", 0) == 0 || line.rfind("index ", 0) == 0)) {
      continue;
    }
    (hunks.empty() ? head : hunks.back()).push_back(line);
  }
  if (reorder) std::reverse(hunks.begin(), hunks.end());
  std::string text = Join(head);
  for (const auto& hunk : hunks) text += Join(hunk);
  if (coin()) text = "Here is my change:\n\n```diff\n" + text + "```\n\nIt should be faster.\n";
  if (coin()) text = ReplaceAll(text, "\n", "\r\n");
  if (coin()) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  }
  out.reply = text;
  return out;
}

TEST(PatchProperty, ExactDiffsAgreeWithLibgit2AndDamagedOnesNeverMisapply) {
  std::vector<std::string> sources = SourceTexts();
  ASSERT_FALSE(sources.empty());
  std::mt19937 rng(20261123);
  Libgit2Applier libgit2;
  const std::string path = "file.cpp";  // top level: the libgit2 tree is flat
  int applied = 0, refused = 0, trials = 300;
  for (int trial = 0; trial < trials; ++trial) {
    const std::string& original = sources[rng() % sources.size()];
    std::string intended = RandomEdit(original, rng, trial);
    if (intended == original) continue;
    std::string diff = GitDiff({{path, original, intended}});
    SCOPED_TRACE("trial " + std::to_string(trial) + "\n" + diff);
    ASSERT_EQ(libgit2.Apply(path, original, diff), intended);

    TempDir tree;
    WriteBytes(tree.path() / path, original);
    ApplyResult exact = ApplyReply(tree.path(), diff, {});
    ASSERT_TRUE(exact.applied) << exact.error;
    ASSERT_EQ(ReadBytes(tree.path() / path), intended);
    EXPECT_EQ(exact.diff, diff);

    WriteBytes(tree.path() / path, original);
    Damaged damaged = Damage(diff, rng);
    SCOPED_TRACE("damaged reply:\n" + damaged.reply);
    ApplyResult result = ApplyReply(tree.path(), damaged.reply, {});
    if (result.applied) {
      ++applied;
      ASSERT_EQ(ReadBytes(tree.path() / path), intended) << "misapplied";
    } else {
      ++refused;
      EXPECT_EQ(ReadBytes(tree.path() / path), original);
      EXPECT_TRUE(damaged.numbers_lost && result.error.find("places") != std::string::npos)
          << "refused a recoverable patch: " << result.error;
    }
  }
  std::printf("damaged patches: %d applied exactly, %d refused (ambiguous), 0 misapplied\n",
              applied, refused);
  EXPECT_GE(applied, trials * 9 / 10) << refused << " refused";
}

}  // namespace
}  // namespace rlvr
