#include "harness/verify/changed_lines_format.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "harness/base/file_text.h"
#include "harness/base/process.h"

namespace rlvr {

namespace {

namespace fs = std::filesystem;

// Parses the decimal number at `text[at...]`; advances `at` past it. -1 when there is none.
int ParseNumber(std::string_view text, size_t& at) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data() + at, text.data() + text.size(), value);
  if (error != std::errc()) return -1;
  at = end - text.data();
  return value;
}

std::string Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r");
  return std::string(text.substr(begin, end - begin + 1));
}

int CountLines(const std::string& text) {
  int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  if (!text.empty() && text.back() != '\n') ++lines;
  return lines;
}

// "repo/./" -> "repo", so it compares equal to the parent path of a file in it.
fs::path NormalRoot(const fs::path& root) {
  fs::path top = root.lexically_normal();
  return top.has_filename() ? top : top.parent_path();
}

RunOptions GitRun(const fs::path& root) {
  RunOptions run;
  run.cwd = root;
  run.limits.wall_seconds = 60;
  return run;
}

// The lines of `file` that differ from HEAD's version; all of them when HEAD has no such file.
std::vector<LineRange> ChangedRangesAgainstHead(const fs::path& root, const std::string& file,
                                                std::string& error) {
  RunOptions run = GitRun(root);
  ProcessResult in_head = RunProcess({"git", "cat-file", "-e", "HEAD:" + file}, run);
  if (!in_head.ok()) {
    int lines = CountLines(ReadFileText(root / file));
    if (lines == 0) return {};
    return {LineRange{1, lines}};
  }
  ProcessResult diff = RunProcess({"git", "-c", "core.quotepath=off", "diff", "-U0", "--no-color",
                                   "--no-ext-diff", "--no-renames", "HEAD", "--", file},
                                  run);
  if (!diff.ok()) {
    error = "git diff failed: " + diff.Describe() + "\n" + diff.err;
    return {};
  }
  return ParseChangedRanges(diff.out);
}

void WriteFileText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string ShortDetail(const std::string& text) {
  constexpr size_t kMax = 1500;
  return text.size() <= kMax ? text : text.substr(0, kMax) + "...\n";
}

}  // namespace

