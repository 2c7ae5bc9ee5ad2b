// TestSeed: the seed every randomised test derives its data from. Set RLVR_TEST_SEED to replay or
// vary a run; unset, tests use a fixed default so results are reproducible.
#pragma once

#include <cstdint>

namespace rlvr {

// The value of env RLVR_TEST_SEED (decimal or 0x-hex) if set and valid, else kDefaultTestSeed.
// An invalid value is reported once on stderr and the default is used.
uint64_t TestSeed();

inline constexpr uint64_t kDefaultTestSeed = 0x5eed1234abcdULL;

// A seed for one named sub-case derived from TestSeed(), so cases draw independent data.
uint64_t TestSeedFor(uint64_t salt);

}  // namespace rlvr
