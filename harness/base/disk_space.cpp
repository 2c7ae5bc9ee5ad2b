#include "harness/base/disk_space.h"

#include <sys/statvfs.h>

#include <fmt/format.h>

namespace rlvr {

std::string LowDiskSpace(const std::filesystem::path& dir, uint64_t least) {
  std::filesystem::path at = dir;
  std::error_code error;
  while (!at.empty() && !std::filesystem::exists(at, error) && at != at.parent_path())
    at = at.parent_path();
  struct statvfs info;
  if (at.empty() || statvfs(at.c_str(), &info) != 0) return "";
  uint64_t available = static_cast<uint64_t>(info.f_bavail) * info.f_frsize;
  if (available >= least) return "";
  return fmt::format("disk nearly full: {} MiB free for {} (free space and run again)",
                     available >> 20, dir.string());
}

}  // namespace rlvr
