// `rlvr apply PATCH_FILE [--allow GLOB]... [--dry-run] [-C DIR]`: applies a patch or a whole
// model reply to the working tree of the git repository it runs in, all or nothing, and prints
// the canonical git diff of what changed. Exit status 0 applied, 1 refused, 2 usage errors.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/cli/commands.h"
#include "harness/git/repo.h"
#include "harness/patch/apply.h"

namespace rlvr {
namespace {

struct ApplyArgs {
  std::string patch_file;
  std::vector<std::string> allowed_globs;
  bool dry_run = false;
  std::string directory = ".";
};

// Reads at most `limit` + 1 bytes, so an oversized input is detected without reading it all.
std::string ReadBounded(std::istream& in, size_t limit) {
  std::string bytes(limit + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

void RunApply(const ApplyArgs& args) {
  std::optional<std::filesystem::path> root = FindRepoRoot(args.directory);
  if (!root)
    throw CLI::RuntimeError("rlvr apply: " + args.directory + " is not inside a git repository", 2);
  ApplyOptions options;
  options.allowed_globs = args.allowed_globs;
  options.dry_run = args.dry_run;
  std::string reply;
  if (args.patch_file == "-") {
    reply = ReadBounded(std::cin, options.max_reply_bytes);
  } else {
    std::ifstream in(args.patch_file, std::ios::binary);
    if (!in) throw CLI::RuntimeError("rlvr apply: cannot read " + args.patch_file, 2);
    reply = ReadBounded(in, options.max_reply_bytes);
  }
  ApplyResult result = ApplyReply(*root, reply, options);
  if (!result.applied) {
    std::fprintf(stderr, "rlvr apply: refused, no file was changed:\n%s\n", result.error.c_str());
    throw CLI::RuntimeError(1);
  }
  std::fwrite(result.diff.data(), 1, result.diff.size(), stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "rlvr apply: %s %zu file(s)\n", args.dry_run ? "would change" : "changed",
               result.changed_files.size());
}

}  // namespace

void AddApplyCommand(CLI::App& app) {
  auto args = std::make_shared<ApplyArgs>();
  CLI::App* command = app.add_subcommand(
      "apply",
      "Apply a patch or model reply (unified diff, SEARCH/REPLACE blocks, fenced whole file) "
      "to the working tree, all or nothing");
  command->add_option("PATCH_FILE", args->patch_file, "patch or reply file ('-' for stdin)")
      ->required();
  command->add_option("--allow", args->allowed_globs,
                      "only files matching this glob may change (repeatable; * ** ?)");
  command->add_flag("--dry-run", args->dry_run, "check and print the diff, write nothing");
  command->add_option("-C", args->directory, "run as if started in this directory");
  command->callback([args] {
    // Error messages reach stderr here; RuntimeError only carries the exit status (see main).
    try {
      RunApply(*args);
    } catch (const CLI::RuntimeError& e) {
      if (std::string(e.what()) != "Runtime error") std::fprintf(stderr, "%s\n", e.what());
      throw;
    }
  });
}

}  // namespace rlvr
