// Test helper: a throw-away git repository holding THIS repository's tracked files as they are in
// the working tree (so a developer's uncommitted edits of kernels, tests or rlvr.json are what the
// test sees), for integration tests that evaluate candidates against the real kernels. The copy
// lives in a fresh temporary directory, is `git init`ed with one commit on branch `main`, and is
// deleted when the FixtureRepo goes out of scope. Untracked files (build directories, .rlvr/) are
// not copied; tracked files deleted in the working tree are left out.
//
// Header-only on purpose: tests/CMakeLists.txt compiles only tests/harness/*_test.cpp.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include <unistd.h>

#include "tests/harness/fixture_repo.h"

namespace rlvr {

// Copies the files `git ls-files` lists in `source_dir` (default RLVR_SOURCE_DIR) into a new temp
// dir and commits them ("source snapshot").
inline FixtureRepo MakeSourceRepo(const std::filesystem::path& source_dir = RLVR_SOURCE_DIR) {
  namespace fs = std::filesystem;
  std::string pattern = (fs::temp_directory_path() / "rlvr-source-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  FixtureRepo repo{fs::path(pattern)};
  const std::string listing = fixture_detail::RunShell(
      "git -C " + fixture_detail::ShellQuote(source_dir.string()) + " ls-files -z");
  size_t copied = 0;
  for (size_t begin = 0; begin < listing.size();) {
    size_t end = listing.find('\0', begin);
    if (end == std::string::npos) end = listing.size();
    const fs::path relative = listing.substr(begin, end - begin);
    begin = end + 1;
    if (relative.empty()) continue;
    const fs::path from = source_dir / relative;
    std::error_code ec;
    const fs::file_status status = fs::symlink_status(from, ec);
    if (ec || !fs::exists(status)) continue;  // deleted in the working tree
    const fs::path to = repo.path() / relative;
    fs::create_directories(to.parent_path());
    if (fs::is_symlink(status)) {
      fs::copy_symlink(from, to);
    } else if (fs::is_regular_file(status)) {
      fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    } else {
      continue;  // a submodule or other special entry
    }
    ++copied;
  }
  if (copied == 0) throw std::runtime_error("no tracked files in " + source_dir.string());
  repo.Git("init -q -b main");
  repo.Git("add -A -f");  // only tracked files were copied; some may match .gitignore
  repo.Git("commit -q -m 'source snapshot'");
  return repo;
}

}  // namespace rlvr
