// SplitMix64, the one random generator of the kernels, their tests and benchmarks: one 64-bit
// word of state, full period, and the same stream on every platform (std:: distributions are
// not portable across standard libraries), so a seed always names the same data.
#pragma once

#include <cstdint>

namespace rlvr {

inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace rlvr
