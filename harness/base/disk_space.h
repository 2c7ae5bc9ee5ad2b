// Whether the disk under a folder is nearly full: a gate that fails there, or a model request the
// loop is about to pay for, would fail for the machine's reason, not the candidate's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace rlvr {

// The default floor: below this much free space, builds and scratch files fail.
inline constexpr uint64_t kLeastFreeDiskBytes = uint64_t{256} << 20;

// "disk nearly full: 12 MiB free for /work/repo/.rlvr" when the filesystem of `dir` (or of its
// nearest existing parent) has less than `least` bytes available to us; "" otherwise, or when
// it cannot be asked.
std::string LowDiskSpace(const std::filesystem::path& dir, uint64_t least);

}  // namespace rlvr