std::vector<LineRange> ParseChangedRanges(std::string_view unified_diff) {
  std::vector<LineRange> ranges;
  std::istringstream in{std::string(unified_diff)};
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("@@ ")) continue;
    size_t plus = line.find(" +", 3);
    if (plus == std::string::npos) continue;
    size_t at = plus + 2;
    int start = ParseNumber(line, at);
    if (start < 0) continue;
    int count = 1;
    if (at < line.size() && line[at] == ',') {
      ++at;
      count = ParseNumber(line, at);
      if (count < 0) continue;
    }
    if (count == 0) continue;  // a pure deletion: no new line to format
    ranges.push_back({start, start + count - 1});
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const LineRange& a, const LineRange& b) { return a.first < b.first; });
  std::vector<LineRange> merged;
  for (const LineRange& range : ranges) {
    if (!merged.empty() && range.first <= merged.back().last + 1) {
      merged.back().last = std::max(merged.back().last, range.last);
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

std::string DescribeRanges(const std::vector<LineRange>& ranges) {
  std::string out;
  for (const LineRange& range : ranges) {
    if (!out.empty()) out += ", ";
    out += range.first == range.last ? std::to_string(range.first)
                                     : fmt::format("{}-{}", range.first, range.last);
  }
  return out;
}

fs::path FindStyleFile(const fs::path& root, const std::string& file) {
  const fs::path top = NormalRoot(root);
  fs::path dir = (root / file).lexically_normal().parent_path();
  std::error_code ec;
  while (true) {
    for (const char* name : {".clang-format", "_clang-format"}) {
      if (fs::is_regular_file(dir / name, ec)) return dir / name;
    }
    // Stop at the root: a .clang-format above the repository (a home directory's, or the
    // enclosing repository's when the tree is .rlvr/worktrees/candidate) is not the repository's.
    if (dir == top || dir.string().size() <= top.string().size()) break;
    dir = dir.parent_path();
  }
  return {};
}

bool StyleEnablesIncludeSorting(std::string_view style_text) {
  std::istringstream in{std::string(style_text)};
  for (std::string line; std::getline(in, line);) {
    std::string text = Trim(line);
    if (!text.starts_with("SortIncludes")) continue;
    size_t colon = text.find(':');
    if (colon == std::string::npos || Trim(text.substr(12, colon - 12)) != "") continue;
    std::string value = Trim(text.substr(colon + 1));
    if (size_t comment = value.find('#'); comment != std::string::npos)
      value = Trim(value.substr(0, comment));
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    return value == "true" || value == "casesensitive" || value == "caseinsensitive";
  }
  return false;
}

FileFormatResult FormatChangedLines(const fs::path& root, const std::string& file,
                                    const FormatOptions& options) {
  using Status = FileFormatResult::Status;
  FileFormatResult result;
  result.file = file;
  fs::path style = FindStyleFile(root, file);
  if (style.empty()) {
    result.status = Status::kNoStyle;
    return result;
  }
  result.style_file = style.lexically_relative(NormalRoot(root));
  std::string error;
  result.ranges = ChangedRangesAgainstHead(root, file, error);
  if (!error.empty()) {
    result.status = Status::kFailed;
    result.detail = ShortDetail(error);
    return result;
  }
  if (result.ranges.empty()) {
    result.status = Status::kNoChangedLines;
    return result;
  }
  result.sorted_includes = StyleEnablesIncludeSorting(ReadFileText(style));

  std::vector<std::string> argv = {options.clang_format, "--style=file:" + style.string()};
  if (!result.sorted_includes) argv.push_back("--sort-includes=false");
  for (const LineRange& range : result.ranges)
    argv.push_back(fmt::format("--lines={}:{}", range.first, range.last));
  if (options.check_only) {
    argv.insert(argv.end(), {"--dry-run", "--Werror"});
  } else {
    argv.push_back("-i");
  }
  argv.push_back(file);

  RunOptions run;
  run.cwd = root;
  run.limits.wall_seconds = options.timeout_seconds;
  const std::string before = options.check_only ? "" : ReadFileText(root / file);
  ProcessResult ran = RunProcess(argv, run);
  if (ran.timed_out) {
    result.status = Status::kTimedOut;
    if (!options.check_only) {
      // clang-format -i writes the whole file at the end; a kill may in principle land mid-write.
      std::string after = ReadFileText(root / file);
      if (after != before) WriteFileText(root / file, before);
    }
    return result;
  }
  if (ran.spawn_failed) {
    result.status = Status::kNotInstalled;
    result.detail = ran.Describe();
    return result;
  }
  if (options.check_only) {
    if (ran.ok()) {
      result.status = Status::kAlreadyFormatted;
    } else if (ran.signal == 0 && ran.err.find("-Wclang-format-violations") != std::string::npos) {
      result.status = Status::kUnformatted;
      result.detail = ShortDetail(ran.err);
    } else {
      result.status = Status::kFailed;
      result.detail = ShortDetail(ran.Describe() + "\n" + ran.err);
    }
    return result;
  }
  if (!ran.ok()) {
    result.status = Status::kFailed;
    result.detail = ShortDetail(ran.Describe() + "\n" + ran.err);
    return result;
  }
  result.status =
      ReadFileText(root / file) == before ? Status::kAlreadyFormatted : Status::kFormatted;
  return result;
}

FormatSummary SummarizeFormat(const std::vector<FileFormatResult>& results, bool check_only) {
  using Status = FileFormatResult::Status;
  auto files_with = [&](Status status) {
    std::vector<const FileFormatResult*> out;
    for (const auto& result : results)
      if (result.status == status) out.push_back(&result);
    return out;
  };
  auto names = [](const std::vector<const FileFormatResult*>& of, bool with_lines) {
    std::string out;
    for (const FileFormatResult* result : of) {
      if (!out.empty()) out += ", ";
      out += result->file;
      if (with_lines) out += " (lines " + DescribeRanges(result->ranges) + ")";
    }
    return out;
  };
  FormatSummary summary;
  std::vector<std::string> parts;

  auto failed = files_with(Status::kFailed);
  auto unformatted = files_with(Status::kUnformatted);
  for (const auto* result : failed)
    summary.detail += fmt::format("{}:\n{}\n", result->file, result->detail);
  for (const auto* result : unformatted) summary.detail += result->detail;
  if (!failed.empty()) {
    summary.ok = false;
    const FileFormatResult& first = *failed.front();
    std::string reason = first.detail.substr(0, first.detail.find('\n'));
    parts.push_back(fmt::format("clang-format failed on {} ({}) with {}", names(failed, false),
                                reason, first.style_file.string()));
  }
  if (!unformatted.empty()) {
    summary.ok = false;
    std::string commands;
    for (const auto* result : unformatted) {
      std::string lines;
      for (const LineRange& range : result->ranges)
        lines += fmt::format(" --lines={}:{}", range.first, range.last);
      if (!commands.empty()) commands += "; ";
      commands +=
          fmt::format("clang-format -i{}{} {}",
                      result->sorted_includes ? "" : " --sort-includes=false", lines, result->file);
    }
    parts.push_back(fmt::format("not clang-formatted: the changed lines of {} (run {})",
                                names(unformatted, true), commands));
  }

  auto formatted = files_with(Status::kFormatted);
  auto clean = files_with(Status::kAlreadyFormatted);
  auto sorted = [&](const std::vector<const FileFormatResult*>& of) {
    return std::any_of(of.begin(), of.end(), [](const auto* r) { return r->sorted_includes; });
  };
  auto style_of = [](const std::vector<const FileFormatResult*>& of) {
    std::string style = of.front()->style_file.string();
    for (const auto* r : of)
      if (r->style_file != of.front()->style_file) return std::string("the repository's styles");
    return style;
  };
  if (!formatted.empty()) {
    parts.push_back(fmt::format("formatted the changed lines of {} with {} ({})",
                                names(formatted, true), style_of(formatted),
                                sorted(formatted) ? "includes sorted, as its SortIncludes says"
                                                  : "includes left in their order"));
  }
  if (!clean.empty()) {
    parts.push_back(fmt::format("the changed lines of {} already follow {}", names(clean, true),
                                style_of(clean)));
  }
  auto deletions = files_with(Status::kNoChangedLines);
  if (!deletions.empty())
    parts.push_back(
        fmt::format("{}: lines only deleted, nothing to format", names(deletions, false)));
  auto timed_out = files_with(Status::kTimedOut);
  if (!timed_out.empty())
    parts.push_back(fmt::format("clang-format timed out on {}: {}", names(timed_out, true),
                                check_only ? "formatting not checked" : "left as written"));
  auto not_installed = files_with(Status::kNotInstalled);
  if (!not_installed.empty()) {
    // Asked to check the format, we cannot say it is right; otherwise the build judges the code.
    if (check_only) summary.ok = false;
    parts.push_back(fmt::format("{} could not run ({}): formatting of {} not checked",
                                "clang-format", not_installed.front()->detail,
                                names(not_installed, false)));
  }
  auto no_style = files_with(Status::kNoStyle);
  if (!no_style.empty()) {
    if (no_style.size() == results.size()) {
      parts.push_back("no .clang-format in the repository: formatting not checked");
    } else {
      parts.push_back(
          fmt::format("no .clang-format applies to {}: not checked", names(no_style, false)));
    }
  }
  if (results.empty()) parts.push_back("no C or C++ file changed: nothing to format");
  for (const auto& part : parts) {
    if (!summary.message.empty()) summary.message += "; ";
    summary.message += part;
  }
  return summary;
}

}  // namespace rlvr
