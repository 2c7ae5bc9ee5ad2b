#include "harness/base/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "harness/base/secrets.h"

namespace rlvr {

bool WritePrivateFile(const std::filesystem::path& path, std::string_view text) {
  std::string redacted = RedactSecrets(text);
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  // A temporary left by an earlier process keeps its mode through O_CREAT: set it.
  bool ok = fchmod(fd, 0600) == 0;
  for (size_t written = 0; ok && written < redacted.size();) {
    ssize_t n = write(fd, redacted.data() + written, redacted.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    if (n > 0) written += static_cast<size_t>(n);
  }
  if (close(fd) != 0) ok = false;
  std::error_code error;
  if (ok) std::filesystem::rename(temporary, path, error);
  if (!ok || error) {
    std::filesystem::remove(temporary, error);
    return false;
  }
  return true;
}

}  // namespace rlvr
