// Test helper: a throw-away git repository made from tests/fixtures/tiny_repo (a small CMake
// kernel repository with one target, `dot`), for integration tests of evaluate, iterate and
// report. The copy lives in a fresh temporary directory, is `git init`ed with one commit on
// branch `main`, and is deleted when the FixtureRepo goes out of scope.
//
// Header-only on purpose: tests/CMakeLists.txt compiles only tests/harness/*_test.cpp.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace rlvr {

namespace fixture_detail {

inline std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a shell command; returns stdout+stderr; throws with the output when it fails.
inline std::string RunShell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run: " + command);
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  if (pclose(pipe) != 0) throw std::runtime_error("command failed: " + command + "\n" + output);
  return output;
}

}  // namespace fixture_detail

class FixtureRepo {
 public:
  FixtureRepo() = default;
  explicit FixtureRepo(std::filesystem::path path) : path_(std::move(path)) {}
  FixtureRepo(FixtureRepo&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  FixtureRepo& operator=(FixtureRepo&& other) noexcept {
    if (this != &other) {
      Remove();
      path_ = std::move(other.path_);
      other.path_.clear();
    }
    return *this;
  }
  FixtureRepo(const FixtureRepo&) = delete;
  FixtureRepo& operator=(const FixtureRepo&) = delete;
  ~FixtureRepo() { Remove(); }

  const std::filesystem::path& path() const { return path_; }

  // Runs `git <args>` (shell syntax) in the repository and returns its output. Throws
  // std::runtime_error on failure. Commits use a fixed test identity.
  std::string Git(const std::string& args) const {
    return fixture_detail::RunShell("git -C " + fixture_detail::ShellQuote(path_.string()) +
                                    " -c user.name=rlvr-test -c user.email=rlvr-test@example.com"
                                    " -c commit.gpgsign=false " +
                                    args);
  }

  // Full sha of HEAD.
  std::string Head() const {
    std::string sha = Git("rev-parse HEAD");
    while (!sha.empty() && (sha.back() == '\n' || sha.back() == '\r')) sha.pop_back();
    return sha;
  }

 private:
  void Remove() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::filesystem::path path_;
};

// A new temp dir (named after `prefix`) holding a copy of RLVR_FIXTURES_DIR/<fixture>.
inline FixtureRepo CopyFixture(const char* fixture, const char* prefix) {
  namespace fs = std::filesystem;
  std::string pattern = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  FixtureRepo repo{fs::path(pattern)};
  fs::copy(fs::path(RLVR_FIXTURES_DIR) / fixture, repo.path(),
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  return repo;
}

// `git init`s the copy on branch main and commits everything ("initial").
inline void CommitInitial(const FixtureRepo& repo) {
  repo.Git("init -q -b main");
  repo.Git("add -A");
  repo.Git("commit -q -m initial");
}

// Copies RLVR_FIXTURES_DIR/tiny_repo to a new temp dir, `git init`s it on branch main and
// commits everything ("initial").
inline FixtureRepo MakeFixtureRepo() {
  FixtureRepo repo = CopyFixture("tiny_repo", "rlvr-fixture");
  CommitInitial(repo);
  return repo;
}

// The Makefile fixture (tests/fixtures/make_header_repo, built and measured by commands) with its
// draft config made real: the draft marker goes, and the benchmark command runs
// only the primary kernel, briefly (the suite measures whether the gate runs, not speed).
inline std::string CommandRepoConfig() {
  namespace fs = std::filesystem;
  std::ifstream in(fs::path(RLVR_FIXTURES_DIR) / "make_header_repo" / "rlvr.json.draft");
  nlohmann::json config = nlohmann::json::parse(in);
  config.erase("_draft");
  config["targets"][0]["bench_command"]["command"] = {
      "sh", "scripts/bench_to_json.sh", "{build_dir}/bench_vsum", "-f", "vs_dot_f32", "-t", "0.02"};
  return config.dump(2);
}

inline FixtureRepo MakeCommandRepo() {
  FixtureRepo repo = CopyFixture("make_header_repo", "rlvr-make-fixture");
  std::filesystem::remove(repo.path() / "rlvr.json.draft");
  std::ofstream(repo.path() / "rlvr.json") << CommandRepoConfig();
  CommitInitial(repo);
  return repo;
}

// Text of tests/fixtures/candidates/<name>: a model-reply style patch for the fixture's target.
inline std::string ReadCandidate(const std::string& name) {
  std::ifstream in(std::filesystem::path(RLVR_FIXTURES_DIR) / "candidates" / name,
                   std::ios::binary);
  if (!in) throw std::runtime_error("no candidate fixture " + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace rlvr
