#include "kernels/rope.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace rlvr {

RopeCache::RopeCache(int head_dim, int max_positions, float theta)
    : head_dim(head_dim), max_positions(max_positions), theta(theta) {
  if (head_dim <= 0 || head_dim % 2 != 0 || max_positions < 0 || !(theta > 0.0f)) {
    throw std::invalid_argument(
        "RopeCache: head_dim must be positive and even, max_positions >= "
        "0 and theta > 0 (got head_dim=" +
        std::to_string(head_dim) + ", max_positions=" + std::to_string(max_positions) + ")");
  }
  const int half = head_dim / 2;
  cos.resize(static_cast<size_t>(max_positions) * half);
  sin.resize(static_cast<size_t>(max_positions) * half);
  for (int i = 0; i < half; ++i) {
    // Angles in double: pos * freq reaches ~1e5 rad, where float would lose most digits.
    const double freq = std::pow(static_cast<double>(theta), -2.0 * i / head_dim);
    for (int pos = 0; pos < max_positions; ++pos) {
      const double angle = pos * freq;
      cos[static_cast<size_t>(pos) * half + i] = static_cast<float>(std::cos(angle));
      sin[static_cast<size_t>(pos) * half + i] = static_cast<float>(std::sin(angle));
    }
  }
}

void ApplyRope(float* vec, int n_heads, int head_dim, int pos, const RopeCache& cache) {
  if (head_dim != cache.head_dim || pos < 0 || pos >= cache.max_positions || n_heads < 0) {
    throw std::invalid_argument("ApplyRope: head_dim " + std::to_string(head_dim) + " / position " +
                                std::to_string(pos) + " do not fit the cache (head_dim " +
                                std::to_string(cache.head_dim) + ", max_positions " +
                                std::to_string(cache.max_positions) + ")");
  }
  const int half = head_dim / 2;
  const float* c = cache.cos.data() + static_cast<size_t>(pos) * half;
  const float* s = cache.sin.data() + static_cast<size_t>(pos) * half;
  for (int h = 0; h < n_heads; ++h) {
    float* lo = vec + static_cast<size_t>(h) * head_dim;
    float* hi = lo + half;
    for (int i = 0; i < half; ++i) {
      const float x0 = lo[i];
      const float x1 = hi[i];
      lo[i] = x0 * c[i] - x1 * s[i];
      hi[i] = x1 * c[i] + x0 * s[i];
    }
  }
}

}  // namespace rlvr
