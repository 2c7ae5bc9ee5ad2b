// Proves a decode step, a prefill and a toy-LM forward allocate nothing once warmed up (the first
// call may create the thread pool and the GEMM packing buffers).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/decoder.h"
#include "kernels/toy_lm.h"
#include "tests/common/alloc_counter.h"
#include "tests/common/test_seed.h"

namespace rlvr {
namespace {

ModelConfig AllocConfig() {
  ModelConfig c;
  c.vocab = 500;
  c.dim = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.ffn_dim = 160;
  c.max_positions = 64;
  return c;
}

TEST(AllocDecoder, DecodeStepAllocatesNothing) {
  const ModelWeights w = RandomWeights(AllocConfig(), TestSeedFor(401), 0.1f);
  Decoder decoder(w);
  decoder.Step(1);  // warm-up
  AllocationScope scope;
  float sum = 0.0f;
  for (int i = 0; i < 20; ++i) sum += decoder.Step((i * 37) % w.config.vocab)[0];
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(decoder.position(), 21);
  EXPECT_TRUE(std::isfinite(sum));
}

TEST(AllocDecoder, PrefillAllocatesNothing) {
  const ModelWeights w = RandomWeights(AllocConfig(), TestSeedFor(402), 0.1f);
  Decoder decoder(w, /*max_batch=*/8);
  std::vector<int> tokens(20);
  for (int i = 0; i < 20; ++i) tokens[i] = (i * 13) % w.config.vocab;
  decoder.Prefill(tokens);  // warm-up: full and partial chunks
  decoder.Reset();
  AllocationScope scope;
  decoder.Prefill(tokens);
  decoder.Step(3);
  EXPECT_EQ(scope.count(), 0u);
}

TEST(AllocDecoder, ToyLmForwardAllocatesNothing) {
  const ToyLmWeights w = RandomToyLmWeights(2000, 64, TestSeedFor(403));
  ToyLm lm(w);
  lm.Forward(0);
  AllocationScope scope;
  float sum = 0.0f;
  for (int t = 0; t < 10; ++t) sum += lm.Forward(t * 101)[0];
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_TRUE(std::isfinite(sum));
}

}  // namespace
}  // namespace rlvr
