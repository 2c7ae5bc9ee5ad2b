// Rotary position embedding, Hugging Face LLaMA convention ("rotate_half": the pairs are
// (i, i + head_dim/2)), with cos/sin tables computed once per (position, frequency).
#pragma once

#include <vector>

namespace rlvr {

struct RopeCache {
  int head_dim = 0;
  int max_positions = 0;
  float theta = 10000.0f;
  std::vector<float> cos;  // [max_positions][head_dim / 2]
  std::vector<float> sin;  // [max_positions][head_dim / 2]

  RopeCache(int head_dim, int max_positions, float theta = 10000.0f);
};

// Rotates in place the n_heads vectors of head_dim values at vec (laid out head after head) for
// position pos < cache.max_positions.
void ApplyRope(float* vec, int n_heads, int head_dim, int pos, const RopeCache& cache);

}  // namespace rlvr
