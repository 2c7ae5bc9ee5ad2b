// Writing a file that holds what a model or a candidate wrote (a reply handed to an evaluation in
// another process, `.rlvr/pool/<key>/reply.txt`, `.rlvr/jobs/<key>/reply.txt`): the text with
// every registered secret redacted (base/secrets.h), readable and writable by its owner only
// (mode 0600, whatever the umask, from the moment the file exists), replacing the file whole (a
// temporary file renamed over it).
#pragma once

#include <filesystem>
#include <string_view>

namespace rlvr {

// Writes RedactSecrets(text) to `path` with mode 0600. Returns false (and leaves no temporary
// file) when it cannot.
bool WritePrivateFile(const std::filesystem::path& path, std::string_view text);

}  // namespace rlvr
