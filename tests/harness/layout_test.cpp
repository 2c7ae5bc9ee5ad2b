// The layout of harness/ by parts (harness/DESIGN.md, "Parts and what they may include"): which
// part may include which, checked over the real source tree, and the checker itself shown to fail
// on deliberate violations in a scratch tree. Also: commands stay thin, only the ledger's part
// reads the ledger's tables, and every header says at its top what it is for.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Part -> the other parts it may include. "*" = any. Kernels know no harness; the verifier (and the
// benchmark gate, the build and run of candidates below it) knows no loop, executor, ledger or
// report; the applier stands alone; reports know no verifier; the ledger knows no policy.
const std::map<std::string, std::set<std::string>>& AllowedIncludes() {
  static const std::map<std::string, std::set<std::string>> allowed = {
      {"base", {}},
      {"patch", {}},
      {"git", {"base"}},
      {"ledger", {"base"}},
      {"candidate", {"base"}},
      {"bench", {"base", "git", "candidate"}},
      {"verify", {"base", "git", "patch", "candidate", "bench"}},
      {"llm", {"base", "patch", "ledger"}},
      {"executors", {"base", "git", "candidate", "bench", "verify"}},
      {"loop",
       {"base", "git", "patch", "candidate", "bench", "verify", "ledger", "llm", "executors"}},
      {"loopbench",
       {"base", "git", "patch", "candidate", "bench", "verify", "ledger", "llm", "executors",
        "loop"}},
      {"report", {"base", "git", "ledger"}},
      {"repo", {"base", "git", "patch", "candidate", "bench", "verify"}},
      {"cli", {"*"}},
      {"lm", {"kernels"}},
      {"kernels", {}},
  };
  return allowed;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The part a source file under `root` belongs to: "kernels" for kernels/**, the first folder under
// harness/ otherwise ("" for files directly in harness/ or elsewhere).
std::string PartOf(const fs::path& relative) {
  auto it = relative.begin();
  if (it == relative.end()) return "";
  std::string top = (it++)->string();
  if (top == "kernels") return "kernels";
  if (top != "harness" || it == relative.end()) return "";
  fs::path rest = *it;
  return ++it == relative.end() ? "" : rest.string();  // a file directly in harness/ has no part
}

// The part a quoted include names: "harness/<part>/..." or "kernels/...".
std::string PartOfInclude(const std::string& include) {
  if (include.rfind("kernels/", 0) == 0) return "kernels";
  if (include.rfind("harness/", 0) != 0) return "";
  size_t slash = include.find('/', 8);
  return slash == std::string::npos ? "" : include.substr(8, slash - 8);
}

// Every include of `root`'s harness/ and kernels/ sources that its part may not make, as
// "file: #include \"...\" (part -> part)"; a harness source outside any part is a violation too.
std::vector<std::string> LayoutViolations(const fs::path& root) {
  static const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<std::string> violations;
  for (const char* top : {"harness", "kernels"}) {
    if (!fs::exists(root / top)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
      fs::path relative = fs::relative(entry.path(), root);
      std::string part = PartOf(relative);
      auto rules = AllowedIncludes().find(part);
      if (rules == AllowedIncludes().end()) {
        violations.push_back(relative.string() + ": not in a part folder");
        continue;
      }
      std::istringstream lines(ReadFile(entry.path()));
      std::string line;
      std::smatch match;
      while (std::getline(lines, line)) {
        if (!std::regex_search(line, match, include_line)) continue;
        std::string included = PartOfInclude(match[1]);
        if (included.empty() || included == part || rules->second.count("*") ||
            rules->second.count(included)) {
          continue;
        }
        violations.push_back(relative.string() + ": #include \"" + match[1].str() + "\" (" + part +
                             " may not include " + included + ")");
      }
    }
  }
  return violations;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class ScratchTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("rlvr-layout-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    WriteFile(root_ / "harness/base/process.h", "// Processes.\n#pragma once\n");
    WriteFile(root_ / "harness/verify/evaluate.cpp",
              "#include \"harness/base/process.h\"\n#include \"harness/verify/evaluate.h\"\n");
    WriteFile(root_ / "kernels/gemm.cpp", "#include \"kernels/gemm.h\"\n#include <vector>\n");
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(ScratchTree, AllowedIncludesPass) {
  EXPECT_EQ(Joined(LayoutViolations(root_)), "");
}

TEST_F(ScratchTree, TheVerifierIncludingTheLoopIsAViolation) {
  WriteFile(root_ / "harness/verify/gates/tests_gate.cpp", "#include \"harness/loop/loop.h\"\n");
  std::vector<std::string> violations = LayoutViolations(root_);
  ASSERT_EQ(violations.size(), 1u) << Joined(violations);
  EXPECT_NE(violations[0].find("verify may not include loop"), std::string::npos) << violations[0];
}

TEST_F(ScratchTree, EachRuleOfTheDesignIsEnforced) {
  WriteFile(root_ / "kernels/softmax.cpp", "#include \"harness/base/process.h\"\n");
  WriteFile(root_ / "harness/patch/apply.cpp", "  #  include \"harness/git/repo.h\"\n");
  WriteFile(root_ / "harness/report/data.cpp", "#include \"harness/verify/evaluate.h\"\n");
  WriteFile(root_ / "harness/ledger/ledger.cpp", "#include \"harness/loop/prompt.h\"\n");
  WriteFile(root_ / "harness/stray.cpp", "#include \"harness/base/process.h\"\n");
  std::string violations = Joined(LayoutViolations(root_));
  EXPECT_NE(violations.find("kernels may not include base"), std::string::npos) << violations;
  EXPECT_NE(violations.find("patch may not include git"), std::string::npos) << violations;
  EXPECT_NE(violations.find("report may not include verify"), std::string::npos) << violations;
  EXPECT_NE(violations.find("ledger may not include loop"), std::string::npos) << violations;
  EXPECT_NE(violations.find("harness/stray.cpp: not in a part folder"), std::string::npos)
      << violations;
}

TEST(Layout, EveryPartIncludesOnlyWhatDesignAllows) {
  EXPECT_EQ(Joined(LayoutViolations(RLVR_SOURCE_DIR)), "");
}

TEST(Layout, EveryPartFolderHasAReadme) {
  int parts = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(RLVR_SOURCE_DIR) / "harness")) {
    if (!entry.is_directory()) continue;
    ++parts;
    EXPECT_TRUE(AllowedIncludes().count(entry.path().filename().string()))
        << entry.path() << " is a folder the layout rules do not know";
    EXPECT_TRUE(fs::exists(entry.path() / "README.md")) << entry.path() << " has no README.md";
  }
  EXPECT_GE(parts, 10);
}

TEST(Layout, EveryHeaderSaysWhatItIsFor) {
  for (const auto& entry :
       fs::recursive_directory_iterator(fs::path(RLVR_SOURCE_DIR) / "harness")) {
    if (entry.path().extension() != ".h") continue;
    EXPECT_EQ(ReadFile(entry.path()).rfind("// ", 0), 0u)
        << entry.path() << " does not open with a comment saying what it is for";
  }
}

// Commands parse flags and call their part; about 200 lines is room for a command's flags.
TEST(Layout, CommandsAreThin) {
  constexpr int kMaxCommandLines = 200;
  int commands = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(RLVR_SOURCE_DIR) / "harness/cli")) {
    std::string name = entry.path().filename().string();
    if (name.rfind("cmd_", 0) != 0) continue;
    ++commands;
    std::string text = ReadFile(entry.path());
    int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    EXPECT_LE(lines, kMaxCommandLines) << name << " has " << lines << " lines: move its logic "
                                       << "into its part";
  }
  EXPECT_GE(commands, 10);
}

// The ledger's schema and queries live in harness/ledger/ only: SQL naming its tables anywhere else
// in the harness is a second copy of the schema.
TEST(Layout, OnlyTheLedgerPartReadsTheLedgersTables) {
  static const std::regex table_sql(
      R"re(\b(FROM|JOIN|INTO|UPDATE|TABLE)\s+(attempts|runs|meta)\b)re", std::regex::icase);
  int ledger_files = 0;
  for (const auto& entry :
       fs::recursive_directory_iterator(fs::path(RLVR_SOURCE_DIR) / "harness")) {
    if (!entry.is_regular_file() || entry.path().extension() == ".md") continue;
    bool in_ledger = PartOf(fs::relative(entry.path(), RLVR_SOURCE_DIR)) == "ledger";
    bool has_sql = std::regex_search(ReadFile(entry.path()), table_sql);
    if (in_ledger) {
      ledger_files += has_sql;
    } else {
      EXPECT_FALSE(has_sql) << entry.path() << " reads the ledger's tables outside harness/ledger/";
    }
  }
  EXPECT_GE(ledger_files, 1) << "the check found no SQL at all: its pattern is broken";
}

}  // namespace
