#include "tests/common/test_seed.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace rlvr {

namespace {
uint64_t ReadSeed() {
  const char* text = std::getenv("RLVR_TEST_SEED");
  if (text == nullptr || *text == '\0') return kDefaultTestSeed;
  char* end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0') {
    std::fprintf(stderr, "RLVR_TEST_SEED='%s' is not an unsigned integer; using default %llu\n",
                 text, static_cast<unsigned long long>(kDefaultTestSeed));
    return kDefaultTestSeed;
  }
  return value;
}
}  // namespace

uint64_t TestSeed() {
  static const uint64_t seed = ReadSeed();
  return seed;
}

uint64_t TestSeedFor(uint64_t salt) {
  // splitmix64 finaliser: nearby salts give unrelated seeds.
  uint64_t z = TestSeed() + 0x9e3779b97f4a7c15ULL * (salt + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace rlvr
