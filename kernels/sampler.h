// Token sampler over a logits vector: greedy, temperature, top-k and top-p (nucleus). Seeded and
// deterministic; Sample() allocates nothing (its workspace is sized at construction).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace rlvr {

struct SamplerConfig {
  float temperature = 1.0f;  // 0 means greedy
  int top_k = 0;             // 0 means no top-k cut
  float top_p = 1.0f;        // 1 means no nucleus cut
  uint64_t seed = 0;
};

class Sampler {
 public:
  Sampler(int vocab_size, SamplerConfig config);

  // Returns the chosen token id. logits is not modified.
  int Sample(const float* logits);

  // Restarts the random stream from the configured seed.
  void Reset();

 private:
  int vocab_size_;
  SamplerConfig config_;
  uint64_t rng_state_;
  std::vector<std::pair<float, int>> candidates_;  // workspace, vocab_size entries
};

}  // namespace rlvr
