// Random data helpers shared by the op kernel tests (softmax, rmsnorm, rope, activation,
// attention, sampler, quant): vectors and shapes drawn from a seeded generator, so a failing case
// replays with the same RLVR_TEST_SEED.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace rlvr::test {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform in [lo, hi), from the top 24 bits so every float value is equally likely to appear.
  float Uniform(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>(engine_() >> 40) * 0x1.0p-24f;
  }
  // Uniform integer in [lo, hi].
  int Int(int lo, int hi) {
    return lo + static_cast<int>(engine_() % static_cast<uint64_t>(hi - lo + 1));
  }
  // Standard normal, by Box-Muller from two uniforms (the same values on every platform, which
  // std::normal_distribution does not promise).
  float Normal() {
    const float u = Uniform(0x1.0p-24f, 1.0f), v = Uniform(0.0f, 1.0f);
    return std::sqrt(-2.0f * std::log(u)) * std::cos(6.2831853f * v);
  }
  std::vector<float> Vector(size_t n, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> v(n);
    for (float& x : v) x = Uniform(lo, hi);
    return v;
  }

 private:
  std::mt19937_64 engine_;  // its output sequence is fixed by the standard
};

}  // namespace rlvr::test
