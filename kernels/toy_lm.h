// ToyLm: the seed plan's smallest language model, an embedding table and a linear head:
// logits(token) = E[token] * W_head^T. Forward allocates nothing (its logits buffer is owned).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/thread_pool.h"

namespace rlvr {

struct ToyLmWeights {
  int vocab = 0;
  int dim = 0;
  std::vector<float> embed;  // [vocab, dim]   model.embed_tokens.weight
  std::vector<float> head;   // [vocab, dim]   lm_head.weight
};

// Seeded, uniform with standard deviation `scale`.
ToyLmWeights RandomToyLmWeights(int vocab, int dim, uint64_t seed, float scale = 0.02f);
// Reads model.embed_tokens.weight and lm_head.weight; vocab and dim come from the embedding's
// shape. Throws SafeTensorsError on a missing tensor or mismatched shapes.
ToyLmWeights LoadToyLmWeights(const std::string& path);
void SaveToyLmWeights(const std::string& path, const ToyLmWeights& weights);

class ToyLm {
 public:
  // Keeps a reference to weights; pool nullptr means DefaultPool().
  explicit ToyLm(const ToyLmWeights& weights, ThreadPool* pool = nullptr);

  // Logits [vocab] for one token, valid until the next call. Throws std::out_of_range for a
  // token outside [0, vocab).
  const float* Forward(int token);

 private:
  const ToyLmWeights& weights_;
  ThreadPool* pool_;
  std::vector<float> logits_;
};

}  // namespace rlvr
