#include "harness/patch/diff.h"

#include <stdexcept>

#include <git2.h>

namespace rlvr {
namespace {

// libgit2 keeps global state that must be initialised once per process.
void InitLibgit2() {
  static const int initialised = git_libgit2_init();
  (void)initialised;
}

std::string LastGitError() {
  const git_error* error = git_error_last();
  return error != nullptr && error->message != nullptr ? error->message : "unknown libgit2 error";
}

}  // namespace

std::string GitDiff(const std::vector<FileContents>& files) {
  InitLibgit2();
  std::string out;
  for (const FileContents& file : files) {
    git_diff_options options = GIT_DIFF_OPTIONS_INIT;
    options.flags |= GIT_DIFF_SHOW_BINARY;
    git_patch* patch = nullptr;
    const char* old_data = file.before ? file.before->data() : nullptr;
    const char* new_data = file.after ? file.after->data() : nullptr;
    int rc = git_patch_from_buffers(
        &patch, old_data, file.before ? file.before->size() : 0, file.path.c_str(), new_data,
        file.after ? file.after->size() : 0, file.path.c_str(), &options);
    if (rc != 0) throw std::runtime_error("libgit2 diff failed: " + LastGitError());
    git_buf buffer = GIT_BUF_INIT;
    rc = git_patch_to_buf(&buffer, patch);
    if (rc == 0 && buffer.ptr != nullptr) out.append(buffer.ptr, buffer.size);
    git_buf_dispose(&buffer);
    git_patch_free(patch);
    if (rc != 0) throw std::runtime_error("libgit2 diff failed: " + LastGitError());
  }
  return out;
}

}  // namespace rlvr
