#include "kernels/mat.h"

#include "kernels/splitmix64.h"

namespace rlvr {

void FillRandom(float* data, size_t n, uint64_t seed, float lo, float hi) {
  uint64_t state = seed;
  const float span = hi - lo;
  for (size_t i = 0; i < n; ++i) {
    // The top 24 bits give every float in [0, 1) on a 2^-24 grid exactly.
    float unit = static_cast<float>(SplitMix64(state) >> 40) * (1.0f / 16777216.0f);
    float value = lo + span * unit;
    data[i] = value < hi ? value : lo;  // rounding of lo + span * unit may reach hi
  }
}

void Mat::FillRandom(uint64_t seed, float lo, float hi) {
  rlvr::FillRandom(data.data(), data.size(), seed, lo, hi);
}

}  // namespace rlvr
