// `rlvr report`: writes the benchmark history report (self-contained HTML + Markdown) from the
// ledger and the stored baselines, then prints where it wrote them and the summary paragraph.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "harness/base/secrets.h"
#include "harness/base/utc_time.h"
#include "harness/cli/commands.h"
#include "harness/git/repo.h"
#include "harness/report/data.h"
#include "harness/report/html.h"
#include "harness/report/markdown.h"
#include "harness/report/summary.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

struct ReportArgs {
  std::string directory = ".";
  std::string since;
  std::string target;
  std::string out;
  std::string ledger;
  int rows = 200;
};

// The repository found from `start` (harness/git/repo.h). The message names the resolved folder
// and the -C option, so it is not RepoRootOrFail's.
fs::path ReportRepoRoot(const fs::path& start) {
  if (std::optional<fs::path> root = FindRepoRoot(start)) return *root;
  std::error_code ec;
  fs::path dir = fs::weakly_canonical(fs::absolute(start, ec), ec);
  throw CLI::RuntimeError(
      "rlvr report: " + dir.string() + " is not inside a git repository (use -C DIR)", 2);
}

// Writes through a temporary file and a rename, so a reader never sees half a report.
void WriteFile(const fs::path& path, const std::string& content) {
  fs::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) {
      throw CLI::RuntimeError("rlvr report: cannot write " + temporary.string(), 1);
    }
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) {
    throw CLI::RuntimeError("rlvr report: cannot write " + path.string() + ": " + ec.message(), 1);
  }
}

void RunReport(const ReportArgs& args) {
  fs::path root = ReportRepoRoot(args.directory);
  ReportOptions options;
  options.ledger_path =
      args.ledger.empty() ? root / ".rlvr" / "ledger.sqlite" : fs::path(args.ledger);
  options.baselines_dir = root / "baselines";
  options.config_path = root / "rlvr.json";
  options.target = args.target;
  options.recent_rows = args.rows;
  if (!args.since.empty()) {
    try {
      options.since = ResolveSince(args.since, UnixNow());
    } catch (const std::invalid_argument& e) {
      throw CLI::RuntimeError(std::string("rlvr report: ") + e.what(), 2);
    }
  }
  ReportData data;
  try {
    data = LoadReportData(options);
  } catch (const ReportError& e) {
    throw CLI::RuntimeError(std::string("rlvr report: ") + e.what(), 1);
  }
  fs::path out_dir = args.out.empty() ? root / "rlvr-report" : fs::path(args.out);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    throw CLI::RuntimeError("rlvr report: cannot create " + out_dir.string() + ": " + ec.message(),
                            1);
  }
  fs::path html = out_dir / "index.html";
  fs::path markdown = out_dir / "report.md";
  // A ledger written before redaction existed may hold a key: reports never show one.
  WriteFile(html, RedactSecrets(RenderHtml(data)));
  WriteFile(markdown, RedactSecrets(RenderMarkdown(data)));
  std::printf("wrote %s\nwrote %s\n\n%s\n", html.c_str(), markdown.c_str(),
              RedactSecrets(SummaryParagraph(data)).c_str());
}

}  // namespace

void AddReportCommand(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Write the benchmark history report (HTML + Markdown) from the ledger");
  cmd->add_option("-C", args->directory, "Run as if started in DIR");
  cmd->add_option("--since", args->since,
                  "Only attempts since a UTC time (2026-11-23, 2026-11-23T18:00Z) or a span back "
                  "from now (90m, 12h, 7d, 2w)");
  cmd->add_option("--target", args->target, "Only this target");
  cmd->add_option("--out", args->out, "Output folder (default: rlvr-report/ in the repository)");
  cmd->add_option("--ledger", args->ledger, "Ledger file (default: .rlvr/ledger.sqlite)");
  cmd->add_option("--rows", args->rows, "Attempts listed one per row in the HTML page")
      ->check(CLI::NonNegativeNumber);
  // A failure's message reaches stderr once, from main.
  cmd->callback([args] { RunReport(*args); });
}

}  // namespace rlvr
