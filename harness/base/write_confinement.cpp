#include "harness/base/write_confinement.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace rlvr {

namespace fs = std::filesystem;

namespace {

// The kernel's Landlock ABI version, or -errno; asked once (it cannot change while rlvr runs).
int LandlockAbi() {
  static const int abi = [] {
#ifdef SYS_landlock_create_ruleset
    long version =
        syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return version < 0 ? -errno : static_cast<int>(version);
#else
    return -ENOSYS;
#endif
  }();
  return abi;
}

// Every right that changes the file system, as far as this kernel's ABI knows them. Rights not
// handled stay allowed everywhere: reading and executing.
uint64_t WriteRights(int abi) {
  uint64_t rights = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                    LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
#ifdef LANDLOCK_ACCESS_FS_REFER
  // Renames and links across directories: denied everywhere unless handled and granted.
  if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
  if (abi >= 3) rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
  return rights;
}

// Rights that make sense on a file (not a directory): Landlock refuses the others there.
constexpr uint64_t kFileRights = LANDLOCK_ACCESS_FS_WRITE_FILE
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
                                 | LANDLOCK_ACCESS_FS_TRUNCATE
#endif
    ;

bool AddRule(int ruleset, const fs::path& path, uint64_t rights) {
  int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return false;
  struct landlock_path_beneath_attr rule {};
  rule.allowed_access = rights;
  rule.parent_fd = fd;
  long done = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
  close(fd);
  return done == 0;
}

}  // namespace

int MakeWriteRuleset(const std::vector<fs::path>& writable, std::string* why) {
  const int abi = LandlockAbi();
  if (abi <= 0) {
    if (why) *why = fmt::format("the kernel has no Landlock ({})", std::strerror(-abi));
    return -1;
  }
  const uint64_t rights = WriteRights(abi);
  struct landlock_ruleset_attr attr {};
  attr.handled_access_fs = rights;
  long ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (ruleset < 0) {
    if (why) *why = fmt::format("landlock_create_ruleset: {}", std::strerror(errno));
    return -1;
  }
  const int fd = static_cast<int>(ruleset);
  for (const fs::path& path : writable) {
    std::error_code ec;
    if (path.empty() || !fs::is_directory(path, ec)) continue;
    if (!AddRule(fd, path, rights)) {
      if (why) *why = fmt::format("landlock_add_rule {}: {}", path.string(), std::strerror(errno));
      close(fd);
      return -1;
    }
  }
  for (const char* device : {"/dev/null", "/dev/zero", "/dev/full"}) {
    AddRule(fd, device, kFileRights & rights);
  }
  std::error_code ec;
  if (fs::is_directory("/dev/shm", ec)) AddRule(fd, "/dev/shm", rights);
  return fd;
}

int RestrictWritesTo(int ruleset_fd) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) != 0) return errno;
  return 0;
}

std::string WriteConfinementStatus() {
  const int abi = LandlockAbi();
  if (abi > 0)
    return fmt::format("candidate writes confined to their own trees (Landlock ABI {})", abi);
  return fmt::format("candidate writes NOT confined: the kernel has no Landlock ({})",
                     std::strerror(-abi));
}

bool WriteConfinementAvailable() {
  return LandlockAbi() > 0;
}

}  // namespace rlvr
